"""Results -> the API's JSON bodies (openapi.yaml). The only place that
knows the response shapes."""

from __future__ import annotations

from typing import Any

from chalicelib.config.settings import Settings
from chalicelib.decision.policy import Decision
from chalicelib.documents.base import DocumentResult
from chalicelib.enrolment.base import SubjectInfo
from chalicelib.flows.enrol import EnrolmentResult
from chalicelib.flows.search import SearchResult
from chalicelib.flows.verify import Verification


def verification(result: Verification, settings: Settings, request_id: str) -> dict[str, Any]:
    """POST /ips."""
    return _verification(result, result.decision, settings, request_id)


def _verification(
    result: Verification, decision: Decision, settings: Settings, request_id: str
) -> dict[str, Any]:
    comparison = result.comparison
    body: dict[str, Any] = {
        "verified": decision.verified,
        "decision": decision.outcome.value,
        "similarity": result.similarity,
        "threshold": settings.decision.threshold,
        "review_floor": settings.decision.review_floor,
        "engine": result.engine,
        "document_face": comparison.document_face.to_json(),
        "selfie_face": comparison.selfie_face.to_json(),
        "faces_in_selfie": comparison.faces_in_selfie,
        "request_id": request_id,
        "reasons": [reason.value for reason in decision.reasons],
    }
    if result.document is not None:
        body["document"] = result.document.to_json()
    return body


def enrolment(result: EnrolmentResult, settings: Settings, request_id: str) -> dict[str, Any]:
    """POST /enrolments: the verification's body with the enrolment's decision."""
    return {
        **_verification(result.verification, result.decision, settings, request_id),
        "subject_id": result.subject_id,
        "enrolled": result.enrolled,
        "duplicates": [match.to_json() for match in result.duplicates],
    }


def search(result: SearchResult, request_id: str) -> dict[str, Any]:
    """POST /search."""
    return {
        "matches": [match.to_json() for match in result.matches],
        "threshold": result.threshold,
        "engine": result.engine,
        "request_id": request_id,
    }


def subject(info: SubjectInfo, request_id: str) -> dict[str, Any]:
    """GET /enrolments/{subject_id}."""
    return {**info.to_json(), "request_id": request_id}


def document(result: DocumentResult, request_id: str) -> dict[str, Any]:
    """POST /documents."""
    return {"document": result.to_json(), "request_id": request_id}

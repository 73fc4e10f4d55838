"""Enrolment and duplicate search, from the request body to the response
body (docs/enrolment.md):

- POST /enrolments: the full /ips verification; when the faces match, the
  selfie's face is searched among the enrolled ones and, unless it belongs
  to another subject, stored under the caller's subject id;
- POST /search: the enrolled subjects that look like a selfie;
- GET and DELETE /enrolments/{subject_id}: metadata and erasure.

The stage's store (chalicelib/enrolment/) does the storing and searching.
Logs carry a hash of the subject id, never the id itself, a descriptor or
an image."""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib import admission, errors
from chalicelib.decision import MATCH, REVIEW
from chalicelib.engines import engine_for
from chalicelib.enrolment import store_for
from chalicelib.enrolment.base import SUBJECT_ID_PATTERN, Probe, SubjectInfo
from chalicelib.image_checks import check_image
from chalicelib.image_normalise import normalise
from chalicelib.logs import log_event
from chalicelib.request_decoding import decode_image_field, load_payload
from chalicelib.settings import Settings
from chalicelib.verification import run_verification

DUPLICATE_FACE = "DUPLICATE_FACE"
# The tenant of a deployment with plain API keys (issue 17; the tenant
# registry passes the caller's own).
DEFAULT_TENANT = "default"


def check_subject_id(value: Any) -> str:
    if not isinstance(value, str) or not SUBJECT_ID_PATTERN.fullmatch(value):
        raise errors.invalid_subject_id()
    return value


def subject_hash(subject_id: str) -> str:
    """What logs may carry: a short SHA-256 of the id (enough to correlate
    a subject's log lines, not the id itself)."""
    return hashlib.sha256(subject_id.encode("utf-8")).hexdigest()[:16]


def enrol(
    raw_body: bytes,
    content_type: str | None,
    settings: Settings,
    request_id: str,
    tenant_id: str = DEFAULT_TENANT,
) -> tuple[int, dict[str, Any]]:
    """(status, body): 201 when the face was enrolled, 200 when not (the
    verification failed, or the face is already enrolled under another id)."""
    parsed: dict[str, str] = {}

    def check_payload(payload: dict[str, Any]) -> None:
        parsed["subject_id"] = check_subject_id(payload.get("subject_id"))

    verification = run_verification(raw_body, content_type, settings, request_id, check_payload)
    subject_id = parsed["subject_id"]
    body = {**verification.body, "subject_id": subject_id, "enrolled": False, "duplicates": []}
    if body["decision"] == MATCH:
        probe = Probe(verification.selfie, verification.comparison.selfie_descriptor)
        outcome = store_for(settings).enrol(
            tenant_id, subject_id, probe, settings.search_threshold, settings.max_matches
        )
        body["enrolled"] = outcome.enrolled
        body["duplicates"] = [match.to_json() for match in outcome.duplicates]
        if outcome.duplicates:
            # Someone else is enrolled with this face: a person decides.
            body["decision"], body["verified"] = REVIEW, False
            body.setdefault("reasons", []).append(DUPLICATE_FACE)
    status = 201 if body["enrolled"] else 200
    log_event(
        "enrolment",
        request_id=request_id,
        stage=settings.stage,
        subject=subject_hash(subject_id),
        status=status,
        enrolled=body["enrolled"],
        duplicates=len(body["duplicates"]),
        decision=body["decision"],
    )
    return status, body


def search(
    raw_body: bytes,
    content_type: str | None,
    settings: Settings,
    request_id: str,
    tenant_id: str = DEFAULT_TENANT,
) -> dict[str, Any]:
    payload = load_payload(raw_body, content_type)
    checked = check_image(decode_image_field(payload, "selfie"), "selfie")
    # Bad input is answered at once; conversion, the face engine and the
    # search wait for a turn, as for /ips (chalicelib/admission.py).
    with admission.slot("search"):
        selfie = normalise(checked)
        engine = engine_for(settings.engine, settings.engine_options)
        descriptor = None
        describe = getattr(engine, "describe", None)
        if describe is not None:  # the offline engine: the local store compares descriptors
            _, descriptor = describe(selfie)
        matches = store_for(settings).search(
            tenant_id, Probe(selfie, descriptor), settings.search_threshold, settings.max_matches
        )
    log_event(
        "search", request_id=request_id, stage=settings.stage, status=200, matches=len(matches)
    )
    return {
        "matches": [m.to_json() for m in matches],
        "threshold": settings.search_threshold,
        "engine": engine.name,
        "request_id": request_id,
    }


def subject(
    subject_id: str, settings: Settings, request_id: str, tenant_id: str = DEFAULT_TENANT
) -> dict[str, Any]:
    info: SubjectInfo | None = store_for(settings).subject(tenant_id, check_subject_id(subject_id))
    log_event(
        "subject", request_id=request_id, subject=subject_hash(subject_id), found=info is not None
    )
    if info is None:
        raise errors.subject_not_found()
    return {**info.to_json(), "request_id": request_id}


def erase(
    subject_id: str, settings: Settings, request_id: str, tenant_id: str = DEFAULT_TENANT
) -> None:
    erased = store_for(settings).erase(tenant_id, check_subject_id(subject_id))
    log_event("erasure", request_id=request_id, subject=subject_hash(subject_id), erased=erased)
    if not erased:
        raise errors.subject_not_found()

"""Enrolment, from the request body to its result (docs/enrolment.md):

- POST /enrolments: the full /ips verification; when the faces match, the
  selfie's face is searched among the enrolled ones and, unless it belongs
  to another subject, stored under the caller's subject id;
- GET and DELETE /enrolments/{subject_id}: metadata and erasure.

The stage's store (chalicelib/enrolment/) does the storing and searching.
Logs carry a hash of the subject id, never the id itself, a descriptor or
an image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.backends import Services
from chalicelib.core import errors
from chalicelib.core.logs import log_event
from chalicelib.core.pseudonyms import pseudonym
from chalicelib.decision.policy import MATCH, Decision, with_duplicates
from chalicelib.enrolment.base import SUBJECT_ID_PATTERN, Match, Probe, SubjectInfo
from chalicelib.flows.request import Request
from chalicelib.flows.verify import Verification, verify


@dataclass(frozen=True)
class EnrolmentResult:
    verification: Verification
    decision: Decision  # the verification's, capped by a duplicate
    subject_id: str
    enrolled: bool
    duplicates: list[Match]

    @property
    def status(self) -> int:
        """201 when the face was enrolled, 200 when not (the verification
        failed, or the face is already enrolled under another id)."""
        return 201 if self.enrolled else 200


def check_subject_id(value: Any) -> str:
    if not isinstance(value, str) or not SUBJECT_ID_PATTERN.fullmatch(value):
        raise errors.invalid_subject_id()
    return value


def subject_hash(services: Services, request: Request, subject_id: str) -> str:
    """What logs may carry: the subject's pseudonym under the logs' secret
    pepper, per tenant (chalicelib/core/pseudonyms.py), never the id."""
    pepper = services.settings.access.log_pepper
    return pseudonym(pepper, request.caller.tenant_id, subject_id)


def enrol(services: Services, request: Request) -> EnrolmentResult:
    settings = services.settings
    parsed: dict[str, str] = {}

    def check_payload(payload: dict[str, Any]) -> None:
        parsed["subject_id"] = check_subject_id(payload.get("subject_id"))

    verification = verify(services, request, check_payload)
    subject_id = parsed["subject_id"]
    enrolled, duplicates = False, list[Match]()
    if verification.decision.outcome is MATCH:
        probe = Probe(verification.selfie, verification.comparison.selfie_descriptor)
        outcome = services.store().enrol(
            request.tenant_id,
            subject_id,
            probe,
            settings.search.threshold,
            settings.search.max_matches,
        )
        enrolled, duplicates = outcome.enrolled, outcome.duplicates
    decision = with_duplicates(verification.decision, bool(duplicates))
    result = EnrolmentResult(verification, decision, subject_id, enrolled, duplicates)
    log_event(
        "enrolment",
        request_id=request.request_id,
        stage=settings.stage,
        subject=subject_hash(services, request, subject_id),
        status=result.status,
        enrolled=enrolled,
        duplicates=len(duplicates),
        decision=decision.outcome,
    )
    return result


def subject(services: Services, subject_id: str, request: Request) -> SubjectInfo:
    info = services.store().subject(request.tenant_id, check_subject_id(subject_id))
    log_event(
        "subject",
        request_id=request.request_id,
        subject=subject_hash(services, request, subject_id),
        found=info is not None,
    )
    if info is None:
        raise errors.subject_not_found()
    return info


def erase(services: Services, subject_id: str, request: Request) -> None:
    request_id = request.request_id
    erased = services.store().erase(request.tenant_id, check_subject_id(subject_id))
    log_event(
        "erasure",
        request_id=request_id,
        subject=subject_hash(services, request, subject_id),
        erased=erased,
    )
    if not erased:
        raise errors.subject_not_found()

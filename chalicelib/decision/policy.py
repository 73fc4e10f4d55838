"""The decision a business acts on, as a value: the face rule (similarity
against the threshold and review band), capped by the document's failed
checks (IPS_DOCUMENT=enforce) and by a duplicate enrolment.

The document rule (IPS_DOCUMENT, docs/document-reading.md):
- off: nothing is read; `reasons` is empty.
- read: the document is read and reported; the decision depends on the
  faces only, and `reasons` stays empty.
- enforce: each failed check caps the face decision (match > review > no_match):
  DOCUMENT_EXPIRED, UNDER_MINIMUM_AGE -> IPS_DOCUMENT_FAILED (no_match by default);
  DOCUMENT_CHECK_DIGITS, EXPECTED_DATA_MISMATCH -> review (misreads happen);
  DOCUMENT_UNREADABLE -> review, or nothing with IPS_DOCUMENT_UNREADABLE=ignore.
  `reasons` lists every one of them.
A face already enrolled under another subject caps it at review (DUPLICATE_FACE)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.config.settings import DecisionSettings, DocumentSettings
from chalicelib.decision.reasons import HARD, Reason
from chalicelib.documents.base import DocumentResult


class Outcome(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NO_MATCH = "no_match"


MATCH, REVIEW, NO_MATCH = Outcome.MATCH, Outcome.REVIEW, Outcome.NO_MATCH
_RANK = {NO_MATCH: 0, REVIEW: 1, MATCH: 2}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()

    @property
    def verified(self) -> bool:
        return self.outcome is MATCH

    def capped(self, cap: Outcome, reason: Reason) -> Decision:
        """This decision with `reason` added and the outcome at most `cap`."""
        outcome = cap if _RANK[cap] < _RANK[self.outcome] else self.outcome
        return Decision(outcome, (*self.reasons, reason))


def face_outcome(similarity: float, threshold: float, review_floor: float | None) -> Outcome:
    """match at or above the threshold; review in [review_floor, threshold)
    when a band is set, so a person looks at the unsure cases; else no_match."""
    if similarity >= threshold:
        return MATCH
    if review_floor is not None and similarity >= review_floor:
        return REVIEW
    return NO_MATCH


def document_reasons(result: DocumentResult) -> list[Reason]:
    """The reasons of what failed or could not be read."""
    if not result.document.read:
        return [Reason.DOCUMENT_UNREADABLE]
    checks, reasons = result.checks, list[Reason]()
    if checks.expired:
        reasons.append(Reason.DOCUMENT_EXPIRED)
    if checks.check_digits == "fail":
        reasons.append(Reason.DOCUMENT_CHECK_DIGITS)
    if checks.minimum_age == "fail":
        reasons.append(Reason.UNDER_MINIMUM_AGE)
    if checks.expected_data == "fail":
        reasons.append(Reason.EXPECTED_DATA_MISMATCH)
    return reasons


def decide(
    similarity: float,
    rule: DecisionSettings,
    document: DocumentResult | None = None,
    documents: DocumentSettings | None = None,
) -> Decision:
    """The verification's decision: the face rule, then the document's checks
    when `documents.mode` is enforce."""
    decision = Decision(face_outcome(similarity, rule.threshold, rule.review_floor))
    return with_document(decision, document, documents)


def with_document(
    decision: Decision, document: DocumentResult | None, documents: DocumentSettings | None
) -> Decision:
    """`decision` capped by the document's failed checks (enforce only)."""
    if document is None or documents is None or documents.mode != "enforce":
        return decision
    for reason in document_reasons(document):
        if reason is Reason.DOCUMENT_UNREADABLE and documents.unreadable == "ignore":
            continue
        cap = Outcome(documents.failed) if reason in HARD else REVIEW
        decision = decision.capped(cap, reason)
    return decision


def with_duplicates(decision: Decision, duplicates: bool) -> Decision:
    """Someone else is enrolled with this face: a person decides."""
    return decision.capped(REVIEW, Reason.DUPLICATE_FACE) if duplicates else decision

"""A verification record and its events.

The events are the truth; the record is their fold (`fold`): every field of
a record can be recomputed from its events, which is how `make verify-audit`
notices a record row edited without its trail. Nothing here is personal
data: a record holds the checks' outcomes (pass/fail, reasons), never an
image, a descriptor, a name, a number or a date of birth.

Statuses: ``awaiting_capture`` (a hosted session waiting for its photos)
-> ``verified`` | ``review`` | ``rejected``, or ``expired``. A verification
sent straight to ``/ips`` is created and decided in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    AWAITING_CAPTURE = "awaiting_capture"
    VERIFIED = "verified"
    REVIEW = "review"
    REJECTED = "rejected"
    EXPIRED = "expired"


# A decided (or expired) record takes no further capture.
FINAL = frozenset({Status.VERIFIED, Status.REVIEW, Status.REJECTED, Status.EXPIRED})

# The verification's decision -> the record's status.
STATUS_OF_DECISION = {
    "match": Status.VERIFIED,
    "review": Status.REVIEW,
    "no_match": Status.REJECTED,
}


class Kind(StrEnum):
    """How the record came to be."""

    VERIFICATION = "verification"  # POST /ips
    ENROLMENT = "enrolment"  # POST /enrolments
    SESSION = "session"  # POST /verifications, then a capture


class EventType(StrEnum):
    CREATED = "created"
    CAPTURE_FAILED = "capture_failed"  # a 422 (no face, blurred): the person may retry
    CAPTURED = "captured"  # photos received and compared
    DECIDED = "decided"
    EXPIRED = "expired"
    # Issue 19 appends: reviewed, webhook_delivered, redacted.


def new_id() -> str:
    """A record id: 128 random bits, URL-safe, prefixed so a support person
    can tell it from other ids."""
    return "vrf_" + secrets.token_urlsafe(16)


def iso(moment: datetime) -> str:
    """The one time format of records and events: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Event:
    """One entry of a record's trail. ``data`` is JSON-ready and never holds
    personal data; ``hash``/``prev_hash`` are set by the chain
    (chalicelib.records.chain) when the event is linked."""

    record_id: str
    tenant_id: str
    seq: int
    type: EventType
    at: str
    data: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    def payload(self) -> dict[str, Any]:
        """What the hash covers: everything but the hashes themselves."""
        return {
            "record_id": self.record_id,
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "type": str(self.type),
            "at": self.at,
            "data": dict(self.data),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": str(self.type),
            "at": self.at,
            "data": dict(self.data),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Record:
    """What GET /verifications/{id} answers (see `to_json`)."""

    id: str
    tenant_id: str
    kind: Kind
    status: Status
    created_at: str
    request_id: str | None = None
    reference: str | None = None
    expires_at: str | None = None
    require_liveness: bool = False
    failed_captures: int = 0
    decided_at: str | None = None
    outcome: Mapping[str, Any] | None = None
    events: int = 0
    head_hash: str = ""

    def dump(self) -> dict[str, Any]:
        """Every field, JSON-ready (what a store keeps; `load` reads it back)."""
        return {
            **{f.name: getattr(self, f.name) for f in fields(self)},
            "kind": str(self.kind),
            "status": str(self.status),
            "outcome": None if self.outcome is None else dict(self.outcome),
        }

    @staticmethod
    def load(data: Mapping[str, Any]) -> Record:
        values = {f.name: data[f.name] for f in fields(Record) if f.name in data}
        values.update(kind=Kind(data["kind"]), status=Status(data["status"]))
        return Record(**values)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "kind": str(self.kind),
            "status": str(self.status),
            "reference": self.reference,
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "request_id": self.request_id,
        }
        if self.kind is Kind.SESSION:
            body.update(
                expires_at=self.expires_at,
                require_liveness=self.require_liveness,
                failed_captures=self.failed_captures,
            )
        body.update(dict(self.outcome or {}))
        body["events"] = self.events
        body["head_hash"] = self.head_hash
        return body


def outcome_of(body: Mapping[str, Any], model_versions: Mapping[str, str]) -> dict[str, Any]:
    """The decided event's data from a verification's answer body: the
    decision and why, never the document's fields (names, numbers, dates of
    birth) nor the faces' boxes. ``document`` keeps how it was read and the
    checks' outcome only."""
    outcome: dict[str, Any] = {
        key: body.get(key)
        for key in ("decision", "similarity", "threshold", "review_floor", "engine")
    }
    outcome["reasons"] = list(body.get("reasons") or [])
    outcome["faces_in_selfie"] = body.get("faces_in_selfie")
    outcome["model_versions"] = dict(model_versions)
    document = body.get("document")
    if isinstance(document, Mapping):
        outcome["document"] = {
            key: document.get(key)
            for key in ("read", "source", "type", "mrz_format", "checks", "reasons")
            if key in document
        }
    if "enrolled" in body:  # POST /enrolments
        outcome["enrolled"] = bool(body["enrolled"])
        outcome["duplicates"] = len(body.get("duplicates") or [])
    return outcome


def fold(events: Iterable[Event], record: Record | None = None) -> Record:
    """The record its events describe, from ``record`` (None: from nothing,
    so the events start with ``created``, seq 0). Raises ValueError on a
    trail that starts otherwise or moves a final record."""
    for event in events:
        record = _apply(record, event)
    if record is None:
        raise ValueError("a trail without events")
    return record


def _apply(record: Record | None, event: Event) -> Record:
    data = event.data
    if record is None:
        if event.type is not EventType.CREATED or event.seq != 0:
            raise ValueError("a trail starts with a created event, seq 0")
        record = Record(
            id=event.record_id,
            tenant_id=event.tenant_id,
            kind=Kind(data["kind"]),
            status=Status.AWAITING_CAPTURE,
            created_at=event.at,
            request_id=data.get("request_id"),
            reference=data.get("reference"),
            expires_at=data.get("expires_at"),
            require_liveness=bool(data.get("require_liveness", False)),
        )
    elif event.seq != record.events:
        raise ValueError(f"event seq {event.seq} after {record.events} events")
    elif event.type is EventType.CREATED:
        raise ValueError("a second created event")
    elif record.status in FINAL:
        raise ValueError(f"a {event.type} event after the record was {record.status}")
    elif event.type is EventType.CAPTURE_FAILED:
        record = replace(record, failed_captures=record.failed_captures + 1)
        if data.get("closed"):  # the last allowed attempt failed
            record = replace(record, status=Status.REJECTED, decided_at=event.at)
    elif event.type is EventType.CAPTURED:
        record = replace(record, request_id=data.get("request_id", record.request_id))
    elif event.type is EventType.DECIDED:
        record = replace(
            record,
            status=Status(data["status"]),
            decided_at=event.at,
            outcome={k: v for k, v in data.items() if k != "status"},
        )
    elif event.type is EventType.EXPIRED:
        record = replace(record, status=Status.EXPIRED)
    return replace(record, events=event.seq + 1, head_hash=event.hash)

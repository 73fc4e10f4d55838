"""SEAM: the record store. One interface, two implementations picked per
stage by the composition root: SQLite on the local stage
(chalicelib.records.sqlite), DynamoDB on cloud stages
(chalicelib.records.dynamodb).

Every state change is one `Change`, written atomically (the record's new
state and its new events, or nothing) and only if the record still has the
number of events the change was computed from: optimistic concurrency, so
two captures of one session cannot both win (the loser gets `Conflict`).
The caller answers only after `commit` returned, so nothing acknowledged is
lost.

Issue 19 will extend `Change` with an outbox (webhook events written in
the same transaction as the status change: a table in SQLite, items in the
same TransactWriteItems on DynamoDB) without changing this shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.records.model import Event, Record, Status


class Conflict(Exception):
    """The record changed since the change was computed (another request
    won), or a new record's id already exists."""


class StoreFailure(Exception):
    """The store cannot be read or written (busy, throttled, disk, network).
    ``busy`` = a retry may succeed soon."""

    def __init__(self, operation: str, busy: bool) -> None:
        super().__init__(operation)
        self.operation = operation
        self.busy = busy


@dataclass(frozen=True)
class SessionKeys:
    """What a hosted session keeps beside its record and never shows: the
    SHA-256 of its capture token, and `expected` (what the person typed at
    sign-up) sealed with AES-GCM, forgotten when the session is decided."""

    token_sha256: str
    sealed_expected: bytes | None = None


@dataclass(frozen=True)
class Change:
    record: Record  # the record after the events
    events: Sequence[Event]  # linked (chain.link), seq continuing the record's
    expected_events: int  # the record's event count this was computed from; 0 = a new record
    session: SessionKeys | None = None  # on creating a session only
    forget_expected: bool = False  # the capture used `expected`: drop it


@dataclass(frozen=True)
class Page:
    items: list[Record]
    next_cursor: str | None


@dataclass(frozen=True)
class Position:
    """Where a listing resumes: after this record (newest first)."""

    created_at: str
    record_id: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at, self.record_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str) -> Position:
        """Raises ValueError on anything but a cursor this API produced."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            created_at, record_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("not a cursor") from exc
        if not (isinstance(created_at, str) and isinstance(record_id, str)):
            raise ValueError("not a cursor")
        return Position(created_at, record_id)


class RecordStore(Protocol):
    name: str

    def commit(self, change: Change) -> None:
        """Write the change atomically, or raise Conflict / StoreFailure."""

    def get(self, tenant_id: str, record_id: str) -> Record | None:
        """The tenant's record; None when missing or another tenant's."""

    def session(self, record_id: str) -> tuple[Record, SessionKeys] | None:
        """For the capture route only (it has no tenant yet, only the id and a
        token): the session's record and keys."""

    def page(
        self, tenant_id: str, status: Status | None, limit: int, after: Position | None
    ) -> Page:
        """The tenant's records, newest first."""

    def events(self, tenant_id: str, record_id: str) -> list[Event]:
        """The record's trail, oldest first ([] when not the tenant's)."""

"""Records and hosted sessions over a RecordStore: every state change as
one linked, atomic `Change`, the session state machine, the capture token.

    awaiting_capture --capture (200)--> verified | review | rejected
    awaiting_capture --capture (422)--> awaiting_capture (failed_captures + 1),
                     or rejected once `max_failed_captures` captures failed
    awaiting_capture --expires_at passed--> expired

Expiry is applied when the session is next read or captured (its
`expired` event is then written, dated when it was noticed; `expires_at`
is in the created event). Time comes from the injected clock only.

The capture token: 256 random bits, URL-safe, shown once (in the 201
answer); the store keeps its SHA-256 only and a presented token is compared
with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.records.base import Change, Conflict, Page, Position, RecordStore, SessionKeys
from chalicelib.records.chain import link
from chalicelib.records.model import (
    FINAL,
    STATUS_OF_DECISION,
    Event,
    EventType,
    Kind,
    Record,
    Status,
    fold,
    iso,
    new_id,
    parse_iso,
)

DEFAULT_TTL_S = 3600
# Five tries cover a person fumbling the camera a few times; beyond, the
# session is closed (rejected), so a token cannot be used to probe the
# engine with endless photos.
DEFAULT_MAX_FAILED_CAPTURES = 5
MAX_LIST_LIMIT = 100


Step = tuple[EventType, Mapping[str, Any]]


class SessionError(Exception):
    """Why a capture cannot go on: ``not_found`` (404), ``bad_token`` (401),
    ``expired`` (410), ``closed`` (409: already decided)."""

    def __init__(self, reason: str, record: Record | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record = record


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, keys: SessionKeys) -> bool:
    return hmac.compare_digest(token_digest(token), keys.token_sha256)


@dataclass(frozen=True)
class Session:
    """An open session, checked against its token, ready to be captured."""

    record: Record
    keys: SessionKeys


class Records:
    def __init__(
        self,
        store: RecordStore,
        clock: Callable[[], datetime],
        ttl_s: int = DEFAULT_TTL_S,
        max_failed_captures: int = DEFAULT_MAX_FAILED_CAPTURES,
    ) -> None:
        self.store = store
        self._clock = clock
        self.ttl_s = ttl_s
        self.max_failed_captures = max_failed_captures

    # --- writing ----------------------------------------------------------------------

    def _event(
        self,
        record_id: str,
        tenant_id: str,
        seq: int,
        kind: EventType,
        data: Mapping[str, Any],
        at: str,
    ) -> Event:
        return Event(record_id, tenant_id, seq, kind, at, dict(data))

    def _commit(
        self,
        base: Record | None,
        record_id: str,
        tenant_id: str,
        steps: Sequence[Step],
        session: SessionKeys | None = None,
    ) -> Record:
        """Link the steps after `base` (None: a new record), fold them, commit.
        A session's `expected` is forgotten as soon as the record is final."""
        at = iso(self._clock())
        start = base.events if base else 0
        events = link(
            base.head_hash if base else "",
            [
                self._event(record_id, tenant_id, start + i, kind, data, at)
                for i, (kind, data) in enumerate(steps)
            ],
        )
        record = fold(events, base)
        forget = base is not None and record.status in FINAL
        self.store.commit(Change(record, events, start, session, forget))
        return record

    def record_decision(
        self,
        tenant_id: str,
        kind: Kind,
        request_id: str,
        outcome: Mapping[str, Any],
        reference: str | None = None,
    ) -> Record:
        """A verification answered at once (/ips, /enrolments): created,
        captured and decided, in one transaction."""
        return self._commit(
            None,
            new_id(),
            tenant_id,
            [
                (
                    EventType.CREATED,
                    {"kind": str(kind), "request_id": request_id, "reference": reference},
                ),
                (EventType.CAPTURED, {"request_id": request_id}),
                (EventType.DECIDED, _decided(outcome)),
            ],
        )

    def open_session(
        self,
        tenant_id: str,
        request_id: str,
        reference: str | None = None,
        require_liveness: bool = False,
        sealed_expected: bytes | None = None,
    ) -> tuple[Record, str]:
        """A new session and its capture token (shown once)."""
        token = new_token()
        expires_at = iso(self._clock() + timedelta(seconds=self.ttl_s))
        data = {
            "kind": str(Kind.SESSION),
            "request_id": request_id,
            "reference": reference,
            "expires_at": expires_at,
            "require_liveness": require_liveness,
        }
        record = self._commit(
            None,
            new_id(),
            tenant_id,
            [(EventType.CREATED, data)],
            session=SessionKeys(token_digest(token), sealed_expected),
        )
        return record, token

    # --- reading ------------------------------------------------------------------------

    def get(self, tenant_id: str, record_id: str) -> Record | None:
        record = self.store.get(tenant_id, record_id)
        return None if record is None else self._expire_if_due(record)

    def page(
        self, tenant_id: str, status: Status | None, limit: int, after: Position | None
    ) -> Page:
        page = self.store.page(tenant_id, status, limit, after)
        items = [self._expire_if_due(r) for r in page.items]
        if status is not None:  # a session that expired just now is no longer awaiting
            items = [r for r in items if r.status is status]
        return Page(items, page.next_cursor)

    def events(self, tenant_id: str, record_id: str) -> list[Event]:
        if self.get(tenant_id, record_id) is None:  # applies a due expiry first
            return []
        return self.store.events(tenant_id, record_id)

    def _expire_if_due(self, record: Record) -> Record:
        if (
            record.status is not Status.AWAITING_CAPTURE
            or record.expires_at is None
            or self._clock() < parse_iso(record.expires_at)
        ):
            return record
        try:
            return self._commit(
                record,
                record.id,
                record.tenant_id,
                [(EventType.EXPIRED, {"expires_at": record.expires_at})],
            )
        except Conflict:  # someone else moved it meanwhile: read what they wrote
            latest = self.store.get(record.tenant_id, record.id)
            return latest if latest is not None else record

    # --- the capture --------------------------------------------------------------------

    def open_for_capture(self, record_id: str, token: str) -> Session:
        """The session this token opens, still awaiting its capture, or
        SessionError. The token is checked before anything about the
        session is told (a wrong token learns only "401")."""
        found = self.store.session(record_id)
        if found is None:
            raise SessionError("not_found")
        record, keys = found
        if not token_matches(token, keys):
            raise SessionError("bad_token")
        record = self._expire_if_due(record)
        if record.status is Status.EXPIRED:
            raise SessionError("expired", record)
        if record.status in FINAL:
            raise SessionError("closed", record)
        return Session(record, keys)

    def capture_failed(
        self, session: Session, request_id: str, code: str, field: str | None
    ) -> Record:
        """A retriable failure (422): counted; the last allowed one closes
        the session as rejected."""

        def steps(record: Record) -> list[Step]:
            closed = record.failed_captures + 1 >= self.max_failed_captures
            data = {"request_id": request_id, "code": code, "field": field, "closed": closed}
            return [(EventType.CAPTURE_FAILED, data)]

        return self._guarded(session.record, steps)

    def decide(self, session: Session, request_id: str, outcome: Mapping[str, Any]) -> Record:
        decided = [
            (EventType.CAPTURED, {"request_id": request_id}),
            (EventType.DECIDED, _decided(outcome)),
        ]
        return self._guarded(session.record, lambda record: decided)

    def attempts_left(self, record: Record) -> int:
        return max(0, self.max_failed_captures - record.failed_captures)

    def _guarded(self, record: Record, steps_after: Callable[[Record], Sequence[Step]]) -> Record:
        """Commit after `record`. When another request moved the session
        meanwhile: retry on top of a failed capture it counted, but never
        decide twice (the loser hears closed or expired)."""
        for _ in range(3):
            try:
                return self._commit(record, record.id, record.tenant_id, steps_after(record))
            except Conflict:
                latest = self.store.get(record.tenant_id, record.id)
                if latest is None or latest.status is not Status.AWAITING_CAPTURE:
                    expired = latest is not None and latest.status is Status.EXPIRED
                    raise SessionError("expired" if expired else "closed", latest) from None
                record = latest
        raise SessionError("closed", record)


def _decided(outcome: Mapping[str, Any]) -> dict[str, Any]:
    status = STATUS_OF_DECISION[str(outcome["decision"])]
    return {**outcome, "status": str(status)}

"""The audit trail's hash chain (docs/records.md, "The audit trail").

Each record has its own chain. An event's hash is

    hash = SHA-256( prev_hash (64 lowercase hex, ASCII) || canonical JSON of the event )

with ``prev_hash`` of the first event = 64 zeros, and the canonical JSON =
the event's payload (record_id, tenant_id, seq, type, at, data) as UTF-8
JSON with sorted keys, no whitespace, no NaN. Anyone can recompute it with
the standard library of any language; an edited, removed or reordered
event breaks its own hash or the next event's ``prev_hash``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.records.model import Event

GENESIS = "0" * 64


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def event_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(payload)).hexdigest()


def link(head_hash: str, events: Iterable[Event]) -> list[Event]:
    """The events with prev_hash and hash set, continuing a chain whose last
    hash is ``head_hash`` ("" or GENESIS for a new record)."""
    linked = []
    prev = head_hash or GENESIS
    for event in events:
        event = replace(event, prev_hash=prev, hash=event_hash(prev, event.payload()))
        linked.append(event)
        prev = event.hash
    return linked


@dataclass(frozen=True)
class Break:
    """The first place a chain does not hold."""

    seq: int | None  # the event's seq as stored (None: the trail as a whole)
    problem: str

    def __str__(self) -> str:
        where = "trail" if self.seq is None else f"event seq {self.seq}"
        return f"{where}: {self.problem}"


def first_break(events: Sequence[Event]) -> Break | None:
    """Walk one record's events in stored order; None when the chain holds."""
    prev = GENESIS
    for position, event in enumerate(events):
        if event.seq != position:
            return Break(
                event.seq,
                f"seq {event.seq} where {position} was expected "
                "(an event was removed or reordered)",
            )
        if event.prev_hash != prev:
            return Break(
                event.seq,
                "prev_hash is not the previous event's hash "
                "(an event before it was removed, reordered or edited)",
            )
        if event_hash(prev, event.payload()) != event.hash:
            return Break(event.seq, "hash does not match the event's content (edited)")
        prev = event.hash
    return None

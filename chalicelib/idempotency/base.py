"""Idempotency keys, as Stripe's API has them: a client that sends
``Idempotency-Key: <its own unique value>`` on a POST may retry it (a
timeout, a dropped connection) and gets the first answer again, while the
work (a face enrolled, a session created) happens once.

- Keyed by tenant and key: two tenants' keys never meet.
- A retry within ``TTL_S`` (24 h) with the same body gets the first answer
  (status and body, and ``Idempotent-Replayed: true``) and stores nothing more.
- The same key with a different body (or route) is 422
  ``IDEMPOTENCY_KEY_REUSED``; while the first request still runs, a retry is
  409 ``IDEMPOTENCY_IN_PROGRESS`` (with Retry-After).
- Only finished answers below 500 are kept: after a 5xx (the engine busy,
  the store unavailable) or a crash the key is free, and a retry runs again.
  A request that died without releasing its key (a killed process) holds it
  for ``LEASE_S`` at most.
- The stored answer is sealed (AES-GCM, chalicelib/core/crypto.py) because it
  can carry what the document says; the key itself is kept only as a hash.

Stores: ``sqlite.SqliteIdempotencyStore`` (local stage, under IPS_DATA_DIR),
``dynamodb.DynamoIdempotencyStore`` (cloud stages, expiry by DynamoDB TTL)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

TTL_S = 24 * 3600
# Longer than any request can run (Lambda's timeout is 28 s; make run's
# longest admission wait plus a verification is well under a minute).
LEASE_S = 120
HEADER = "idempotency-key"
# Stripe allows up to 255 characters; printable ASCII without spaces here,
# so a key can never smuggle a line break into anything.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


class Outcome(Enum):
    STARTED = "started"  # this request does the work, then complete() or release()
    REPLAY = "replay"  # the first answer is returned
    MISMATCH = "mismatch"  # the key was used with another request: 422
    IN_PROGRESS = "in_progress"  # the first request still runs: 409
    UNREADABLE = "unreadable"  # the first answer is kept but cannot be opened here: 409


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    status: int = 0
    body: bytes = field(default=b"", repr=False)


def key_hash(tenant_id: str, key: str) -> str:
    """What a store keeps instead of the client's key."""
    return hashlib.sha256(f"{tenant_id}\n{key}".encode()).hexdigest()


def fingerprint(route: str, body: bytes) -> str:
    """What makes two requests "the same": the route and the exact body."""
    digest = hashlib.sha256(route.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def open_answer(sealer: Sealer, status: int, blob: bytes, aad: bytes) -> Claim:
    """The stored answer as a REPLAY claim, or UNREADABLE (another key sealed it)."""
    try:
        return Claim(Outcome.REPLAY, status, sealer.unseal(blob, aad))
    except Exception:  # a wrong key or an altered value: never replay garbage
        return Claim(Outcome.UNREADABLE)


class Sealer(Protocol):
    """Authenticated encryption of stored answers (chalicelib/core/crypto.py)."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unseal(self, blob: bytes, aad: bytes) -> bytes: ...


class IdempotencyStore(Protocol):
    def claim(self, tenant_id: str, key: str, fingerprint: str) -> Claim:
        """Take the key for this request, or say why not (Outcome)."""
        ...

    def complete(self, tenant_id: str, key: str, status: int, body: bytes) -> None:
        """Keep the answer for TTL_S; only the claimant calls it."""
        ...

    def release(self, tenant_id: str, key: str) -> None:
        """Free the key after a failure (a 5xx, an exception)."""
        ...

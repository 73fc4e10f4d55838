"""Idempotency-Key handling for POST routes (chalicelib/idempotency/base.py
has the rules). ``run_once`` wraps a route's work:

    status, body, replayed = run_once(store, caller.tenant_id, headers.get(HEADER),
                                      "POST /enrolments", raw_body, lambda: enrol(...))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.core import errors
from chalicelib.idempotency.base import HEADER, KEY_PATTERN, IdempotencyStore, Outcome, fingerprint

__all__ = ["HEADER", "IdempotencyStore", "run_once"]

Work = Callable[[], tuple[int, Any]]


def run_once(
    store: IdempotencyStore,
    tenant_id: str,
    key: str | None,
    route: str,
    body: bytes,
    work: Work,
) -> tuple[int, Any, bool]:
    """(status, body, replayed). Without a key the work simply runs."""
    if key is None:
        status, answer = work()
        return status, answer, False
    if not KEY_PATTERN.fullmatch(key):
        raise errors.invalid_idempotency_key()
    claim = store.claim(tenant_id, key, fingerprint(route, body))
    if claim.outcome is Outcome.REPLAY:
        return claim.status, json.loads(claim.body), True
    if claim.outcome is Outcome.UNREADABLE:
        raise errors.idempotency_in_progress(60)
    if claim.outcome is Outcome.MISMATCH:
        raise errors.idempotency_key_reused()
    if claim.outcome is Outcome.IN_PROGRESS:
        raise errors.idempotency_in_progress()
    try:
        status, answer = work()
    except BaseException:
        store.release(tenant_id, key)  # nothing was decided: a retry runs again
        raise
    if status >= 500:
        store.release(tenant_id, key)
    else:
        store.complete(tenant_id, key, status, json.dumps(answer, separators=(",", ":")).encode())
    return status, answer, False

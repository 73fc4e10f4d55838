"""Admission control for compute-heavy work (a verification, and any other
route that runs a face engine): at most `in_flight` run at once, at most
`queued` wait for a turn, and anything beyond is refused at once with
503 ENGINE_BUSY and a Retry-After, instead of queueing without bound.

A waiting request is dropped without being computed when its client has
gone (the server tells us through `client_gone_probe`) or when it has waited
longer than `max_wait_s`. Pure Python and process-wide: it works the same
under `make run` (chalicelib/serve/), `chalice local` and Lambda (where one
request per process never waits).

Usage, from any compute route::

    with admission.slot("verification"):
        ...the heavy part...
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from chalicelib.config.settings import Limits, limits_from_env
from chalicelib.core import errors
from chalicelib.core.logs import log_event

# How a request's server tells this module that the client has gone. The
# default (no server support, e.g. `chalice local`) never says so.
ClientGoneProbe = Callable[[], bool]
client_gone_probe: contextvars.ContextVar[ClientGoneProbe] = contextvars.ContextVar(
    "client_gone_probe", default=lambda: False
)

# How often a waiting request re-checks its client and deadline when no slot
# frees up meanwhile (a slot freeing wakes it at once).
_POLL_S = 0.25


class Admission:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._mean_s = 0.5  # running mean of one computation, for Retry-After

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    def retry_after_s(self) -> int:
        """Seconds until the queue has likely moved on: everyone admitted,
        served `in_flight` at a time at the recent mean duration."""
        backlog = self._running + self._waiting
        return max(1, math.ceil(backlog * self._mean_s / self.limits.in_flight))

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        """Hold one compute slot for the with-block, or raise
        errors.engine_busy (full, or waited too long) or errors.client_gone."""
        gone = client_gone_probe.get()
        with self._lock:
            if self._running + self._waiting >= self.limits.in_flight + self.limits.queued:
                retry = self.retry_after_s()
                log_event("shed", what=what, reason="full", retry_after_s=retry)
                raise errors.engine_busy(retry)
            self._waiting += 1
            deadline = self._clock() + self.limits.max_wait_s
            try:
                while self._running >= self.limits.in_flight:
                    if gone():
                        log_event("shed", what=what, reason="client_gone")
                        raise errors.client_gone()
                    left = deadline - self._clock()
                    if left <= 0:
                        retry = self.retry_after_s()
                        log_event("shed", what=what, reason="waited_too_long", retry_after_s=retry)
                        raise errors.engine_busy(retry)
                    self._lock.wait(min(_POLL_S, left))
            finally:
                self._waiting -= 1
            self._running += 1
        start = self._clock()
        try:
            if gone():  # it may have left while queued, just before its turn
                log_event("shed", what=what, reason="client_gone")
                raise errors.client_gone()
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._mean_s = 0.8 * self._mean_s + 0.2 * (self._clock() - start)
                # all waiters re-check: one whose client has gone leaves the
                # slot to the next instead of keeping the wake-up
                self._lock.notify_all()


_admission: Admission | None = None
_create_lock = threading.Lock()


def admission() -> Admission:
    """The process-wide admission, with limits from the environment."""
    global _admission
    if _admission is None:
        with _create_lock:
            if _admission is None:
                _admission = Admission(limits_from_env())
    return _admission


def slot(what: str) -> AbstractContextManager[None]:
    return admission().slot(what)

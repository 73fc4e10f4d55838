"""Admission control (chalicelib/admission.py), in-process: the bound, the
immediate 503 with Retry-After, the wait deadline and the departed client.
Threads are coordinated with Events; the deadline uses an injected clock."""

import threading

import pytest

from chalicelib.config.settings import Limits, limits_from_env
from chalicelib.core.errors import ApiError
from chalicelib.flows import admission
from chalicelib.flows.admission import Admission

GUARD_S = 60  # only turns a hang into a failure


class Holder:
    """A thread that takes a slot and keeps it until released."""

    def __init__(self, gate: Admission) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(gate,))
        self.thread.start()

    def _run(self, gate: Admission) -> None:
        try:
            with gate.slot("test"):
                self.entered.set()
                assert self.release.wait(GUARD_S)
        except ApiError as exc:
            self.error = exc

    def finish(self) -> None:
        self.release.set()
        self.thread.join(GUARD_S)
        assert not self.thread.is_alive()


def wait_until(condition) -> None:
    """Wait for a state change made by another thread (guarded, not timed)."""
    done = threading.Event()
    for _ in range(GUARD_S * 1000):
        if condition():
            return
        done.wait(0.001)
    raise AssertionError("condition never became true")


def test_a_full_bound_answers_engine_busy_at_once_with_retry_after():
    gate = Admission(Limits(in_flight=1, queued=0, max_wait_s=600))
    holder = Holder(gate)
    assert holder.entered.wait(GUARD_S)
    ran = []
    with pytest.raises(ApiError) as refused, gate.slot("test"):
        ran.append(True)
    assert not ran
    assert refused.value.status == 503 and str(refused.value.code) == "ENGINE_BUSY"
    assert int(refused.value.headers["Retry-After"]) >= 1
    holder.finish()
    with gate.slot("test"):  # free again once the holder is done
        assert gate.running == 1
    assert gate.running == 0 and gate.waiting == 0


def test_a_queued_request_runs_when_a_slot_frees_and_the_queue_is_bounded():
    gate = Admission(Limits(in_flight=1, queued=1, max_wait_s=600))
    first = Holder(gate)
    assert first.entered.wait(GUARD_S)
    second = Holder(gate)
    wait_until(lambda: gate.waiting == 1)
    assert not second.entered.is_set()
    # 1 running + 1 waiting: full
    with pytest.raises(ApiError) as refused, gate.slot("test"):
        pass
    assert refused.value.status == 503
    first.finish()
    assert second.entered.wait(GUARD_S)
    second.finish()
    assert first.error is None and second.error is None


def test_a_request_that_waited_past_the_deadline_is_not_computed():
    now = [0.0]
    gate = Admission(Limits(in_flight=1, queued=4, max_wait_s=5), clock=lambda: now[0])
    holder = Holder(gate)
    assert holder.entered.wait(GUARD_S)
    waiter = Holder(gate)
    wait_until(lambda: gate.waiting == 1)
    now[0] = 6.0  # past its deadline: it gives up at its next check
    waiter.thread.join(GUARD_S)
    assert not waiter.entered.is_set()
    assert waiter.error is not None and str(waiter.error.code) == "ENGINE_BUSY"
    assert "Retry-After" in waiter.error.headers
    holder.finish()
    assert gate.waiting == 0 and gate.running == 0


def test_a_request_whose_client_has_gone_is_not_computed():
    gate = Admission(Limits(in_flight=1, queued=4, max_wait_s=600))
    holder = Holder(gate)
    assert holder.entered.wait(GUARD_S)
    gone = threading.Event()
    outcome = {}

    def waiting_request() -> None:
        admission.client_gone_probe.set(gone.is_set)  # this thread's context only
        try:
            with gate.slot("test"):
                outcome["computed"] = True
        except ApiError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=waiting_request)
    thread.start()
    wait_until(lambda: gate.waiting == 1)
    gone.set()
    thread.join(GUARD_S)
    assert "computed" not in outcome
    assert outcome["error"].status == 499 and str(outcome["error"].code) == "CLIENT_GONE"
    holder.finish()


def test_a_client_gone_before_its_turn_is_not_computed_even_with_a_free_slot():
    gate = Admission(Limits(in_flight=1, queued=0, max_wait_s=600))
    token = admission.client_gone_probe.set(lambda: True)
    try:
        with pytest.raises(ApiError) as gone, gate.slot("test"):
            raise AssertionError("computed for a client that has gone")
    finally:
        admission.client_gone_probe.reset(token)
    assert str(gone.value.code) == "CLIENT_GONE"
    assert gate.running == 0


def test_limits_come_from_settings_and_bad_values_name_their_variable():
    assert limits_from_env({}) == Limits()
    assert limits_from_env({"IPS_MAX_IN_FLIGHT": "2", "IPS_MAX_QUEUED": "0",
                            "IPS_MAX_WAIT_S": "2.5"}) == Limits(2, 0, 2.5)
    for name, value in (("IPS_MAX_IN_FLIGHT", "0"), ("IPS_MAX_IN_FLIGHT", "1.5"),
                        ("IPS_MAX_QUEUED", "-1"), ("IPS_MAX_WAIT_S", "soon")):
        with pytest.raises(ValueError, match=name):
            limits_from_env({name: value})

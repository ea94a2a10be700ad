"""The per-region circuit breaker, on an injected clock."""

from __future__ import annotations

import threading

import pytest

from language_failover import Admission, BreakerPolicy, CircuitBreaker, CircuitState, RegionStateChange


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make(
    clock: ManualClock, changes: list[RegionStateChange] | None = None, **policy: float
) -> CircuitBreaker:
    listener = changes.append if changes is not None else None
    return CircuitBreaker("eastus", BreakerPolicy(**policy), clock=clock, listener=listener)  # type: ignore[arg-type]


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.acquire(), "connection refused")


def test_opens_after_consecutive_failures_and_not_before(clock: ManualClock) -> None:
    changes: list[RegionStateChange] = []
    breaker = make(clock, changes, consecutive_failures=3)
    fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED
    fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    assert breaker.acquire() is Admission.REJECTED
    assert [(c.previous, c.current) for c in changes] == [(CircuitState.CLOSED, CircuitState.OPEN)]
    assert "3 consecutive failures" in changes[0].reason
    assert "connection refused" in changes[0].reason


def test_a_success_resets_the_consecutive_count(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=3, minimum_calls=100)
    for _ in range(5):
        fail(breaker, 2)
        breaker.record_success(breaker.acquire())
    assert breaker.state is CircuitState.CLOSED


def test_a_success_seen_before_failures_but_recorded_after_them_does_not_reset_the_count(
    clock: ManualClock,
) -> None:
    # A region answers one request and dies; that request's thread records its success late.
    breaker = make(clock, consecutive_failures=3, minimum_calls=100)
    answered_before_the_outage = breaker.observe()
    fail(breaker, 2)
    breaker.record_success(breaker.acquire(), observed=answered_before_the_outage)
    fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN


def test_a_success_seen_after_the_failures_resets_the_count(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=3, minimum_calls=100)
    fail(breaker, 2)
    answered = breaker.observe()
    breaker.record_success(breaker.acquire(), observed=answered)
    fail(breaker, 2)
    assert breaker.state is CircuitState.CLOSED


def test_opens_on_failure_rate_within_the_window(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=100, failure_rate=0.5, minimum_calls=10, window_seconds=60)
    for _ in range(4):
        fail(breaker)
        breaker.record_success(breaker.acquire())
    fail(breaker)  # 5 failures of 9 calls: not enough calls yet
    assert breaker.state is CircuitState.CLOSED
    breaker.record_success(breaker.acquire())  # 5 of 10: at the rate, but successes do not trip
    assert breaker.state is CircuitState.CLOSED
    fail(breaker)  # 6 of 11
    assert breaker.state is CircuitState.OPEN


def test_failures_older_than_the_window_do_not_count(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=100, failure_rate=0.5, minimum_calls=4, window_seconds=10)
    fail(breaker, 3)
    breaker.record_success(breaker.acquire())
    clock.advance(11)
    for _ in range(3):
        breaker.record_success(breaker.acquire())
    fail(breaker)  # 1 of 4 inside the window
    assert breaker.state is CircuitState.CLOSED


def test_half_open_after_cooldown_admits_a_single_probe(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(29.9)
    assert breaker.acquire() is Admission.REJECTED
    assert breaker.seconds_until_probe() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.acquire() is Admission.PROBE
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.acquire() is Admission.REJECTED  # others stay on the secondary meanwhile


def test_successful_probe_fails_back(clock: ManualClock) -> None:
    changes: list[RegionStateChange] = []
    breaker = make(clock, changes, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(30)
    breaker.record_success(breaker.acquire())
    assert breaker.state is CircuitState.CLOSED
    assert breaker.acquire() is Admission.NORMAL
    assert [c.current for c in changes] == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]


def test_failed_probe_reopens_for_a_fresh_cooldown(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(30)
    breaker.record_failure(breaker.acquire(), "still down")
    assert breaker.state is CircuitState.OPEN
    clock.advance(29)
    assert breaker.acquire() is Admission.REJECTED
    clock.advance(1)
    assert breaker.acquire() is Admission.PROBE


def test_inconclusive_probe_keeps_the_region_out(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(30)
    breaker.release(breaker.acquire(), "400 from the caller")
    assert breaker.state is CircuitState.OPEN


def test_abandoned_probe_does_not_block_the_region_for_ever(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(30)
    assert breaker.acquire() is Admission.PROBE  # its caller never reports back
    clock.advance(30)
    assert breaker.acquire() is Admission.PROBE


def test_normal_request_finishing_late_does_not_close_an_open_circuit(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1)
    in_flight = breaker.acquire()
    fail(breaker)
    breaker.record_success(in_flight)
    assert breaker.state is CircuitState.OPEN


def test_last_resort_success_closes(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1)
    fail(breaker)
    breaker.record_success(Admission.LAST_RESORT)
    assert breaker.state is CircuitState.CLOSED


def test_unusable_region_is_reprobed_after_the_long_cooldown(clock: ManualClock) -> None:
    changes: list[RegionStateChange] = []
    breaker = make(clock, changes, cooldown_seconds=30, unusable_cooldown_seconds=300)
    breaker.mark_unusable("404 DeploymentNotFound")
    assert breaker.state is CircuitState.UNUSABLE
    clock.advance(299)
    assert breaker.acquire() is Admission.REJECTED
    clock.advance(1)
    assert breaker.acquire() is Admission.PROBE
    breaker.mark_unusable("404 again")
    assert breaker.state is CircuitState.UNUSABLE
    assert changes[0] == RegionStateChange("eastus", CircuitState.CLOSED, CircuitState.UNUSABLE,
                                           "404 DeploymentNotFound")


def test_unusable_is_logged_loudly(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    breaker = make(clock)
    with caplog.at_level("INFO", logger="language_failover"):
        breaker.mark_unusable("401 wrong key")
    assert caplog.records[-1].levelname == "ERROR"
    assert "UNUSABLE" in caplog.records[-1].getMessage()


def test_a_failing_listener_does_not_break_the_breaker(clock: ManualClock) -> None:
    def listener(change: RegionStateChange) -> None:
        raise RuntimeError("metrics backend down")

    breaker = CircuitBreaker("eastus", BreakerPolicy(consecutive_failures=1), clock=clock, listener=listener)
    fail(breaker)
    assert breaker.state is CircuitState.OPEN


def test_listener_may_call_back_into_the_breaker(clock: ManualClock) -> None:
    seen: list[CircuitState] = []
    breaker: CircuitBreaker

    def listener(change: RegionStateChange) -> None:
        seen.append(breaker.state)  # would dead-lock if called under the lock

    breaker = CircuitBreaker("eastus", BreakerPolicy(consecutive_failures=1), clock=clock, listener=listener)
    fail(breaker)
    assert seen == [CircuitState.OPEN]


def test_concurrent_failures_open_exactly_once(clock: ManualClock) -> None:
    changes: list[RegionStateChange] = []
    breaker = make(clock, changes, consecutive_failures=5)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            breaker.record_failure(Admission.NORMAL, "boom")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [c.current for c in changes] == [CircuitState.OPEN]


def test_only_one_of_many_concurrent_callers_gets_the_probe(clock: ManualClock) -> None:
    breaker = make(clock, consecutive_failures=1, cooldown_seconds=30)
    fail(breaker)
    clock.advance(30)
    results: list[Admission] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        admission = breaker.acquire()
        with lock:
            results.append(admission)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(Admission.PROBE) == 1
    assert results.count(Admission.REJECTED) == 7


@pytest.mark.parametrize(
    "policy",
    [{"consecutive_failures": 0}, {"failure_rate": 0}, {"failure_rate": 1.5}, {"minimum_calls": 0},
     {"cooldown_seconds": -1}],
)
def test_policy_rejects_nonsense(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**policy)  # type: ignore[arg-type]

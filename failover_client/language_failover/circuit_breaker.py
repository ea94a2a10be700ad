"""A circuit breaker per region: decides whether a region gets the next request.

States: CLOSED (healthy), OPEN (down: skipped until a cool-down passes), HALF_OPEN (one probe
request is testing the region again) and UNUSABLE (the region answered 401/403/404, so it is
misconfigured or not replicated yet; re-tested after a longer cool-down).

The breaker only counts; what counts as a failure is decided by the caller (see classification).
Transitions are reported to a listener *after* the breaker's lock is released, so a listener may
call back into the client without dead-locking.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_LOGGER = logging.getLogger("language_failover")

Clock = Callable[[], float]
"""Seconds on a monotonic scale (time.monotonic by default); injected in tests."""


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    UNUSABLE = "unusable"


class Admission(enum.StrEnum):
    """How a request may use a region."""

    NORMAL = "normal"
    """The circuit is closed."""
    PROBE = "probe"
    """The circuit is half-open and this request is its single probe."""
    REJECTED = "rejected"
    """The region is down, unusable, or already being probed."""
    LAST_RESORT = "last_resort"
    """Out of rotation, but every region in rotation has failed this request: try it anyway."""


@dataclass(frozen=True)
class BreakerPolicy:
    """When a region is taken out of rotation and when it is tried again.

    A region opens after `consecutive_failures` failures in a row, or when at least
    `minimum_calls` outcomes in the last `window_seconds` include a share of failures of
    `failure_rate` or more. After `cooldown_seconds` one probe request tests it again.
    """

    consecutive_failures: int = 3
    failure_rate: float = 0.5
    window_seconds: float = 60.0
    minimum_calls: int = 10
    cooldown_seconds: float = 30.0
    unusable_cooldown_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.consecutive_failures < 1:
            raise ValueError("consecutive_failures must be at least 1")
        if not 0.0 < self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be in (0, 1]")
        if self.minimum_calls < 1:
            raise ValueError("minimum_calls must be at least 1")
        for name in ("window_seconds", "cooldown_seconds", "unusable_cooldown_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True)
class RegionStateChange:
    """One decision of a region's breaker, as logged and handed to the listener."""

    region: str
    previous: CircuitState
    current: CircuitState
    reason: str


StateChangeListener = Callable[[RegionStateChange], None]


class CircuitBreaker:
    """Thread-safe breaker for one region."""

    def __init__(
        self,
        region: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Clock | None = None,
        listener: StateChangeListener | None = None,
    ) -> None:
        self.region = region
        self.policy = policy or BreakerPolicy()
        self._clock = clock or time.monotonic
        self._listener = listener
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._consecutive_failures = 0
        self._outcomes: deque[tuple[float, bool]] = deque()  # (when, failed) inside the window
        self._retry_at = 0.0  # when an OPEN or UNUSABLE region may be probed
        self._probe_started: float | None = None
        # Outcomes are numbered in the order they were seen; see `observe`.
        self._sequence = 0
        self._last_failure = 0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state

    def seconds_until_probe(self) -> float:
        """0 when the region would take a request (or a probe) now."""
        with self._lock:
            if self._state in (CircuitState.CLOSED, CircuitState.HALF_OPEN):
                return 0.0
            return max(0.0, self._retry_at - self._clock())

    def observe(self) -> int:
        """Number an outcome at the moment it is seen, for `record_success(observed=...)`.

        A success is recorded after its result is read, often on another thread; under load that
        can come after failures seen later (a region that answered and then died). Numbered when
        seen, such a success does not reset the failures counted after it.
        """
        with self._lock:
            return self._next()

    def acquire(self) -> Admission:
        """Whether the next request may go to this region; PROBE reserves the single probe slot."""
        changes: list[RegionStateChange] = []
        with self._lock:
            now = self._clock()
            if self._state is CircuitState.CLOSED:
                admission = Admission.NORMAL
            elif self._state is CircuitState.HALF_OPEN:
                # A probe whose caller vanished must not keep the region out for ever.
                stale = self._probe_started is not None and now - self._probe_started >= max(
                    self.policy.cooldown_seconds, 1.0
                )
                if self._probe_started is None or stale:
                    self._probe_started = now
                    admission = Admission.PROBE
                else:
                    admission = Admission.REJECTED
            elif now >= self._retry_at:
                reason = f"cool-down over after {self._state.value}; probing with one request"
                changes.append(self._move(CircuitState.HALF_OPEN, reason))
                self._probe_started = now
                admission = Admission.PROBE
            else:
                admission = Admission.REJECTED
        self._publish(changes)
        return admission

    def record_success(self, admission: Admission, *, observed: int | None = None) -> None:
        """`observed` is the number `observe` gave when the success was seen (default: now)."""
        changes: list[RegionStateChange] = []
        with self._lock:
            seen = self._next() if observed is None else observed
            if seen > self._last_failure:
                self._consecutive_failures = 0
            self._remember(False)
            if admission is Admission.PROBE and self._state is CircuitState.HALF_OPEN:
                changes.append(self._close("probe succeeded; region back in rotation"))
            elif admission is Admission.LAST_RESORT and self._state is not CircuitState.CLOSED:
                changes.append(self._close("answered a last-resort request; region back in rotation"))
        self._publish(changes)

    def record_failure(self, admission: Admission, reason: str) -> None:
        changes: list[RegionStateChange] = []
        with self._lock:
            self._last_failure = self._next()
            self._consecutive_failures += 1
            self._remember(True)
            if admission is Admission.PROBE and self._state is CircuitState.HALF_OPEN:
                changes.append(self._open(f"probe failed: {reason}"))
            elif self._state is CircuitState.CLOSED:
                trip = self._trip_reason()
                if trip is not None:
                    changes.append(self._open(f"{trip}; last: {reason}"))
        self._publish(changes)

    def release(self, admission: Admission, reason: str) -> None:
        """The request proved nothing about the region (e.g. the caller's own 4xx on a probe).

        A probe that proved nothing keeps the region out for another cool-down rather than
        sending traffic back to a region that has not answered a request successfully.
        """
        changes: list[RegionStateChange] = []
        with self._lock:
            if admission is Admission.PROBE and self._state is CircuitState.HALF_OPEN:
                changes.append(self._open(f"probe inconclusive: {reason}"))
        self._publish(changes)

    def mark_unusable(self, reason: str) -> None:
        changes: list[RegionStateChange] = []
        with self._lock:
            self._consecutive_failures = 0
            self._probe_started = None
            self._retry_at = self._clock() + self.policy.unusable_cooldown_seconds
            if self._state is not CircuitState.UNUSABLE:
                changes.append(self._move(CircuitState.UNUSABLE, reason))
        self._publish(changes)

    # -- internals (called with the lock held) --

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def _remember(self, failed: bool) -> None:
        now = self._clock()
        self._outcomes.append((now, failed))
        horizon = now - self.policy.window_seconds
        while self._outcomes and self._outcomes[0][0] < horizon:
            self._outcomes.popleft()

    def _trip_reason(self) -> str | None:
        policy = self.policy
        if self._consecutive_failures >= policy.consecutive_failures:
            return f"{self._consecutive_failures} consecutive failures"
        calls = len(self._outcomes)
        if calls >= policy.minimum_calls:
            failures = sum(1 for _, failed in self._outcomes if failed)
            if failures / calls >= policy.failure_rate:
                return f"{failures} of the last {calls} calls failed within {policy.window_seconds:g} s"
        return None

    def _close(self, reason: str) -> RegionStateChange:
        self._probe_started = None
        self._outcomes.clear()
        return self._move(CircuitState.CLOSED, reason)

    def _open(self, reason: str) -> RegionStateChange:
        self._probe_started = None
        self._retry_at = self._clock() + self.policy.cooldown_seconds
        return self._move(CircuitState.OPEN, reason)

    def _move(self, state: CircuitState, reason: str) -> RegionStateChange:
        change = RegionStateChange(self.region, self._state, state, reason)
        self._state = state
        if state is CircuitState.CLOSED:
            self._consecutive_failures = 0
        return change

    def _publish(self, changes: list[RegionStateChange]) -> None:
        for change in changes:
            if change.previous is change.current:
                continue
            _log_change(change)
            if self._listener is not None:
                try:
                    self._listener(change)
                except Exception:
                    _LOGGER.exception("region state listener failed for %s", change)


def _log_change(change: RegionStateChange) -> None:
    message = "region %s: %s -> %s (%s)"
    args = (change.region, change.previous.value, change.current.value, change.reason)
    if change.current is CircuitState.UNUSABLE:
        # Loud on purpose: a secondary that rejects us is a configuration or replication gap.
        _LOGGER.error("REGION UNUSABLE " + message, *args)
    elif change.current is CircuitState.OPEN:
        _LOGGER.warning(message, *args)
    else:
        _LOGGER.info(message, *args)

"""An in-process scheduler on an injected clock: the engine's unit tests run whole runs in milliseconds."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.clock import Clock, FakeClock
from shared.runs.scheduler.messages import StepMessage

Handler = Callable[[StepMessage], None]
PoisonHandler = Callable[[StepMessage, str], None]


@dataclass(order=True)
class _Due:
    at: datetime
    sequence: int
    message: StepMessage = field(compare=False)
    dequeue_count: int = field(compare=False, default=0)


class InMemoryScheduler:
    """A priority queue of messages by due time.

    `run_until_idle` delivers them in order, advancing a FakeClock to each due time, and mimics the
    Functions host: a handler that raises gets the message again, up to `max_dequeue_count`, then the
    poison handler is called with the last error.
    """

    def __init__(self, clock: Clock, *, max_dequeue_count: int = 5,
                 retry_delay: timedelta = timedelta(seconds=30)) -> None:
        self.clock = clock
        self.max_dequeue_count = max_dequeue_count
        self.retry_delay = retry_delay
        self._queue: list[_Due] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self.delivered: list[StepMessage] = []
        self.poisoned: list[tuple[StepMessage, str]] = []

    def schedule(self, message: StepMessage, delay: timedelta) -> None:
        with self._lock:
            due = _Due(self.clock.now() + max(delay, timedelta(0)), next(self._sequence), message)
            heapq.heappush(self._queue, due)

    def pending(self) -> list[StepMessage]:
        with self._lock:
            return [due.message for due in sorted(self._queue)]

    def pop_next(self) -> tuple[StepMessage, int] | None:
        """Take the earliest message, moving a FakeClock forward to its due time."""
        with self._lock:
            if not self._queue:
                return None
            due = heapq.heappop(self._queue)
        if isinstance(self.clock, FakeClock) and due.at > self.clock.now():
            self.clock.set(due.at)
        return due.message, due.dequeue_count + 1

    def run_until_idle(self, handler: Handler, poison: PoisonHandler | None = None,
                       *, max_deliveries: int = 10_000) -> int:
        """Deliver messages until none is left; returns how many deliveries were made."""
        deliveries = 0
        while deliveries < max_deliveries:
            taken = self.pop_next()
            if taken is None:
                return deliveries
            message, dequeue_count = taken
            deliveries += 1
            self.delivered.append(message)
            try:
                handler(message)
            except Exception as error:  # the host catches everything a function raises
                if dequeue_count >= self.max_dequeue_count:
                    reason = f"{type(error).__name__}: {error}"
                    self.poisoned.append((message, reason))
                    if poison is not None:
                        poison(message, reason)
                else:
                    with self._lock:
                        heapq.heappush(self._queue, _Due(self.clock.now() + self.retry_delay,
                                                         next(self._sequence), message, dequeue_count))
        raise RuntimeError(f"scheduler still busy after {max_deliveries} deliveries")

"""A per-resource request budget shared by every run and every Functions instance.

The authoring API allows 10 POST and 100 GET per minute per resource. Each request first asks the
budget; the answer is how many seconds to wait (0 = go, and the request is counted). The window is
sliding (the last 60 s), so bursts at a minute boundary cannot double the rate. The budget shared
through blob storage is `shared.storage.request_budget.BlobRequestBudget`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.clock import Clock

WINDOW = timedelta(minutes=1)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestBudget(Protocol):
    def acquire(self, resource_key: str, method: str) -> float:
        """Seconds to wait before trying again; 0 means go (the request has been counted)."""
        ...


@dataclass(frozen=True)
class BudgetLimits:
    reads_per_minute: int = 100
    writes_per_minute: int = 10

    def limit(self, kind: str) -> int:
        return self.reads_per_minute if kind == "read" else self.writes_per_minute


def request_kind(method: str) -> str:
    """GETs count against the read limit; every other method against the (POST) write limit."""
    return "read" if method.upper() in READ_METHODS else "write"


def decide(stamps: list[datetime], now: datetime, limit: int) -> tuple[list[datetime], float]:
    """Drop stamps older than the window; go (append now) if under the limit, else the wait."""
    recent = sorted(stamp for stamp in stamps if now - stamp < WINDOW)
    if len(recent) < limit:
        return [*recent, now], 0.0
    wait = (recent[len(recent) - limit] + WINDOW - now).total_seconds()
    return recent, max(wait, 0.001)


class InMemoryRequestBudget:
    """One process's budget (tests, the CLI with a single runner)."""

    def __init__(self, clock: Clock, limits: BudgetLimits | None = None) -> None:
        self._clock = clock
        self._limits = limits or BudgetLimits()
        self._stamps: dict[tuple[str, str], list[datetime]] = defaultdict(list)
        self._lock = threading.Lock()

    def acquire(self, resource_key: str, method: str) -> float:
        kind = request_kind(method)
        with self._lock:
            stamps, wait = decide(
                self._stamps[(resource_key, kind)], self._clock.now(), self._limits.limit(kind)
            )
            self._stamps[(resource_key, kind)] = stamps
            return wait

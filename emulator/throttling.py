"""Per-resource rate limits as the gateway applies them: a sliding window per bucket.

Authoring writes (POST/PUT/PATCH/DELETE) share the POST budget, authoring reads the GET
budget, the runtime its own. The window is one minute times --time-scale.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta

from emulator.errors import ServiceError


def throttled(retry_after: float, api: str = "authoring") -> ServiceError:
    """The gateway's 429: code "429" (a string), Retry-After in whole seconds, exact ms beside it."""
    seconds = max(1, math.ceil(retry_after))
    text = (
        f"Requests to the Language {api} API have exceeded call rate limit of your current "
        f"pricing tier. Please retry after {seconds} seconds."
    )
    return ServiceError(
        "429",
        text,
        status=429,
        headers={"Retry-After": str(seconds), "retry-after-ms": str(max(1, round(retry_after * 1000)))},
    )


class RateLimiter:
    def __init__(self, limits: dict[str, int], window: timedelta) -> None:
        self._lock = threading.Lock()
        self.limits = dict(limits)
        self.window = window
        self.enabled = True
        self._hits: dict[str, deque[datetime]] = {}

    def configure(
        self,
        *,
        limits: dict[str, int] | None = None,
        window: timedelta | None = None,
        enabled: bool | None = None,
    ) -> None:
        with self._lock:
            if limits:
                self.limits.update(limits)
            if window is not None:
                self.window = window
            if enabled is not None:
                self.enabled = enabled
            self._hits.clear()

    def check(self, bucket: str, now: datetime) -> None:
        """Count one call in `bucket`, or raise the 429 when the window is full (a limit of 0: no limit)."""
        with self._lock:
            limit = self.limits.get(bucket, 0)
            if not self.enabled or limit <= 0:
                return
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                retry_after = (hits[0] + self.window - now).total_seconds()
                raise throttled(retry_after, "runtime" if bucket == "runtime" else "authoring")
            hits.append(now)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

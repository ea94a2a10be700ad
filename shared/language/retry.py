"""Retries for calls to the Language service, with a rule stricter than azure-core's.

- A safe request (GET/HEAD) is retried on connection errors, timeouts, 408, 429 and 5xx.
- A request that may start a billed job (POST/PUT/PATCH/DELETE) is retried only on 429 or when it
  never left the machine (connection refused, DNS failure, connect timeout). After a 5xx or a failure
  once the request was sent, the service may have accepted it: `SubmissionOutcomeUnknown` tells the
  caller to reconcile (look for the job) instead of submitting a second one.
- Sleeps inside one call are capped (`max_sleep`); a longer wait, or running out of attempts on a
  retryable condition, raises `RetryLater(delay)` so the engine hands the work back to its scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from shared.errors import ReplicatorError

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUS_SAFE = frozenset({408, 429, 500, 502, 503, 504})


class RetryLater(ReplicatorError):
    """Not done, and waiting for it here would take too long: try again after `delay` seconds."""

    code = "RetryLater"

    def __init__(self, delay: float, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"retry in {delay:.1f} s: {reason}")
        self.delay = delay
        self.reason = reason
        self.status = status


class SubmissionOutcomeUnknown(ReplicatorError):
    """A request that may start a billed job failed after it was sent; it may have been accepted."""

    code = "SubmissionOutcomeUnknown"

    def __init__(self, method: str, url: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{method} {_without_query(url)} may or may not have been accepted: {reason}")
        self.method = method
        self.url = url
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 4.0
    max_sleep: float = 5.0
    jitter: float = 0.2  # +/- fraction of each backoff delay; 0 for exact delays in tests
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    seed: int | None = None

    def backoff_delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number `attempt` (1-based) when the service named none."""
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        if self.jitter:
            base *= 1 + self.jitter * (2 * rng.random() - 1)
        return float(max(0.0, base))

    def effective(self) -> RetryPolicy:
        """This policy with any `testing(...)` override applied."""
        override = _testing_override
        if override is None:
            return self
        return replace(self, **override)  # type: ignore[arg-type]

    def send(
        self,
        method: str,
        url: str,
        attempt: Callable[[], requests.Response],
        *,
        before_retry: Callable[[], None] | None = None,
    ) -> requests.Response:
        """Call `attempt` until it gives a response to keep, following the rules above.

        Returns the final response, which may still be an error the caller turns into an exception
        (e.g. 400, 404, or a 408 on a POST). `before_retry` rewinds a streamed body.
        """
        policy = self.effective()
        method = method.upper()
        safe = method in SAFE_METHODS
        rng = random.Random(policy.seed)
        tries = 0
        while True:
            tries += 1
            try:
                response = attempt()
            except requests.RequestException as error:
                left_machine = request_left_machine(error)
                reason = describe_exception(error)
                if not safe and left_machine:
                    raise SubmissionOutcomeUnknown(method, url, reason) from error
                delay = policy.backoff_delay(tries, rng)
            else:
                status = response.status_code
                if status == 429 or (safe and status in RETRYABLE_STATUS_SAFE):
                    delay = retry_after_seconds(response.headers) or policy.backoff_delay(tries, rng)
                    reason = f"HTTP {status}"
                elif not safe and status >= 500:
                    response.close()
                    raise SubmissionOutcomeUnknown(method, url, f"HTTP {status}", status=status)
                else:
                    return response
                response.close()
                if delay > policy.max_sleep:
                    raise RetryLater(delay, f"{method} {_without_query(url)}: {reason}", status=status)
                if tries >= policy.attempts:
                    raise RetryLater(
                        max(delay, policy.backoff),
                        f"{method} {_without_query(url)}: {reason} after {tries} attempts",
                        status=status,
                    )
                _log_retry(method, url, reason, delay, tries, policy.attempts)
                policy.sleep(delay)
                if before_retry is not None:
                    before_retry()
                continue
            if tries >= policy.attempts:
                raise RetryLater(
                    max(delay, policy.backoff),
                    f"{method} {_without_query(url)}: {reason} after {tries} attempts",
                )
            _log_retry(method, url, reason, min(delay, policy.max_sleep), tries, policy.attempts)
            policy.sleep(min(delay, policy.max_sleep))
            if before_retry is not None:
                before_retry()


def _log_retry(method: str, url: str, reason: str, delay: float, tries: int, attempts: int) -> None:
    log.warning(
        "retrying %s %s in %.2f s after %s (attempt %d of %d)",
        method, _without_query(url), delay, reason, tries + 1, attempts,
    )  # fmt: skip


DEFAULT_POLICY = RetryPolicy()

_testing_override: dict[str, object] | None = None
_testing_lock = threading.Lock()


@contextlib.contextmanager
def testing(
    *,
    attempts: int | None = None,
    sleep: Callable[[float], None] | None = None,
    max_sleep: float | None = None,
    jitter: float = 0.0,
) -> Iterator[None]:
    """Within the block every `RetryPolicy` uses these values (no jitter by default).

    For tests: e.g. `with retry.testing(attempts=3, sleep=clock.sleep):` records waits instead of
    sleeping. Process-wide, so it also reaches policies used by threads the test starts.
    """
    global _testing_override
    override: dict[str, object] = {"jitter": jitter}
    if attempts is not None:
        override["attempts"] = attempts
    if sleep is not None:
        override["sleep"] = sleep
    if max_sleep is not None:
        override["max_sleep"] = max_sleep
    with _testing_lock:
        previous = _testing_override
        _testing_override = override
    try:
        yield
    finally:
        with _testing_lock:
            _testing_override = previous


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait the service asks for: `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = lowered.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def request_left_machine(error: BaseException) -> bool:
    """False only when the error proves nothing was sent (refused, DNS, connect timeout)."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return False
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _never_sent(current):
            return False
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                stack.append(linked)
    return True


def _never_sent(error: BaseException) -> bool:
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    # NameResolutionError (urllib3 2) subclasses NewConnectionError.
    return isinstance(
        error, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError | socket.gaierror
    )


def describe_exception(error: BaseException) -> str:
    """A short reason without URLs' query strings (they may carry SAS tokens)."""
    if isinstance(error, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(error, requests.ReadTimeout):
        return "read timeout"
    if isinstance(error, requests.ConnectionError):
        return "connection refused or unreachable" if not request_left_machine(error) else "connection lost"
    return type(error).__name__


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]

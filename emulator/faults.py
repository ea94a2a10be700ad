"""Injected faults: outages, error bursts, latency, forced 429s and failing jobs.

Rules match requests by method and a regular expression searched in the path, and can be
limited to a number of hits. Outages that refuse or reset connections act on sockets, so
the server (emulator/server.py) asks this object before it hands a request to the app.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import ServiceError

OUTAGE_MODES = ("refuse", "reset", "503")
JOB_KINDS = (
    "import",
    "export",
    "train",
    "deploy",
    "delete-deployment",
    "swap",
    "delete-project",
    "load-snapshot",
    "runtime",
    "any",
)


# What the real service answers when a first deployment's prerequisite is missing, one per check of
# `python -m shared doctor`, so each check can be seen failing against the emulator. Each becomes an
# ordinary error burst (method, path pattern, status, code, message); control paths are never matched.
REFUSALS: dict[str, dict[str, Any]] = {
    # A regional endpoint (not a custom subdomain) refuses bearer tokens with this 401.
    "subdomain": {"method": "*", "path": "/language/", "status": 401, "code": "401",
                  "message": "Please provide a custom subdomain for token authentication, otherwise API key "
                             "is required."},
    # A wrong key (or a token for another tenant): the gateway's 401.
    "auth": {"method": "*", "path": "/language/", "status": 401, "code": "401",
             "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                        "provide a valid key for an active subscription and use a correct regional API "
                        "endpoint for your resource."},
    "api-version": {"method": "*", "path": "/language/", "status": 400, "code": "InvalidRequest",
                    "message": "The requested api-version is not supported for this operation."},
    # The project list itself failing (the service's own trouble), with nothing else refused.
    "projects": {"method": "GET", "path": "/analyze-text/projects$", "status": 500,
                 "code": "InternalServerError",
                 "message": "Injected fault: the project list is not readable."},
    # A resource in a region without authoring for custom projects [inferred: the exact answer is not
    # documented; the doctor treats any refusal of the training-config list as this].
    "region": {"method": "GET", "path": "/projects/global/training-config-versions", "status": 400,
               "code": "OperationNotSupported",
               "message": "Authoring of custom projects is not available in this region."},
}


@dataclass
class RequestRule:
    method: str
    path: re.Pattern[str]
    remaining: int | None  # None: until cleared
    status: int | None = None  # for error bursts
    code: str | None = None
    message: str | None = None
    action: str = "respond"  # respond | reset-before | reset-after
    seconds: float = 0.0  # latency, or Retry-After for forced 429s

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and bool(self.path.search(path))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path.pattern,
            "remaining": self.remaining,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "action": self.action,
            "seconds": self.seconds,
        }


@dataclass
class JobFailure:
    kind: str
    remaining: int
    code: str
    message: str


def _rule(body: dict[str, Any], **extra: Any) -> RequestRule:
    method = str(body.get("method", "*")).upper()
    try:
        pattern = re.compile(str(body.get("path", ".*")))
    except re.error as exc:
        raise ServiceError("InvalidArgument", f"path is not a valid regular expression: {exc}") from exc
    count = body.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ServiceError("InvalidArgument", "count must be a positive integer (omit it for no limit).")
    return RequestRule(method=method, path=pattern, remaining=count, **extra)


class FaultState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outage: str | None = None
        self._outage_until: float | None = None
        self._bursts: list[RequestRule] = []
        self._latency: list[RequestRule] = []
        self._throttles: list[RequestRule] = []
        self._job_failures: list[JobFailure] = []
        self._outage_listeners: list[Callable[[str | None], None]] = []

    # -- outages -------------------------------------------------------------------------------
    def on_outage_change(self, listener: Callable[[str | None], None]) -> None:
        self._outage_listeners.append(listener)

    def set_outage(self, mode: str | None, seconds: float | None = None) -> None:
        if mode is not None and mode not in OUTAGE_MODES:
            raise ServiceError("InvalidArgument", f"mode must be one of {list(OUTAGE_MODES)}.")
        with self._lock:
            self._outage = mode
            self._outage_until = time.monotonic() + seconds if mode and seconds else None
        for listener in self._outage_listeners:
            listener(mode)
        if mode and seconds:
            # Ends by itself, so an outage of the only port can be set without a control port.
            timer = threading.Timer(seconds, self._expire_outage)
            timer.daemon = True
            timer.start()

    def _expire_outage(self) -> None:
        with self._lock:
            expired = self._outage_until is not None and time.monotonic() >= self._outage_until - 0.01
        if expired:
            self.set_outage(None)

    def outage(self) -> str | None:
        with self._lock:
            return self._outage

    # -- request rules -------------------------------------------------------------------------
    def add_error_burst(self, body: dict[str, Any]) -> RequestRule:
        action = str(body.get("action", "respond"))
        if action not in ("respond", "reset-before", "reset-after"):
            raise ServiceError("InvalidArgument", "action must be respond, reset-before or reset-after.")
        status = body.get("status", 500)
        if action == "respond" and (not isinstance(status, int) or not 400 <= status <= 599):
            raise ServiceError("InvalidArgument", "status must be an HTTP error status (400-599).")
        default_code = {429: "429", 500: "InternalServerError", 503: "ServiceUnavailable", 504: "Timeout"}
        rule = _rule(
            body,
            status=status,
            action=action,
            code=str(body.get("code") or default_code.get(status, str(status))),
            message=str(body.get("message") or "Injected fault."),
        )
        with self._lock:
            self._bursts.append(rule)
        return rule

    def add_refusal(self, body: dict[str, Any]) -> RequestRule:
        """Refuse what one doctor check needs, the way the real service refuses it (see REFUSALS)."""
        check = body.get("check")
        if check not in REFUSALS:
            raise ServiceError("InvalidArgument", f"check must be one of {sorted(REFUSALS)}.")
        return self.add_error_burst({**REFUSALS[str(check)], "count": body.get("count")})

    def add_latency(self, body: dict[str, Any]) -> RequestRule:
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ServiceError("InvalidArgument", "seconds must be a non-negative number.")
        rule = _rule(body, seconds=float(seconds))
        with self._lock:
            self._latency.append(rule)
        return rule

    def add_forced_throttle(self, body: dict[str, Any]) -> RequestRule:
        seconds = body.get("retryAfterSeconds", 1)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ServiceError("InvalidArgument", "retryAfterSeconds must be a non-negative number.")
        rule = _rule(body, seconds=float(seconds), status=429)
        with self._lock:
            self._throttles.append(rule)
        return rule

    def _take(
        self,
        rules: list[RequestRule],
        method: str,
        path: str,
        wanted: Callable[[RequestRule], bool] = lambda rule: True,
    ) -> RequestRule | None:
        """The first matching rule, counting the hit and dropping the rule once it is used up."""
        with self._lock:
            for rule in rules:
                if wanted(rule) and rule.matches(method, path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            rules.remove(rule)
                    return rule
        return None

    def take_connection_fault(self, method: str, path: str) -> str | None:
        """'reset-before' / 'reset-after' when this request's connection must be reset."""
        if self.outage() in ("refuse", "reset"):
            return "reset-before"
        rule = self._take(self._bursts, method, path, lambda r: r.action != "respond")
        return rule.action if rule else None

    def take_error(self, method: str, path: str) -> RequestRule | None:
        return self._take(self._bursts, method, path, lambda r: r.action == "respond")

    def latency(self, method: str, path: str) -> float:
        rule = self._take(self._latency, method, path)
        return rule.seconds if rule else 0.0

    def take_forced_throttle(self, method: str, path: str) -> RequestRule | None:
        return self._take(self._throttles, method, path)

    # -- jobs ----------------------------------------------------------------------------------
    def add_job_failure(self, body: dict[str, Any]) -> JobFailure:
        kind = str(body.get("kind", "any"))
        if kind not in JOB_KINDS:
            raise ServiceError("InvalidArgument", f"kind must be one of {list(JOB_KINDS)}.")
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ServiceError("InvalidArgument", "count must be a positive integer.")
        failure = JobFailure(
            kind,
            count,
            str(body.get("code", "Unspecified")),
            str(body.get("message", "Something happened. Please retry after some time.")),
        )
        with self._lock:
            self._job_failures.append(failure)
        return failure

    def take_job_failure(self, kind: str) -> dict[str, Any] | None:
        """The error the next job of this kind fails with, if one was injected."""
        with self._lock:
            for failure in self._job_failures:
                if failure.kind in (kind, "any"):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._job_failures.remove(failure)
                    return {"code": failure.code, "message": failure.message}
        return None

    # -- inspection and reset ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "outage": self._outage,
                "errorBursts": [r.to_json() for r in self._bursts],
                "latency": [r.to_json() for r in self._latency],
                "throttles": [r.to_json() for r in self._throttles],
                "jobFailures": [vars(f).copy() for f in self._job_failures],
            }

    def clear(self) -> None:
        with self._lock:
            self._bursts.clear()
            self._latency.clear()
            self._throttles.clear()
            self._job_failures.clear()
        if self.outage() is not None:
            self.set_outage(None)

"""Which errors are the region's fault and which are the caller's.

* REGION_FAILURE: the region could not answer (connection errors, timeouts, 5xx, 429 left after
  the region's retry budget, jobs lost or failed with a server-side error). Counted by the
  breaker; the request is retried on the next region.
* REGION_UNUSABLE: 401/403/404 from a secondary (misconfigured or not replicated yet).
* CALLER_ERROR: the request itself is wrong (400, or 401/403/404 from the primary). Surfaced to
  the caller as the SDK raised it, neither counted nor retried elsewhere.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.polling.base_polling import BadResponse, BadStatus, OperationFailed


class Verdict(enum.StrEnum):
    REGION_FAILURE = "region_failure"
    REGION_UNUSABLE = "region_unusable"
    CALLER_ERROR = "caller_error"


class Phase(enum.StrEnum):
    SUBMIT = "submit"
    """POST of the job, or the whole of a synchronous request (analyze-conversations)."""
    POLL = "poll"
    """Polling the accepted job and reading its result pages."""


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    reason: str


# Job error codes that say the service, not the request, is at fault (reference §4.1, §4.2):
# "Unspecified" is the "please retry after some time" failure seen in the wild.
SERVER_SIDE_JOB_CODES = frozenset(
    {"internalservererror", "serviceunavailable", "timeout", "toomanyrequests", "unspecified",
     "500", "502", "503", "504", "429"}
)
NOT_FOUND_JOB_CODES = frozenset({"notfound", "projectnotfound", "deploymentnotfound", "modelnotfound"})
UNUSABLE_STATUSES = frozenset({401, 403, 404})


def classify(error: BaseException, *, phase: Phase, is_primary: bool) -> Classification:
    """Decide what an exception raised by the SDK for one region means for failover."""
    reason = describe(error)
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return Classification(Verdict.REGION_FAILURE, reason)  # connection refused/reset, timeouts
    if isinstance(error, ClientAuthenticationError) and error.status_code is None:
        # The credential could not produce a token: as good as a 401 from the region.
        verdict = Verdict.REGION_UNUSABLE if not is_primary else Verdict.CALLER_ERROR
        return Classification(verdict, reason)
    if isinstance(error, HttpResponseError):
        status = error.status_code
        if status == 200 or status is None:
            # The job itself ended `failed`: the SDK raises with the final 200 status response.
            return _classify_failed_job(error, reason, is_primary=is_primary)
        if status in (408, 429) or status >= 500:
            return Classification(Verdict.REGION_FAILURE, reason)
        if phase is Phase.POLL and status == 404:
            return Classification(Verdict.REGION_FAILURE, f"job lost by the region: {reason}")
        if status in UNUSABLE_STATUSES and not is_primary:
            return Classification(Verdict.REGION_UNUSABLE, reason)
        return Classification(Verdict.CALLER_ERROR, reason)
    if isinstance(error, (BadStatus, BadResponse, OperationFailed)):
        return Classification(Verdict.REGION_FAILURE, reason)
    if isinstance(error, AzureError):
        # Other transport-level AzureErrors (e.g. "Maximum retries exceeded", decode errors).
        return Classification(Verdict.REGION_FAILURE, reason)
    return Classification(Verdict.CALLER_ERROR, reason)


def _classify_failed_job(error: HttpResponseError, reason: str, *, is_primary: bool) -> Classification:
    codes, messages = _job_errors(error)
    if not codes or codes & SERVER_SIDE_JOB_CODES:
        return Classification(Verdict.REGION_FAILURE, f"job failed: {reason}")
    # Some deployments report a missing deployment as a failed task ("InvalidRequest ... not found").
    missing = bool(codes & NOT_FOUND_JOB_CODES) or any("not found" in message for message in messages)
    if missing and not is_primary:
        return Classification(Verdict.REGION_UNUSABLE, f"job failed: {reason}")
    return Classification(Verdict.CALLER_ERROR, f"job failed: {reason}")


def _job_errors(error: HttpResponseError) -> tuple[set[str], list[str]]:
    """The lower-cased error codes (with inner codes) and messages of a failed job's body."""
    response = error.response
    if response is None:
        return set(), []
    try:
        body = json.loads(response.text())
    except (ValueError, TypeError):
        return set(), []
    codes: set[str] = set()
    messages: list[str] = []
    if isinstance(body, dict):
        for item in body.get("errors") or []:
            if not isinstance(item, dict):
                continue
            if item.get("code") is not None:
                codes.add(str(item["code"]).lower())
            messages.append(str(item.get("message") or "").lower())
            inner = item.get("innererror")
            if isinstance(inner, dict) and inner.get("code") is not None:
                codes.add(str(inner["code"]).lower())
    return codes, messages


def describe(error: BaseException) -> str:
    """One line naming the error, for logs and aggregated errors."""
    status = getattr(error, "status_code", None)
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    head = type(error).__name__ + (f" {status}" if status else "")
    return f"{head}: {message}"[:300] if message else head

"""JSON in and out for the HTTP functions, and the one place errors become status codes.

A caller's mistake is always a 4xx with a JSON error body, never a 500; an unusable configuration is
a 503 naming the setting; anything unexpected is a 500 whose body says where to look and leaks
nothing (the details go to the function log only).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func

from shared.errors import (
    BudgetExhausted,
    ConcurrentUpdate,
    ConfigurationError,
    InvalidRequest,
    ReplicatorError,
    RequestTooLarge,
    RunConflict,
    UnknownProject,
    UnknownRun,
)
from shared.functions.engine_provider import EngineUnavailable
from shared.redaction import redact

logger = logging.getLogger(__name__)

JSON_MIMETYPE = "application/json"

# Most specific first: the first isinstance match wins.
STATUS_BY_ERROR: tuple[tuple[type[ReplicatorError], int], ...] = (
    (RequestTooLarge, 413),
    (InvalidRequest, 400),
    (UnknownProject, 404),
    (UnknownRun, 404),
    (RunConflict, 409),
    (ConcurrentUpdate, 409),
    (BudgetExhausted, 429),
)
# Errors of modules loaded on first use (the snapshot store), matched by code so that this module, which
# the host loads at index time, need not import them. A corrupt snapshot exists but must not be used:
# neither the caller's syntax nor a dependency outage.
STATUS_BY_CODE = {"SnapshotNotFound": 404, "SnapshotCorrupt": 422}
# A product error nobody mapped comes from a dependency (Language service, storage): not the caller's.
UNMAPPED_ERROR_STATUS = 502
# Our largest body (a restore request) is well under a kilobyte; a megabyte is only ever a mistake or abuse.
MAX_BODY_BYTES = 64 * 1024

# shared.language.retry.RetryLater's code, matched by code: this module need not import the HTTP stack.
RETRY_LATER = "RetryLater"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    text = json.dumps(body, ensure_ascii=False, sort_keys=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate a caller sent, echoed back: escape it, JSON allows that
        text = json.dumps(body, ensure_ascii=True, sort_keys=False)
    return func.HttpResponse(
        text,
        status_code=status,
        headers=dict(headers or {}),
        mimetype=JSON_MIMETYPE,
        charset="utf-8",
    )


def error_response(status: int, code: str, message: str, **extra: Any) -> func.HttpResponse:
    # A message can relay a service's words or a caller's value: nothing shaped like a secret goes out.
    return json_response({"error": {"code": code, "message": redact(message), **extra}}, status)


def read_json_object(req: func.HttpRequest, fields: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a JSON object with only `fields`; an empty body is an empty object (every
    field is optional). Too deep, too large or unknown: a 4xx, never a 500."""
    raw = req.get_body()
    if len(raw) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"the request body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
    if not raw or not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise InvalidRequest("the request body is nested too deeply") from None
    except ValueError as error:  # not UTF-8, not JSON, or a number too long to convert
        raise InvalidRequest(f"the request body is not valid JSON ({type(error).__name__})") from None
    if not isinstance(body, dict):
        raise InvalidRequest(f"the request body must be a JSON object, not {type(body).__name__}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        names = redact(json.dumps(unknown[:5], ensure_ascii=True))[:200]
        raise InvalidRequest(f"unknown field(s) {names}; the body accepts {list(fields)}")
    return body


def refuse_body(req: func.HttpRequest) -> None:
    """For an action that reads no body: a body means the caller expects something we would not do."""
    if req.get_body().strip():
        raise InvalidRequest("this endpoint takes no request body; its parameters are in the URL")


def response_for_error(error: Exception) -> func.HttpResponse:
    if isinstance(error, EngineUnavailable):
        return error_response(503, "ConfigurationError", str(error))
    if isinstance(error, ConfigurationError):
        return error_response(503, error.code, error.message)
    dependency = _dependency_failure(error)
    if dependency is not None:
        return dependency
    if isinstance(error, ReplicatorError) and error.code == RETRY_LATER:
        # RetryLater: throttled, or the request budget is spent. An HTTP answer cannot wait.
        return retry_later_response(float(getattr(error, "delay", 1.0)), error.message)
    if isinstance(error, ReplicatorError):
        extra: dict[str, Any] = {}
        if isinstance(error, RunConflict) and error.active_run_id is not None:
            extra["activeRunId"] = error.active_run_id
        status = next(
            (status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)),
            STATUS_BY_CODE.get(error.code, UNMAPPED_ERROR_STATUS),
        )
        return error_response(status, error.code, error.message, **extra)
    logger.exception("unexpected error in an HTTP function")
    return error_response(500, "InternalError", "unexpected error; the function log has the details")


def retry_later_response(delay: float, message: str, **extra: Any) -> func.HttpResponse:
    """503 with Retry-After: the Language service throttled us or our request budget is spent."""
    body = {"error": {"code": RETRY_LATER, "message": redact(message)}, **extra}
    return json_response(body, 503, {"Retry-After": str(max(1, math.ceil(delay)))})


def _dependency_failure(error: Exception) -> func.HttpResponse | None:
    """Storage or the network failed under the engine: not the caller's doing, and retryable.

    Only the exception's kind is shown; its message can carry URLs and request details.
    """
    # Imported here, not at index time: azure.core is only loaded once the engine is.
    from azure.core.exceptions import AzureError, ServiceRequestError

    if isinstance(error, ServiceRequestError):
        logger.warning("a dependency could not be reached: %s", error)
        return error_response(
            503, "DependencyUnavailable", f"storage could not be reached ({type(error).__name__})"
        )
    if isinstance(error, AzureError):
        logger.warning("a dependency failed: %s", error)
        return error_response(502, "DependencyFailed", f"a storage request failed ({type(error).__name__})")
    return None


def answer(action: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """Run a handler's body and turn whatever it raises into the JSON error the caller should see."""
    try:
        return action()
    except Exception as error:  # the mapping above decides; nothing reaches the host raw
        return response_for_error(error)

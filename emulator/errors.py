"""Error bodies in the service's shape (reference §4.2) and the status code each code maps to."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

# The spec declares only a `default` error response; this mapping is inferred
# (docs/reference/emulator-fidelity.md).
STATUS_BY_CODE: dict[str, int] = {
    "InvalidRequest": 400,
    "InvalidArgument": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "ProjectNotFound": 404,
    "OperationNotFound": 404,
    "Conflict": 409,
    "TooManyRequests": 429,
    "QuotaExceeded": 403,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


class ServiceError(Exception):
    """Raised anywhere in a request; rendered as the service's error body."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        inner_code: str | None = None,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 400)
        self.inner_code = inner_code
        self.target = target
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": error_object(self.code, self.message, self.inner_code, self.target, self.details)}

    def response(self) -> Response:
        response = jsonify(self.body())
        response.status_code = self.status
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


def error_object(
    code: str,
    message: str,
    inner_code: str | None = None,
    target: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `Error` object: used at the top level and inside job `errors` and per-document errors."""
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    if details:
        error["details"] = details
    if inner_code is not None:
        error["innererror"] = {"code": inner_code, "message": message}
    return error

"""Which errors fail a request over, mark a region unusable, or belong to the caller."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from language_failover import Phase, Verdict
from language_failover.classification import classify


class StubResponse:
    """The few attributes azure-core's HttpResponseError reads from a response."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.reason = "Reason"
        self.headers: dict[str, str] = {}
        self._body = json.dumps(body) if body is not None else ""
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._body


def http_error(
    status: int, body: Any = None, cls: type[HttpResponseError] = HttpResponseError
) -> HttpResponseError:
    return cls(response=StubResponse(status, body))  # type: ignore[arg-type]


def failed_job(*codes: str, message: str = "m") -> HttpResponseError:
    body = {"status": "failed", "errors": [{"code": code, "message": message} for code in codes]}
    return http_error(200, body)


@pytest.mark.parametrize(
    "error",
    [
        ServiceRequestError("connection refused"),
        ServiceResponseError("read timed out"),
        http_error(500),
        http_error(502),
        http_error(503),
        http_error(504),
        http_error(429),
        http_error(408),
    ],
    ids=lambda e: type(e).__name__ + str(getattr(e, "status_code", "")),
)
@pytest.mark.parametrize("is_primary", [True, False])
@pytest.mark.parametrize("phase", list(Phase))
def test_outage_signals_are_region_failures(error: Exception, is_primary: bool, phase: Phase) -> None:
    assert classify(error, phase=phase, is_primary=is_primary).verdict is Verdict.REGION_FAILURE


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_not_found_from_a_secondary_make_it_unusable(status: int) -> None:
    verdict = classify(http_error(status), phase=Phase.SUBMIT, is_primary=False).verdict
    assert verdict is Verdict.REGION_UNUSABLE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_4xx_from_the_primary_belongs_to_the_caller(status: int) -> None:
    assert classify(http_error(status), phase=Phase.SUBMIT, is_primary=True).verdict is Verdict.CALLER_ERROR


def test_400_from_a_secondary_belongs_to_the_caller() -> None:
    assert classify(http_error(400), phase=Phase.SUBMIT, is_primary=False).verdict is Verdict.CALLER_ERROR


def test_sdk_specific_subclasses_are_classified_by_status() -> None:
    assert classify(http_error(401, cls=ClientAuthenticationError), phase=Phase.SUBMIT,
                    is_primary=False).verdict is Verdict.REGION_UNUSABLE
    assert classify(http_error(404, cls=ResourceNotFoundError), phase=Phase.SUBMIT,
                    is_primary=True).verdict is Verdict.CALLER_ERROR


def test_credential_failure_without_a_response_is_treated_like_a_401() -> None:
    error = ClientAuthenticationError("no token")
    assert classify(error, phase=Phase.SUBMIT, is_primary=False).verdict is Verdict.REGION_UNUSABLE
    assert classify(error, phase=Phase.SUBMIT, is_primary=True).verdict is Verdict.CALLER_ERROR


def test_a_job_the_region_lost_while_polling_is_a_region_failure() -> None:
    error = http_error(404, cls=ResourceNotFoundError)
    assert classify(error, phase=Phase.POLL, is_primary=True).verdict is Verdict.REGION_FAILURE


@pytest.mark.parametrize(
    "code", ["InternalServerError", "ServiceUnavailable", "Timeout", "Unspecified", "503"]
)
def test_jobs_failed_by_the_service_are_region_failures(code: str) -> None:
    classification = classify(failed_job(code), phase=Phase.POLL, is_primary=True)
    assert classification.verdict is Verdict.REGION_FAILURE
    assert classification.reason.startswith("job failed")


def test_job_failed_without_error_codes_is_a_region_failure() -> None:
    assert classify(http_error(200, {"status": "failed"}), phase=Phase.POLL,
                    is_primary=True).verdict is Verdict.REGION_FAILURE


def verdict_of_failed_job(code: str, *, is_primary: bool) -> Verdict:
    return classify(failed_job(code), phase=Phase.POLL, is_primary=is_primary).verdict


def test_jobs_failed_for_the_callers_input_belong_to_the_caller() -> None:
    assert verdict_of_failed_job("InvalidArgument", is_primary=False) is Verdict.CALLER_ERROR


def test_job_failed_for_a_missing_deployment() -> None:
    assert verdict_of_failed_job("NotFound", is_primary=False) is Verdict.REGION_UNUSABLE
    assert verdict_of_failed_job("ProjectNotFound", is_primary=True) is Verdict.CALLER_ERROR


def test_programming_errors_are_the_callers() -> None:
    assert classify(TypeError("documents must be a list"), phase=Phase.SUBMIT,
                    is_primary=False).verdict is Verdict.CALLER_ERROR


def test_job_failed_because_the_deployment_is_missing_in_a_secondary() -> None:
    error = failed_job("InvalidRequest", message="The deployment 'prod' of project 'P' was not found.")
    assert classify(error, phase=Phase.POLL, is_primary=False).verdict is Verdict.REGION_UNUSABLE
    assert classify(error, phase=Phase.POLL, is_primary=True).verdict is Verdict.CALLER_ERROR

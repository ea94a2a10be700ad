"""A caller's mistake is a 4xx with a JSON error, decided before any engine work; never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from shared.errors import InvalidRequest, ReplicatorError, RunConflict, UnknownProject, UnknownRun
from shared.functions import http_api, snapshots_api
from shared.functions.engine_provider import EngineProvider
from shared.functions.health import handle_health, handle_health_details
from shared.functions.json_http import MAX_BODY_BYTES
from shared.settings import SettingsError
from shared.storage.snapshots import SnapshotCorrupt, SnapshotNotFound
from tests.shared.functions.host import http_request, json_body
from tests.shared.functions.providers import unreachable_engine, unusable_settings

HANDLERS = {
    "start": http_api.handle_start_replications,
    "list": http_api.handle_list_replications,
    "get": http_api.handle_get_replication,
    "redrive": http_api.handle_redrive_step,
    "cancel": http_api.handle_cancel_replication,
    "drift": http_api.handle_drift,
}


def assert_error(response: Any, status: int, code: str, *message_parts: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    body: dict[str, Any] = json_body(response)
    assert body["error"]["code"] == code
    for part in message_parts:
        assert part in body["error"]["message"]
    assert "function-key-secret" not in response.get_body().decode()
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'"projects"', "must be a JSON object"),
        ({"projects": "LoanAgreements"}, "non-empty list"),
        ({"projects": []}, "non-empty list"),
        ({"projects": ["ok", "not ok!"]}, "invalid project name"),
        ({"projects": [7]}, "invalid project name"),
        ({"projects": ["x" * 101]}, "invalid project name"),
        ({"force": "yes"}, "force must be true or false"),
        ({"dryRun": 1}, "dryRun must be true or false"),
        ({"dry_run": True}, 'unknown field(s) ["dry_run"]'),
        ({"projects": [".."]}, "invalid project name"),
        (b"[" * 20_000, "nested too deeply"),
        (b'{"projects": ["\\ud800"], "\\udfff": 1}', "unknown field(s)"),
    ],
)
def test_a_bad_start_body_is_a_400_naming_the_problem(body: Any, message: str) -> None:
    request = http_request("POST", "replications", body=body)
    response = http_api.handle_start_replications(request, unreachable_engine())
    assert_error(response, 400, "InvalidRequest", message)


@pytest.mark.parametrize(
    ("handler", "path", "route_params", "params", "message"),
    [
        ("list", "replications/bad%20name", {"project": "bad name"}, {}, "invalid project"),
        ("list", "replications/P", {"project": "P"}, {"limit": "0"}, "limit"),
        ("list", "replications/P", {"project": "P"}, {"limit": "ten"}, "limit"),
        ("list", "replications/P", {"project": "P"}, {"limit": "101"}, "limit"),
        ("list", "replications/P", {"project": "P"}, {"target": "a/b"}, "invalid target"),
        ("get", "replications/P/r%20r", {"project": "P", "runId": "r r"}, {}, "invalid runId"),
        ("get", "replications/%C3%A9/r", {"project": "é", "runId": "r"}, {}, "invalid project"),
        ("redrive", "replications/P/r/steps/a%2Fb", {"project": "P", "runId": "r", "step": "a b"},
         {}, "invalid step"),
        ("cancel", "replications/P/%20/cancel", {"project": "P", "runId": " "}, {},
         "invalid runId"),
        ("drift", "drift", {}, {"format": "xml"}, "format must be"),
        # str.isdigit() accepted these, then int() raised or read a number nobody typed.
        ("list", "replications/P", {"project": "P"}, {"limit": "²"}, "limit"),
        ("list", "replications/P", {"project": "P"}, {"limit": "١٠"}, "limit"),
        ("list", "replications/P", {"project": "P"}, {"limit": "9" * 5000}, "limit"),
        ("list", "replications/..", {"project": ".."}, {}, "invalid project"),
        ("list", "replications/P", {"project": "P"}, {"target": "..."}, "invalid target"),
        ("get", "replications/P/..", {"project": "P", "runId": ".."}, {}, "invalid runId"),
        ("redrive", "replications/P/r/steps/.", {"project": "P", "runId": "r", "step": "."}, {},
         "invalid step"),
    ],
)
def test_a_bad_name_or_query_is_a_400_before_any_engine_work(
    handler: str, path: str, route_params: dict[str, str], params: dict[str, str], message: str
) -> None:
    method = "POST" if handler in ("redrive", "cancel") else "GET"
    request = http_request(method, path, route_params=route_params, params=params)
    response = HANDLERS[handler](request, unreachable_engine())
    assert_error(response, 400, "InvalidRequest", message)


ROUTES = [
    ("start", "POST", "replications", {}),
    ("list", "GET", "replications/P", {"project": "P"}),
    ("get", "GET", "replications/P/r", {"project": "P", "runId": "r"}),
    ("redrive", "POST", "replications/P/r/steps/train", {"project": "P", "runId": "r", "step": "s"}),
    ("cancel", "POST", "replications/P/r/cancel", {"project": "P", "runId": "r"}),
    ("drift", "GET", "drift", {}),
]
SNAPSHOT_HANDLERS = {
    "snapshots": snapshots_api.handle_list_snapshots,
    "snapshot": snapshots_api.handle_show_snapshot,
    "snapshot-diff": snapshots_api.handle_diff_snapshots,
    "restore": snapshots_api.handle_start_restore,
    "restore-run": snapshots_api.handle_get_restore,
    "retention": snapshots_api.handle_retention,
    "expiry": snapshots_api.handle_expiry,
}
SNAPSHOT_ROUTES = [
    # handler, method, path, route params, query, body: each valid, so only the settings can refuse it
    ("snapshots", "GET", "snapshots/P", {"project": "P"}, {}, None),
    ("snapshot", "GET", "snapshots/P/latest", {"project": "P", "snapshot": "latest"}, {}, None),
    ("snapshot-diff", "GET", "snapshot-diffs/P", {"project": "P"}, {"old": "a", "new": "latest"}, None),
    ("restore", "POST", "restores", {}, {}, {"snapshot": "P@latest", "target": "secondary"}),
    ("restore-run", "GET", "restores/P/r", {"project": "P", "runId": "r"}, {}, None),
    ("retention", "POST", "retention", {}, {"dryRun": "true"}, None),
    ("expiry", "GET", "expiry", {}, {}, None),
]


def test_a_body_over_the_limit_is_a_413_before_any_engine_work() -> None:
    request = http_request("POST", "restores", body=b" " * (MAX_BODY_BYTES + 1))
    assert_error(snapshots_api.handle_start_restore(request, unreachable_engine()), 413, "RequestTooLarge")


@pytest.mark.parametrize("handler", ["redrive", "cancel"])
def test_an_action_that_reads_no_body_refuses_one(handler: str) -> None:
    route = dict((name, (method, path, params)) for name, method, path, params in ROUTES)
    method, path, route_params = route[handler]
    request = http_request(method, path, route_params=route_params, body={"force": True})
    assert_error(HANDLERS[handler](request, unreachable_engine()), 400, "InvalidRequest", "no request body")


@pytest.mark.parametrize(("handler", "method", "path", "route_params"), ROUTES)
def test_unusable_settings_are_a_503_naming_the_setting(
    handler: str, method: str, path: str, route_params: dict[str, str]
) -> None:
    request = http_request(method, path, route_params=route_params)
    response = HANDLERS[handler](request, unusable_settings("SNAPSHOT_STORAGE"))
    assert_error(response, 503, "ConfigurationError", "SNAPSHOT_STORAGE")


@pytest.mark.parametrize(("handler", "method", "path", "route_params", "params", "body"), SNAPSHOT_ROUTES)
def test_the_backup_routes_also_answer_unusable_settings_with_a_503_naming_the_setting(
    handler: str, method: str, path: str, route_params: dict[str, str], params: dict[str, str], body: Any
) -> None:
    request = http_request(method, path, route_params=route_params, params=params, body=body)
    response = SNAPSHOT_HANDLERS[handler](request, unusable_settings("SNAPSHOT_STORAGE"))
    assert_error(response, 503, "ConfigurationError", "SNAPSHOT_STORAGE")


@pytest.mark.parametrize(
    ("handler", "method", "path", "route_params", "params", "body", "message"),
    [
        ("snapshots", "GET", "snapshots/x", {"project": "no spaces"}, {}, None, "invalid project"),
        ("snapshot", "GET", "snapshots/P/a b", {"project": "P", "snapshot": "a b"}, {}, None,
         "invalid snapshot"),
        ("snapshot-diff", "GET", "snapshot-diffs/P", {"project": "P"}, {"old": "a/b", "new": "latest"}, None,
         "'old'"),
        ("snapshot-diff", "GET", "snapshot-diffs/P", {"project": "P"}, {"old": "a"}, None, "'new'"),
        ("restore", "POST", "restores", {}, {}, b"{not json", "not valid JSON"),
        ("restore", "POST", "restores", {}, {}, [1], "must be a JSON object"),
        ("restore", "POST", "restores", {}, {}, {}, "'snapshot' is required"),
        ("restore", "POST", "restores", {}, {}, {"snapshot": ""}, "non-empty string"),
        ("restore", "POST", "restores", {}, {}, {"snapshot": "P/x", "train": "yes"}, "'train'"),
        ("restore", "POST", "restores", {}, {}, {"snapshot": "P/x", "extra": 1}, "unknown field(s)"),
        ("restore", "POST", "restores", {}, {}, {"snapshot": "P/x", "deployments": "prod"}, "'deployments'"),
        ("restore-run", "GET", "restores/P/r r", {"project": "P", "runId": "r r"}, {}, None, "invalid runId"),
        ("retention", "POST", "retention", {}, {"dryRun": "maybe"}, None, "dryRun"),
        # The cases: deep nesting was a RecursionError (500); a body we do not read ran a sweep.
        ("restore", "POST", "restores", {}, {}, b"[" * 20_000, "nested too deeply"),
        ("restore", "POST", "restores", {}, {}, b'{"a":' * 10_000, "nested too deeply"),
        ("restore", "POST", "restores", {}, {}, b'{"snapshot": ' + b"1" * 5000 + b"}", "not valid JSON"),
        ("restore", "POST", "restores", {}, {}, {"snapshot": "../x"}, "invalid project"),
        ("snapshots", "GET", "snapshots/..", {"project": ".."}, {}, None, "invalid project"),
        ("snapshot", "GET", "snapshots/P/..", {"project": "P", "snapshot": ".."}, {}, None,
         "invalid snapshot"),
        ("snapshot-diff", "GET", "snapshot-diffs/P", {"project": "P"}, {"old": "...", "new": "latest"}, None,
         "'old'"),
        ("restore-run", "GET", "restores/./r", {"project": ".", "runId": "r"}, {}, None, "invalid project"),
        ("retention", "POST", "retention", {}, {}, {"dryRun": "yes"}, "dryRun in the body"),
        ("retention", "POST", "retention", {}, {"dryRun": "false"}, {"dryRun": True}, "given twice"),
        ("retention", "POST", "retention", {}, {}, {"dry_run": True}, "unknown field(s)"),
    ],
)
def test_a_bad_backup_request_is_a_400_before_any_engine_work(
    handler: str, method: str, path: str, route_params: dict[str, str], params: dict[str, str], body: Any,
    message: str,
) -> None:
    request = http_request(method, path, route_params=route_params, params=params, body=body)
    response = SNAPSHOT_HANDLERS[handler](request, unreachable_engine())
    assert_error(response, 400, "InvalidRequest", message)


@pytest.mark.parametrize(
    ("error", "status"),
    [(SnapshotNotFound("P/x.json"), 404), (SnapshotCorrupt("P/x.json", "sha256 mismatch"), 422)],
)
def test_a_missing_snapshot_is_a_404_and_a_corrupt_one_a_422(error: ReplicatorError, status: int) -> None:
    provider = EngineProvider(factory=lambda: FailingEngine(error))
    response = http_api.handle_drift(http_request("GET", "drift"), provider)
    assert_error(response, status, error.code, "P/x.json")


class FailingEngine:
    """Raises a chosen error from every engine call, to pin the error → status mapping."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return fail


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidRequest("unknown step 'bake'"), 400, "InvalidRequest"),
        (UnknownProject("Nope"), 404, "UnknownProject"),
        (UnknownRun("P", "r"), 404, "UnknownRun"),
        (RunConflict("busy", "run-7"), 409, "RunConflict"),
        (ReplicatorError("the primary answered 503"), 502, "ReplicatorError"),
    ],
)
@pytest.mark.parametrize(("handler", "method", "path", "route_params"), ROUTES)
def test_engine_errors_map_to_statuses_with_the_error_code(
    handler: str,
    method: str,
    path: str,
    route_params: dict[str, str],
    error: Exception,
    status: int,
    code: str,
) -> None:
    request = http_request(method, path, route_params=route_params)
    response = HANDLERS[handler](request, EngineProvider(factory=lambda: FailingEngine(error)))
    body = assert_error(response, status, code, str(error))
    if isinstance(error, RunConflict):
        assert body["error"]["activeRunId"] == "run-7"


def test_an_unexpected_failure_is_a_500_that_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    engine = FailingEngine(RuntimeError("AccountKey=c2VjcmV0 exploded"))
    response = http_api.handle_drift(http_request("GET", "drift"), EngineProvider(factory=lambda: engine))
    assert_error(response, 500, "InternalError", "function log")
    assert "AccountKey" not in response.get_body().decode()
    assert "exploded" in caplog.text  # the operator still sees what happened


def test_health_with_unusable_settings_is_a_503_naming_the_setting_and_no_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    response = handle_health(http_request("GET", "health"), unusable_settings("PRIMARY_LANGUAGE_ENDPOINT"))
    assert response.status_code == 503
    body = json_body(response)
    assert body == {"status": "unhealthy", "version": body["version"],
                    "settingsInError": ["PRIMARY_LANGUAGE_ENDPOINT"]}
    details = json_body(handle_health_details(http_request("GET", "health/details"),
                                              unusable_settings("PRIMARY_LANGUAGE_ENDPOINT")))
    assert details["settings"]["usable"] is False
    assert "PRIMARY_LANGUAGE_ENDPOINT" in details["settings"]["error"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (SettingsError("SECONDARY_DOCUMENTS_STORAGE", "is required"), 503, "ConfigurationError"),
        (ServiceRequestError("connect to http://acct.blob/?sig=SECRET failed"), 503, "DependencyUnavailable"),
        (HttpResponseError("403 for https://acct.blob/?sig=SECRET"), 502, "DependencyFailed"),
    ],
)
def test_configuration_and_storage_failures_are_5xx_with_no_details(
    error: Exception, status: int, code: str
) -> None:
    provider = EngineProvider(factory=lambda: FailingEngine(error))
    response = http_api.handle_drift(http_request("GET", "drift"), provider)
    assert_error(response, status, code)
    assert "SECRET" not in response.get_body().decode()

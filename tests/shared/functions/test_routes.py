"""The URLs the HTTP functions hand back, and the names they accept from the route."""

from __future__ import annotations

import azure.functions as func
import pytest

from shared.errors import InvalidRequest
from shared.functions.routes import PROJECT_NAME, api_url, route_name


def request(url: str, **route_params: str) -> func.HttpRequest:
    return func.HttpRequest("GET", url, route_params=route_params, body=b"")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # The app's own host name and the default "api" prefix; the function key is never echoed.
        ("https://app.azurewebsites.net/api/replications?code=SECRET",
         "https://app.azurewebsites.net/api/replications/P/run-1"),
        # A custom routePrefix in host.json, or one added by a gateway in front of the app.
        ("https://gw.example.com/dr/v1/replications/P/run-1/cancel",
         "https://gw.example.com/dr/v1/replications/P/run-1"),
        # No route prefix at all.
        ("http://localhost:7071/replications", "http://localhost:7071/replications/P/run-1"),
    ],
)
def test_a_run_url_keeps_the_callers_host_and_prefix_and_drops_the_query(url: str, expected: str) -> None:
    assert api_url(request(url), "replications", "P", "run-1") == expected


def test_a_url_segment_is_quoted() -> None:
    url = api_url(request("https://app/api/restores"), "restores", "P", "a/b c")
    assert url == "https://app/api/restores/P/a%2Fb%20c"


@pytest.mark.parametrize("name", ["", "a b", "x" * 101, "é", "a/b"])
def test_a_bad_project_name_in_the_route_is_an_invalid_request_naming_the_parameter(name: str) -> None:
    with pytest.raises(InvalidRequest, match="invalid project"):
        route_name(request("https://app/api/snapshots/x", project=name), "project", PROJECT_NAME)

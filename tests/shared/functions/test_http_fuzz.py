"""Every route, method, route parameter, query parameter and body shape: a 4xx with a JSON error or the
documented 2xx, never a 5xx and never an exception (issue 11). Routes come from function_app itself and
their statuses from the README's per-endpoint table, so a route added later is fuzzed, or fails here
until it is documented."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.functions.http_api import START_FIELDS
from shared.functions.json_http import MAX_BODY_BYTES
from shared.functions.snapshots_api import RESTORE_FIELDS, RETENTION_FIELDS
from shared.status import model as status_model
from tests.hypothesis_budget import examples
from tests.shared.functions.app_under_test import engine_for, serving
from tests.shared.functions.host import http_request, registered
from tests.shared.functions.http_routes import HttpRoute, documented_statuses, http_routes

ROUTES = http_routes()
BODY_FIELDS = sorted({*START_FIELDS, *RESTORE_FIELDS, *RETENTION_FIELDS})
QUERY_NAMES = ["limit", "target", "format", "old", "new", "dryRun"]

# A request each route accepts; each nasty value below replaces one of its parts at a time.
VALID_ROUTE_PARAMS = {"project": "LoanAgreements", "runId": "20260101T000000Z-deadbeef", "step": "train",
                      "snapshot": "latest"}
NASTY = [
    "LoanAgreements", "latest", "P", ".", "..", "...", "", " ", "a" * 101, "x" * 129, "a/b", "a b",
    "%2e%2e", "é", "\ud800", "\udfff\ud800", "20260101T000000Z-deadbeef", "train", "LoanAgreements@latest",
    "LoanAgreements/x", "../x", "AccountKey=c2VjcmV0", "true", "false", "TRUE", "text", "json", "secondary",
    # Numbers as a caller might mistype them: str.isdigit() accepts '²', int() refuses 5,000 digits.
    "0", "1", "20", "100", "101", "-1", " 5", "1e3", "²", "١٠", "9" * 5000,
]
NASTY_BODIES = [
    b"", b"{}", b"[]", b"null", b"{not json", b"\xff\xfe", b'"\\ud800"', b'{"\\ud800": 1}',
    b"[" * 20_000, b'{"a":' * 10_000, b"1" * 5000, b'{"projects": ' + b"1" * 5000 + b"}",
    b'{"snapshot": "' + b"a" * MAX_BODY_BYTES + b'"}', b'{"dryRun": true}', b'{"dryRun": "true"}',
    b'{"projects": [".."]}', b'{"projects": ["\\ud800"]}', b'{"snapshot": "..@latest"}',
    b'{"snapshot": "LoanAgreements@latest", "project": ".."}', b'{"snapshot": "x", "deployments": [".."]}',
]

# Any code point, surrogates included (a JSON body can carry a lone one as \ud800).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
name_like = st.one_of(st.sampled_from(NASTY), any_text)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | name_like,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(BODY_FIELDS) | any_text,
                                                                 inner, max_size=3),
    max_leaves=8,
)
deep = st.integers(min_value=900, max_value=20_000)
body = st.one_of(
    st.none(),
    st.binary(max_size=64),
    json_value.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({}, optional={field: json_value for field in BODY_FIELDS})
      .map(lambda value: json.dumps(value).encode()),
    deep.map(lambda depth: b"[" * depth),
    deep.map(lambda depth: b'{"a":' * depth),
    st.just(b'{"snapshot": "' + b"a" * MAX_BODY_BYTES + b'"}'),
    st.just(b'{"projects": ' + b"1" * 5000 + b"}"),
)


def request_for(route: HttpRoute, data: st.DataObject) -> Any:
    params = {name: data.draw(name_like, label=name) for name in route.route_params}
    query = data.draw(st.fixed_dictionaries({}, optional={name: name_like for name in QUERY_NAMES}),
                      label="query")
    query.update(data.draw(st.dictionaries(any_text, name_like, max_size=2), label="other query"))
    method = data.draw(st.sampled_from(route.methods), label="method")
    raw = data.draw(body, label="body")
    path = route.route
    for name, value in params.items():
        path = path.replace(f"{{{name}}}", value)
    return method, http_request(method, path, route_params=params, params=query, body=raw)


def check_answer(route: HttpRoute, method: str, response: Any) -> None:
    allowed = documented_statuses()[f"{method} /api/{route.route}"].allowed
    assert response.status_code in allowed, (response.status_code, response.get_body()[:300])
    if response.mimetype in ("text/plain", "text/html"):  # GET /api/drift?format=text, GET /api/status
        assert response.status_code == 200
        return
    assert response.mimetype == "application/json"
    answer = json.loads(response.get_body())
    if response.status_code >= 400:
        assert set(answer["error"]) >= {"code", "message"}


class _NotedReads(dict[str, str]):
    """Query parameters that note each name a handler asks for; listing them counts as reading them all."""

    def __init__(self, params: Any, read: set[str]) -> None:
        super().__init__(params)
        self.read = read

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self.read.update(QUERY_NAMES)
        return super().__iter__()

    def keys(self) -> Any:
        self.read.update(QUERY_NAMES)
        return super().keys()

    def items(self) -> Any:
        self.read.update(QUERY_NAMES)
        return super().items()

    def values(self) -> Any:
        self.read.update(QUERY_NAMES)
        return super().values()


def noting_reads(request: Any, read: set[str]) -> Any:
    """`request`, its query parameters noting into `read` each name the handler reads."""
    request._HttpRequest__params = types.MappingProxyType(_NotedReads(request.params, read))
    probe = "noting-reads-probe"
    request.params.get(probe)  # were azure.functions to keep its params elsewhere, say so here
    assert probe in read, "HttpRequest.params is no longer what noting_reads replaced"
    read.discard(probe)
    return request


def one_bad_part_at_a_time(route: HttpRoute, read: set[str]
                           ) -> Iterator[tuple[dict[str, str], dict[str, str], bytes]]:
    """The valid request with one route parameter, one query parameter or the body replaced.

    A query parameter the handler never read (in any request so far, `read`) gets one nasty value, not
    each: the request is the valid one again as far as the handler can tell, so each value would only
    repeat the valid request's work. One still shows it is ignored.
    """
    valid = {name: VALID_ROUTE_PARAMS[name] for name in route.route_params}
    yield valid, {}, b""
    for name in route.route_params:
        yield from (({**valid, name: value}, {}, b"") for value in NASTY)
    yield from ((valid, {}, raw) for raw in NASTY_BODIES)
    done: set[str] = set()
    while todo := [name for name in QUERY_NAMES if name in read and name not in done]:
        for name in todo:
            done.add(name)
            yield from ((valid, {name: value}, b"") for value in NASTY)
    for name in QUERY_NAMES:
        if name not in done:
            yield valid, {name: "\udfff\ud800" + "9" * 5000}, b""


def test_every_registered_route_is_in_the_status_table_and_nothing_else() -> None:
    documented = documented_statuses()
    endpoints = {endpoint for route in ROUTES for endpoint in route.endpoints()}
    assert sorted(endpoints) == sorted(documented), "document each route in the README's status table"
    for endpoint, statuses in documented.items():
        assert statuses.success and all(200 <= code < 300 for code in statuses.success), endpoint
        assert all(400 <= code < 500 for code in statuses.caller_errors), endpoint


@pytest.fixture
def status_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /api/status gathers the estate from state storage, which no GET changes, and from no part of the
    request: read it once per engine (and arguments), so each request costs its own handling and the
    page's rendering, not the same storage reads again. Arguments taken from a request would be a new key."""
    real = status_model.gather
    gathered: dict[tuple[int, tuple[tuple[str, Any], ...]], Any] = {}

    def gather(engine: Any, **options: Any) -> Any:
        key = (id(engine), tuple(sorted(options.items())))
        if key not in gathered:
            gathered[key] = real(engine, **options)
        return gathered[key]

    monkeypatch.setattr(status_model, "gather", gather)


@pytest.mark.parametrize("route", ROUTES, ids=[route.function for route in ROUTES])
def test_any_request_is_answered_with_a_documented_2xx_or_a_json_4xx(
    route: HttpRoute, regions: Any, azurite: Any, status_read_once: None
) -> None:
    function = registered(route.function)

    @settings(max_examples=examples(20), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, request = request_for(route, data)
        check_answer(route, method, function(request))  # an exception escaping here fails the test

    with serving(engine_for(regions, azurite)):
        for method in route.methods:
            read: set[str] = set()
            for params, query, raw in one_bad_part_at_a_time(route, read):
                path = route.route
                for name, value in params.items():
                    path = path.replace(f"{{{name}}}", value)
                request = http_request(method, path, route_params=params, params=query, body=raw)
                check_answer(route, method, function(noting_reads(request, read)))
        check()

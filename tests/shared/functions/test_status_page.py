"""`GET /api/status` through the registered function, as the host calls it."""

from __future__ import annotations

from shared.status.page import HTTP_HEADERS
from tests.shared.functions.app_under_test import serving
from tests.shared.functions.host import http_request, registered
from tests.shared.replicated_estate import ReplicatedEstate


def test_the_status_page_is_html_with_headers_that_keep_the_key_on_the_page(
        replicated_estate: ReplicatedEstate):
    project = replicated_estate.project
    with serving(replicated_estate.harness.engine):
        response = registered("get_status_page")(http_request("GET", "status", params={"code": "k3y"}))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert {name: response.headers[name] for name in HTTP_HEADERS} == HTTP_HEADERS
    page = response.get_body().decode("utf-8")
    assert "✓ All protected" in page and project.name in page
    assert "k3y" not in page   # the function key is never echoed into a link

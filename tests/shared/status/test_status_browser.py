"""The status page in a real browser: Debian's chromium, driven by Playwright's Python package.

The page is served over HTTP on 127.0.0.1 with the route's own headers (so the Content-Security-Policy
is the browser's to enforce), read the way a person reads it (the verdict, each project's state, the
charts and their labels), and kept as a screenshot under artifacts/ (gitignored; CI uploads it). A
console error, a refused resource or any request beyond the page itself fails the test. Without a
browser the test skips locally and fails in CI (`CI` set), where the set-up installs one.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bench.status_page import sample_estate
from shared.status.page import HTTP_HEADERS, render
from tests.shared.functions.app_under_test import serving
from tests.shared.functions.host import http_request, registered
from tests.shared.replicated_estate import ReplicatedEstate

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"
# Root in CI needs --no-sandbox; without the networking flags Chromium tries to reach Google and is refused.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        message = "chromium is not installed (scripts/lib/setup.sh setup_browser installs Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class _Page(BaseHTTPRequestHandler):
    body = b""
    headers_out: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/api/status":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(body: bytes, headers: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_Page,), {"body": body, "headers_out": headers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/api/status?code=not-a-real-key"


def open_page(browser: Any, body: bytes, headers: dict[str, str], screenshot: str,
              width: int = 1280) -> tuple[Any, list[str]]:
    """The page loaded in a fresh tab; returns it and every problem the browser reported."""
    server, url = serve(body, headers)
    problems: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": 1600})
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("request", lambda request: problems.append(f"fetched: {request.url}")
            if request.url != url else None)
    try:
        response = page.goto(url)
        assert response is not None and response.status == 200
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / screenshot
        page.screenshot(path=str(path))
        print(f"screenshot kept at {path}")
    finally:
        server.shutdown()
        server.server_close()
    return page, problems


def test_a_person_reads_the_verdict_every_state_and_the_labelled_charts(browser: Any) -> None:
    status = sample_estate(60)
    page, problems = open_page(browser, render(status).encode(), HTTP_HEADERS, "status-page-estate.png")
    try:
        assert problems == []
        verdict = page.get_by_role("status", name="Estate verdict")
        assert verdict.is_visible()
        assert verdict.locator("#verdict").inner_text() == f"✕ {status.verdict.label}"   # a missing replica
        assert page.title() == f"DR status: {status.verdict.label}"
        rows = page.locator("#summary tbody tr")
        assert rows.count() == sum(len(project.replicas) for project in status.projects)
        states = set(rows.locator("td:nth-child(4)").all_inner_texts())
        assert states == {"in sync", "drifted", "diverged", "missing", "error"}
        for project in status.projects[:5]:
            for replica in project.replicas:
                row = rows.filter(has=page.get_by_role("link", name=project.project, exact=True)).first
                assert replica.target in row.inner_text()
        charts = page.get_by_role("img", name="Recovery point age of", exact=False)
        assert charts.count() == sum(len(project.replicas) for project in status.projects)
        charts.first.scroll_into_view_if_needed()   # sections off screen are laid out when scrolled to
        assert charts.first.is_visible() and charts.first.bounding_box()["height"] > 50
        timelines = page.get_by_role("img", name="Timeline of the last runs of", exact=False)
        assert timelines.count() == len(status.projects)
        described = page.locator("svg[aria-labelledby] desc").all_text_contents()
        assert len(described) == charts.count() + timelines.count() and all(described)
        assert any("drift check(s) in the last 30 days" in text for text in described)
        assert any("failed step(s), hatched and marked with a cross" in text for text in described)
        # A run's details are an anchor on the same page: following the link keeps the URL's path and key.
        first_run = status.projects[0].runs[0]
        page.locator(f'a[href="#{first_run.anchor}"]').first.click()
        assert page.url.endswith(f"#{first_run.anchor}")
        assert page.locator(f"#{first_run.anchor}").is_visible()
    finally:
        page.close()


def test_a_long_error_and_a_long_warning_wrap_and_the_page_never_scrolls_sideways(browser: Any) -> None:
    status = sample_estate(3)
    # A service's error is often one unbroken token (a URL, a JSON blob, a stack of ids).
    long = "TrainingFailed: " + "x" * 40 + "/".join(f"segment{n:03d}" for n in range(80))
    project = status.projects[1]
    failed = replace(project.replicas[0].last_failure or project.runs[0], error=long, status="failed",
                     warnings=(long,))
    replica = replace(project.replicas[0], last_failure=failed, reasons=(long,))
    wide = replace(project, replicas=(replica,), runs=(failed, *project.runs[1:]))
    status = replace(status, projects=(status.projects[0], wide, *status.projects[2:]))
    page, problems = open_page(browser, render(status).encode(), HTTP_HEADERS, "status-page-long-error.png",
                               width=1300)
    try:
        assert problems == []
        assert long in page.locator("#summary").inner_text().replace("\n", "")
        page.locator(f"#{failed.anchor}").scroll_into_view_if_needed()   # laid out once on screen
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"
    finally:
        page.close()


def test_the_page_the_app_serves_shows_a_replicated_project_in_sync(
        browser: Any, replicated_estate: ReplicatedEstate) -> None:
    project = replicated_estate.project
    with serving(replicated_estate.harness.engine):
        response = registered("get_status_page")(http_request("GET", "status"))
    assert response.status_code == 200
    page, problems = open_page(browser, response.get_body(), dict(response.headers), "status-page-app.png")
    try:
        assert problems == []
        assert page.locator("#verdict").inner_text() == "✓ All protected"
        row = page.locator("#summary tbody tr").first
        assert project.name in row.inner_text() and "in sync" in row.inner_text()
        for chart in (page.get_by_role("img", name=f"Recovery point age of {project.name} on secondary",
                                       exact=False),
                      page.get_by_role("img", name=f"Timeline of the last runs of {project.name}")):
            chart.scroll_into_view_if_needed()
            assert chart.is_visible()
    finally:
        page.close()

"""Contract: the authoring rate limits (10 POST, 100 GET per minute, window scaled) and their 429."""

from __future__ import annotations

import re

from emulator.throttling import RateLimiter
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import Api

RETRY_MESSAGE = re.compile(r"Please retry after (\d+) seconds\.")


def test_the_eleventh_write_in_a_minute_is_429_with_retry_after(api: Api) -> None:
    for _ in range(10):
        assert api.post("/projects/X/:train", json={}).status_code != 429
    response = api.post("/projects/X/:train", json={})
    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "429"
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert RETRY_MESSAGE.search(error["message"]).group(1) == str(seconds)  # type: ignore[union-attr]
    assert int(response.headers["retry-after-ms"]) <= seconds * 1000
    assert api.get("/projects").status_code == 200  # reads have their own budget
    api.clock.advance(seconds)
    assert api.post("/projects/X/:train", json={}).status_code != 429


def test_reads_allow_100_per_minute(api: Api) -> None:
    for _ in range(100):
        assert api.get("/projects").status_code == 200
    assert api.get("/projects").status_code == 429


def test_the_window_scales_with_time_scale(make_api) -> None:
    api: Api = make_api(time_scale=0.01)  # a 0.6 s window
    for _ in range(10):
        api.post("/projects/X/:train", json={})
    assert api.post("/projects/X/:train", json={}).status_code == 429
    api.clock.advance(0.6)
    assert api.post("/projects/X/:train", json={}).status_code != 429


def test_limits_are_configurable_and_can_be_switched_off(api: Api) -> None:
    api.control("/throttling", {"postPerMinute": 2})
    api.post("/projects/X/:train", json={})
    api.post("/projects/X/:train", json={})
    assert api.post("/projects/X/:train", json={}).status_code == 429
    api.control("/throttling", {"enabled": False})
    for _ in range(20):
        assert api.post("/projects/X/:train", json={}).status_code != 429
    api.control("/reset")
    assert api.get("/_emulator/faults").status_code == 200
    for _ in range(10):
        api.post("/projects/X/:train", json={})
    assert api.post("/projects/X/:train", json={}).status_code == 429


def test_unauthenticated_calls_do_not_spend_the_budget(api: Api) -> None:
    for _ in range(20):
        assert (
            api.post("/projects/X/:train", json={}, headers={"Ocp-Apim-Subscription-Key": "no"}).status_code
            == 401
        )
    assert api.post("/projects/X/:train", json={}).status_code != 429


def test_rate_limiter_zero_means_unlimited(clock_now=None) -> None:
    from datetime import UTC, datetime, timedelta

    limiter = RateLimiter({"post": 0}, timedelta(minutes=1))
    for _ in range(1000):
        limiter.check("post", datetime(2026, 1, 1, tzinfo=UTC))


def test_runtime_calls_have_their_own_budget_and_message(api: Api) -> None:
    api.control("/throttling", {"runtimePerMinute": 1})
    submit = "/language/analyze-text/jobs?api-version=2023-04-01"
    assert api.client.post(submit, json={}, headers=api.headers).status_code != 429
    refused = api.client.post(submit, json={}, headers=api.headers)
    assert refused.status_code == 429
    assert "Language runtime API" in error_of(refused)["message"]
    assert api.post("/projects/X/:train", json={}).status_code != 429

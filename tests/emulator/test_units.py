"""Unit tests of the emulator's pure logic: ids, job phases, fault rules, the rate window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from emulator.errors import ServiceError
from emulator.faults import FaultState
from emulator.jobs import Job
from emulator.throttling import RateLimiter
from emulator.timefmt import authoring_job_id, format_datetime, model_id, parse_datetime, ticks

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_ticks_match_the_services_job_id_suffix() -> None:
    # The official examples' ids end in _637858368000000000: midnight UTC, 18 April 2022.
    assert ticks(datetime(2022, 4, 18, tzinfo=UTC)) == 637858368000000000
    assert re.fullmatch(
        r"[0-9a-f-]{36}_637858368000000000", authoring_job_id(datetime(2022, 4, 18, tzinfo=UTC))
    )


def test_model_id_and_datetime_formats() -> None:
    assert re.fullmatch(
        r"model1-20220418T034749-[0-9a-f]{32}",
        model_id("model1", datetime(2022, 4, 18, 3, 47, 49, tzinfo=UTC)),
    )
    stamp = format_datetime(T0 + timedelta(microseconds=5))
    assert stamp == "2026-01-01T00:00:00.000005Z"
    assert parse_datetime(stamp) == T0 + timedelta(microseconds=5)


def test_job_phases_follow_the_clock() -> None:
    job = Job("id", "train", "p", T0, timedelta(seconds=100), "2023-04-01")
    assert job.status(T0) == "notStarted"
    assert job.status(T0 + timedelta(seconds=5)) == "running"
    assert job.due(T0 + timedelta(seconds=99)) is None
    assert job.due(T0 + timedelta(seconds=150)) == T0 + timedelta(seconds=100)
    job.cancel_requested, job.cancel_duration = T0 + timedelta(seconds=10), timedelta(seconds=5)
    assert job.status(T0 + timedelta(seconds=11)) == "cancelling"
    assert job.due(T0 + timedelta(seconds=150)) == T0 + timedelta(seconds=15)
    assert Job.from_json(job.to_json()) == job


def test_fault_rules_count_down_and_disappear() -> None:
    faults = FaultState()
    faults.add_error_burst({"method": "GET", "path": "^/a$", "count": 2, "status": 500})
    assert faults.take_error("POST", "/a") is None
    assert faults.take_error("GET", "/a/b") is None
    assert faults.take_error("GET", "/a") is not None
    assert faults.take_error("GET", "/a") is not None
    assert faults.take_error("GET", "/a") is None
    faults.add_job_failure({"kind": "train", "count": 1})
    assert faults.take_job_failure("import") is None
    assert faults.take_job_failure("train") == {
        "code": "Unspecified",
        "message": "Something happened. Please retry after some time.",
    }
    assert faults.take_job_failure("train") is None


def test_reset_bursts_are_connection_faults_not_responses() -> None:
    faults = FaultState()
    faults.add_error_burst({"path": "import", "action": "reset-after", "count": 1})
    assert faults.take_error("POST", "/x/:import") is None
    assert faults.take_connection_fault("POST", "/x/:import") == "reset-after"
    assert faults.take_connection_fault("POST", "/x/:import") is None


def test_rate_window_slides() -> None:
    limiter = RateLimiter({"post": 2}, timedelta(seconds=60))
    limiter.check("post", T0)
    limiter.check("post", T0 + timedelta(seconds=30))
    with pytest.raises(ServiceError) as refused:
        limiter.check("post", T0 + timedelta(seconds=40))
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "20"
    limiter.check("post", T0 + timedelta(seconds=60))  # the first call left the window

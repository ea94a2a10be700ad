"""DRIFT_SCHEDULE's due times and the one "overdue" rule, and every surface that reports it agreeing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.cli.main import main
from shared.clock import FakeClock
from shared.replication.drift import DriftReport, DriftState, ProjectDrift
from shared.schedule import DEFAULT_SCHEDULE, GRACE, Schedule, ScheduleError, check_overdue
from shared.status.model import gather
from tests.shared.engine.support import make_engine, settings_values
from tests.shared.functions.app_under_test import serving
from tests.shared.functions.host import http_request, registered

SAT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)   # a Saturday
SIX_HOURLY = "0 0 */6 * * *"
WEEKLY = "0 30 4 * * Mon"


@pytest.mark.parametrize(("expression", "at", "due"), [
    (SIX_HOURLY, SAT, datetime(2026, 12, 5, 6, 0, tzinfo=UTC)),
    (SIX_HOURLY, datetime(2026, 12, 5, 6, 0, tzinfo=UTC), datetime(2026, 12, 5, 6, 0, tzinfo=UTC)),
    (WEEKLY, SAT, datetime(2026, 11, 30, 4, 30, tzinfo=UTC)),
    ("0 0 3 * * 7", SAT, datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),              # 7 is Sunday too
    ("0 0 3 * * Mon-Fri", SAT, datetime(2026, 12, 4, 3, 0, tzinfo=UTC)),
    ("15,45 */30 8-17/3 * Dec *", SAT, datetime(2026, 12, 5, 8, 30, 45, tzinfo=UTC)),
    ("0 0 0 29 2 *", SAT, datetime(2024, 2, 29, tzinfo=UTC)),                     # years back
    ("0 0 3 1 * Fri", SAT, datetime(2026, 5, 1, 3, 0, tzinfo=UTC)),              # day AND weekday
])
def test_last_due_is_the_latest_time_every_field_matches(expression, at, due):
    assert Schedule.parse(expression).last_due(at) == due


@pytest.mark.parametrize("expression", [
    "0 3 * * *", "0 0 24 * * *", "0 0 3 * * Funday", "0 0 */0 * * *", "0 0 0 30 2 *", "0 0 5-3 * * *"])
def test_an_expression_that_is_not_six_valid_fields_or_never_fires_is_refused(expression):
    with pytest.raises(ScheduleError) as raised:
        Schedule.parse(expression)
    assert expression not in str(raised.value)


def test_the_same_age_is_overdue_every_6_hours_and_not_weekly():
    checked = SAT - timedelta(hours=9)   # 00:00, then 06:00 came and went three hours ago
    assert check_overdue(SIX_HOURLY, checked, SAT)
    assert not check_overdue(WEEKLY, checked, SAT)
    assert not check_overdue(SIX_HOURLY, SAT - timedelta(hours=3), SAT)   # the 06:00 check


def test_a_due_check_is_given_grace_and_a_check_a_moment_early_counts():
    due = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    yesterday = due - timedelta(days=1)
    assert not check_overdue(DEFAULT_SCHEDULE, yesterday, due + GRACE - timedelta(seconds=1))
    assert check_overdue(DEFAULT_SCHEDULE, yesterday, due + GRACE)   # the daily rule: 26 h
    assert not check_overdue(DEFAULT_SCHEDULE, due - timedelta(seconds=5), due + GRACE)
    assert check_overdue(WEEKLY, datetime(2026, 11, 23, 4, 30, tzinfo=UTC),
                         datetime(2026, 11, 30, 4, 30, tzinfo=UTC) + GRACE)


@pytest.mark.parametrize(("schedule", "overdue"), [(SIX_HOURLY, True), (WEEKLY, False)])
def test_status_page_cli_status_and_health_details_agree(regions, azurite, schedule, overdue):
    checked = datetime(2026, 12, 5, 0, 0, 5, tzinfo=UTC)
    writer = make_engine(regions, azurite)
    writer.drift_history.record(DriftReport(checked, (ProjectDrift(
        "secondary", "LoanAgreements", DriftState.IN_SYNC, recovery_point_age=timedelta(minutes=5),
        last_synced_at=checked),)))
    later = FakeClock(checked + timedelta(hours=9))
    engine = make_engine(regions, azurite, clock=later, DRIFT_SCHEDULE=schedule)

    status = gather(engine)
    out = io.StringIO()
    main(["status"], environ=settings_values(regions, azurite, DRIFT_SCHEDULE=schedule), out=out, err=out,
         engine_factory=lambda settings: engine)
    with serving(engine):
        page = registered("get_status_page")(http_request("GET", "status")).get_body().decode()
        details = registered("get_health_details")(http_request("GET", "health/details"))
    health = json.loads(details.get_body())

    verdict = "At risk" if overdue else "All protected"
    assert status.verdict.label == verdict and out.getvalue().splitlines()[0] == verdict
    assert verdict in page
    assert health["driftCheck"] == {"checkedAt": "2026-12-05T00:00:05Z", "overdue": overdue}
    said = "overdue for DRIFT_SCHEDULE"
    told = (said in out.getvalue(), said in page, any(said in w for w in health["warnings"]))
    assert told == (overdue,) * 3
    assert schedule not in out.getvalue() + page + json.dumps(health["warnings"])


def test_a_damaged_last_report_is_said_by_the_status_page_and_health_details_not_raised(regions, azurite):
    engine = make_engine(regions, azurite, clock=FakeClock(SAT))
    state = engine.drift_history.blobs.container
    state.create_container()
    state.get_blob_client("drift-history/latest.json").upload_blob(b"{not json")

    status = gather(engine)
    with serving(engine):
        details = registered("get_health_details")(http_request("GET", "health/details"))
    health = json.loads(details.get_body())

    assert any("does not hold a JSON object" in warning for warning in status.warnings)
    assert health["driftCheck"]["error"] == "UnreadableState"
    assert any("last drift report cannot be read" in warning for warning in health["warnings"])


def test_29_february_on_a_given_day_of_the_week_fires_once_in_28_years_and_is_accepted():
    schedule = Schedule.parse("0 0 3 29 2 Mon")
    assert schedule.last_due(SAT) == datetime(2016, 2, 29, 3, 0, tzinfo=UTC)

"""The estate verdict at the top of the status page: each case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.replication.verdict import Protection
from shared.schedule import DEFAULT_SCHEDULE
from shared.status.estate import EstateVerdict, estate_verdict

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
RECENT = NOW - timedelta(hours=2)
P, R, N = Protection.PROTECTED, Protection.AT_RISK, Protection.NOT_PROTECTED


def test_every_replica_protected_after_a_recent_check_is_all_protected():
    verdict, reasons = estate_verdict([("A", P), ("B", P), ("B", P)], RECENT, NOW)
    assert verdict is EstateVerdict.ALL_PROTECTED
    assert "2 project(s)" in reasons[0]


def test_no_check_recorded_is_not_protected_whatever_else():
    verdict, reasons = estate_verdict([("A", P)], None, NOW)
    assert verdict is EstateVerdict.NOT_PROTECTED
    assert "no drift check" in reasons[0]


def test_a_check_with_no_project_is_not_protected():
    assert estate_verdict([], RECENT, NOW)[0] is EstateVerdict.NOT_PROTECTED


def test_a_project_with_no_replica_that_could_serve_is_not_protected_and_named():
    verdict, reasons = estate_verdict([("A", P), ("B", N), ("B", N)], RECENT, NOW)
    assert verdict is EstateVerdict.NOT_PROTECTED
    assert reasons == ("1 project(s) have no replica that could serve them: B",)


def test_one_good_replica_of_two_is_at_risk_not_unprotected():
    verdict, reasons = estate_verdict([("A", P), ("A", N)], RECENT, NOW)
    assert verdict is EstateVerdict.AT_RISK
    assert "A" in reasons[0]


def test_a_replica_at_risk_makes_the_estate_at_risk_and_many_names_are_cut_short():
    replicas = [(f"P{i:02d}", R) for i in range(8)] + [("Z", P)]
    verdict, reasons = estate_verdict(replicas, RECENT, NOW)
    assert verdict is EstateVerdict.AT_RISK
    assert reasons[0].endswith("P00, P01, P02, P03, P04 and 3 more")


def test_a_check_overdue_for_the_schedule_makes_a_protected_estate_at_risk():
    # NOW is 09:00: the default schedule's check of 03:00 today is due, a 6-hourly one's of 06:00 too.
    todays = NOW.replace(hour=3, second=30)
    verdict, reasons = estate_verdict([("A", P)], todays - timedelta(days=1), NOW, DEFAULT_SCHEDULE)
    assert verdict is EstateVerdict.AT_RISK
    assert "DRIFT_SCHEDULE: the drift timer is not running" in reasons[0]
    assert estate_verdict([("A", P)], todays, NOW)[0] is EstateVerdict.ALL_PROTECTED
    assert estate_verdict([("A", P)], todays, NOW, "0 0 */6 * * *")[0] is EstateVerdict.AT_RISK
    assert estate_verdict([("A", P)], todays, NOW, "0 0 3 * * Mon")[0] is EstateVerdict.ALL_PROTECTED

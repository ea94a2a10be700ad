"""The step machine's scheduling rule: how long a slice waits before looking at a running job again."""

from datetime import UTC, datetime, timedelta

from shared.replication.steps import StepOptions, poll_delay

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPTIONS = StepOptions(poll_initial=timedelta(seconds=10), poll_max=timedelta(minutes=2))


def test_the_interval_grows_by_half_each_poll_up_to_the_maximum():
    delays = [poll_delay(polls, None, NOW, OPTIONS).total_seconds() for polls in range(1, 10)]
    assert delays[:4] == [10, 15, 22.5, 33.75]
    assert delays[-1] == 120 and max(delays) == 120


def test_the_services_estimated_end_wins_when_it_comes_sooner():
    soon = NOW + timedelta(seconds=4)
    assert poll_delay(5, soon, NOW, OPTIONS) == timedelta(seconds=4)
    # An estimate later than the interval, or already past, does not stretch or zero the wait.
    assert poll_delay(1, NOW + timedelta(hours=1), NOW, OPTIONS) == timedelta(seconds=10)
    assert poll_delay(1, NOW - timedelta(seconds=5), NOW, OPTIONS) == timedelta(seconds=10)

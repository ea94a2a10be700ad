"""The drift history in Azurite: appended by every check, read back for 30 days, kept 90 days."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from shared.replication.drift import DriftReport, DriftState, ProjectDrift
from shared.replication.drift_history import HISTORY_DAYS, PREFIX, DriftHistory, day_blob
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs, UnreadableState

START = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def history(azurite):
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    return DriftHistory(JsonBlobs(service.get_container_client(STATE_CONTAINER)))


def report(at, *entries):
    return DriftReport(at, tuple(entries))


def entry(project, state=DriftState.IN_SYNC, age_hours=3.0, target="secondary"):
    return ProjectDrift(target, project, state, ("why",), ("risk",), timedelta(hours=age_hours),
                        START - timedelta(hours=age_hours), "run-1")


def test_each_check_appends_its_points_and_is_kept_as_the_latest_report(history):
    history.record(report(START, entry("A"), entry("B", DriftState.DRIFTED, 30)))
    history.record(report(START + timedelta(hours=1), entry("A", age_hours=4)))   # a later, full check
    points = history.points(START - timedelta(days=1), START + timedelta(days=1))
    assert [(p.project, p.state, p.age) for p in points] == [
        ("A", DriftState.IN_SYNC, timedelta(hours=3)), ("B", DriftState.DRIFTED, timedelta(hours=30)),
        ("A", DriftState.IN_SYNC, timedelta(hours=4))]
    latest = history.latest()
    assert latest is not None and [e.project for e in latest.projects] == ["A"]
    assert latest.projects[0] == entry("A", age_hours=4)   # read back whole: reasons, risks, sync time


def test_a_check_of_some_projects_keeps_the_others_in_the_latest_report(history):
    history.record(report(START, entry("A"), entry("B")))
    history.record(report(START + timedelta(hours=1), entry("B", DriftState.ERROR)), partial=True)
    latest = history.latest()
    assert latest is not None
    assert {(e.project, e.state) for e in latest.projects} == {("A", DriftState.IN_SYNC),
                                                               ("B", DriftState.ERROR)}


def test_points_span_days_and_days_older_than_the_retention_are_pruned(history):
    for day in range(HISTORY_DAYS + 3):
        history.blobs.create(day_blob((START + timedelta(days=day)).date()), {"points": [
            {"at": (START + timedelta(days=day)).isoformat(), "target": "t", "project": "A",
             "state": "in_sync", "ageSeconds": day}]})
    today = START + timedelta(days=HISTORY_DAYS + 3)
    history.record(report(today, entry("A")))
    names = sorted(history.blobs.names(PREFIX))
    assert day_blob((today - timedelta(days=HISTORY_DAYS)).date()) in names     # 90 days back: kept
    assert day_blob((today - timedelta(days=HISTORY_DAYS + 1)).date()) not in names
    assert len([n for n in names if n != f"{PREFIX}latest.json"]) == HISTORY_DAYS + 1
    month = history.points(today - timedelta(days=30), today)
    assert len(month) == 31 and month[0].at < month[-1].at


def test_two_checks_at_once_both_land(history):
    barrier = threading.Barrier(2)

    def check(project):
        barrier.wait()
        history.record(report(START, entry(project)), partial=True)

    threads = [threading.Thread(target=check, args=(name,)) for name in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.project for p in history.points(START, START)) == ["A", "B"]
    latest = history.latest()
    assert latest is not None and sorted(e.project for e in latest.projects) == ["A", "B"]


@pytest.mark.parametrize("damage", [b"{not json", b"[1, 2]"])
def test_a_damaged_record_is_said_when_read_and_replaced_by_the_next_check(history, damage):
    history.record(report(START, entry("A")))
    for name in (day_blob(START.date()), f"{PREFIX}latest.json"):
        history.blobs.container.get_blob_client(name).upload_blob(damage, overwrite=True)

    with pytest.raises(UnreadableState):
        history.latest()
    assert history.points(START - timedelta(days=1), START + timedelta(days=1)) == []   # the day is left out

    history.record(report(START + timedelta(hours=1), entry("B")))   # the check is not stopped by it
    latest = history.latest()
    assert latest is not None and [e.project for e in latest.projects] == ["B"]
    assert [p.project for p in history.points(START - timedelta(days=1), START + timedelta(days=1))] == ["B"]

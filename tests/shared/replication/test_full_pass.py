"""The full-pass log: when each replica was last read in full and found in sync (one state blob)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.storage.blob import BlobServiceClient

from shared.replication.full_pass import FullPassLog
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def blobs(azurite) -> JsonBlobs:
    return JsonBlobs(BlobServiceClient.from_connection_string(azurite.connection_string())
                     .get_container_client(STATE_CONTAINER))


def test_a_replica_never_read_in_full_is_due_and_then_not_until_the_interval_is_over(azurite):
    log = FullPassLog(blobs(azurite), WEEK)
    assert log.due("secondary", "Loans", NOW)
    log.observed("secondary", "Loans", NOW)
    log.save()

    later = FullPassLog(blobs(azurite), WEEK)  # the next day's check reads what this one saved
    assert not later.due("secondary", "Loans", NOW + timedelta(days=6))
    assert later.due("secondary", "Loans", NOW + WEEK - timedelta(minutes=5))  # a tick a little early
    assert later.due("secondary", "Other", NOW)


def test_two_checks_saving_at_once_lose_neither_s_reads(azurite):
    first, second = FullPassLog(blobs(azurite), WEEK), FullPassLog(blobs(azurite), WEEK)
    assert first.due("secondary", "A", NOW) and second.due("secondary", "B", NOW)  # both read: empty
    first.observed("secondary", "A", NOW)
    second.observed("secondary", "B", NOW + timedelta(hours=1))
    first.save()
    second.save()  # its read is stale: it merges, it does not overwrite

    merged = FullPassLog(blobs(azurite), WEEK)
    assert merged.last("secondary", "A") == NOW
    assert merged.last("secondary", "B") == NOW + timedelta(hours=1)


def test_forced_either_way_the_schedule_is_ignored(azurite):
    assert FullPassLog(blobs(azurite), WEEK, always=True).due("secondary", "A", NOW)
    assert not FullPassLog(blobs(azurite), WEEK, always=False).due("secondary", "A", NOW)

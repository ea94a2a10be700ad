"""Manifests, run locks and sync records against the real Azurite."""

import threading
from datetime import timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from shared.clock import FakeClock
from shared.errors import ConcurrentUpdate, RunConflict, UnknownRun
from shared.replication.sync_record import DeploymentRecord, SyncRecord, SyncRecordStore
from shared.runs.lock import RunLock
from shared.runs.manifest import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    ManifestStore,
    RunManifest,
    StepRecord,
    new_run_id,
)
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs


@pytest.fixture
def blobs(azurite):
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    return JsonBlobs(service.get_container_client(STATE_CONTAINER))


def manifest(clock, project="Loans", run_id=None):
    now = clock.now()
    return RunManifest(run_id=run_id or new_run_id(now), project=project, target="westus2", trigger="manual",
                       force=False, created_at=now, updated_at=now,
                       steps=[StepRecord("export:m1", "export", "m1"), StepRecord("train:m1", "train", "m1")])


def test_manifest_round_trips_and_every_write_is_etag_conditional(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    stored = store.create(manifest(clock))
    loaded = store.load("Loans", stored.manifest.run_id)
    assert loaded.manifest.to_json() == stored.manifest.to_json()
    loaded.manifest.step("export:m1").intent_at = clock.now()
    store.save(loaded, clock.now())
    stale = stored  # still has the creation etag
    stale.manifest.status = RUNNING
    with pytest.raises(ConcurrentUpdate):
        store.save(stale, clock.now())
    with pytest.raises(ConcurrentUpdate):
        store.create(manifest(clock, run_id=stored.manifest.run_id))
    assert store.load("Loans", stored.manifest.run_id).manifest.step("export:m1").intent_at == clock.now()


def test_unknown_run_is_reported(blobs):
    with pytest.raises(UnknownRun):
        ManifestStore(blobs).load("Loans", "20260101T000000Z-deadbeef")


def test_concurrent_updates_all_land(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    run_id = store.create(manifest(clock)).manifest.run_id

    def bump(_: int) -> None:
        def change(m: RunManifest) -> bool:
            m.fence += 1
            return True
        store.update("Loans", run_id, change, clock.now(), attempts=50)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load("Loans", run_id).manifest.fence == 8


def test_recent_runs_newest_first(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    ids = []
    for _ in range(3):
        ids.append(store.create(manifest(clock)).manifest.run_id)
        clock.advance(60)
    assert [m.run_id for m in store.recent("Loans", limit=2)] == ids[::-1][:2]


def test_twenty_concurrent_acquires_give_one_holder(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    lock = RunLock(blobs, store, clock, timedelta(minutes=30))
    winners, conflicts = [], []
    barrier = threading.Barrier(20)

    def attempt(i: int) -> None:
        run = manifest(clock)
        barrier.wait()
        try:
            lock.acquire("westus2", "Loans", run.run_id)
            winners.append(run.run_id)
        except RunConflict as conflict:
            conflicts.append(conflict.active_run_id)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(conflicts) == 19 and set(conflicts) == set(winners)


def test_lock_is_taken_over_only_from_finished_or_stalled_runs(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    lock = RunLock(blobs, store, clock, timedelta(minutes=30))
    first = store.create(manifest(clock)).manifest
    lock.acquire("westus2", "Loans", first.run_id)
    store.update("Loans", first.run_id, lambda m: setattr(m, "status", RUNNING) or True, clock.now())

    with pytest.raises(RunConflict) as conflict:
        lock.acquire("westus2", "Loans", "20260101T000001Z-00000001")
    assert conflict.value.active_run_id == first.run_id

    clock.advance(timedelta(minutes=31))
    taken = lock.acquire("westus2", "Loans", "20260101T000002Z-00000002")
    assert taken.superseded_run_id == first.run_id
    stalled = store.load("Loans", first.run_id).manifest
    assert stalled.status == FAILED and "superseded" in stalled.error["message"]

    lock.release("westus2", "Loans", first.run_id)  # not the holder any more: no effect
    assert lock.holder("westus2", "Loans") == "20260101T000002Z-00000002"
    lock.release("westus2", "Loans", "20260101T000002Z-00000002")
    assert lock.holder("westus2", "Loans") is None


def test_finished_holder_is_replaced_at_once(blobs):
    clock = FakeClock()
    store = ManifestStore(blobs)
    lock = RunLock(blobs, store, clock, timedelta(minutes=30))
    done = manifest(clock)
    done.status = SUCCEEDED
    store.create(done)
    lock.acquire("westus2", "Loans", done.run_id)
    assert lock.acquire("westus2", "Loans", "20260101T000003Z-00000003").superseded_run_id == done.run_id


def test_sync_record_keeps_the_newest(blobs):
    clock = FakeClock()
    store = SyncRecordStore(blobs)
    record = SyncRecord(target="westus2", project="Loans", primary_last_modified="2026-01-01T00:00:00Z",
                        deployments={"prod": DeploymentRecord("m1", "2026-01-01T00:00:00Z", "2022-05-01")},
                        content_hash="abc", documents_fingerprint="fp", secondary_last_modified=None,
                        snapshots=("s1",), synced_at=clock.now(), label_hashes={"m1": "h"})
    store.put(record)
    assert store.get("westus2", "Loans") == record
    older = SyncRecord(**{**record.__dict__, "content_hash": "old", "synced_at": clock.now() - timedelta(1)})
    store.put(older)
    assert store.get("westus2", "Loans").content_hash == "abc"
    assert store.all() == [record]
    assert store.get("westus2", "Other") is None


def test_a_lock_whose_run_never_wrote_its_manifest_is_taken_over_after_the_stall_timeout(blobs):
    clock = FakeClock()
    lock = RunLock(blobs, ManifestStore(blobs), clock, timedelta(minutes=30))
    lock.acquire("westus2", "Loans", "20260101T000000Z-0000dead")  # then the process died
    with pytest.raises(RunConflict):
        lock.acquire("westus2", "Loans", "20260101T000100Z-00000001")
    clock.advance(timedelta(minutes=31))
    taken = lock.acquire("westus2", "Loans", "20260101T003100Z-00000002")
    assert taken.superseded_run_id == "20260101T000000Z-0000dead"


def test_training_budget_counts_each_step_once_per_day_and_target(blobs):
    from datetime import UTC, datetime

    from shared.replication.training_budget import TrainingBudget

    budget = TrainingBudget(blobs, per_day=2)
    day, next_day = datetime(2026, 3, 1, 23, 59, tzinfo=UTC), datetime(2026, 3, 2, 0, 1, tzinfo=UTC)
    assert budget.spend("westus2", "Loans", day, "run1:train:v1:1")
    assert budget.spend("westus2", "Loans", day, "run1:train:v1:1")  # a redelivered slice: not counted again
    assert budget.spend("westus2", "Loans", day, "run1:train:v2:1")
    assert not budget.spend("westus2", "Loans", day, "run2:train:v1:1")  # the cap: no third training today
    assert budget.used("westus2", "Loans", day) == ["run1:train:v1:1", "run1:train:v2:1"]
    # Another day, another target and another project each have their own count.
    assert budget.spend("westus2", "Loans", next_day, "run2:train:v1:1")
    assert budget.spend("northeurope", "Loans", day, "run3:train:v1:1")
    assert budget.spend("westus2", "Tickets", day, "run4:train:v1:1")


def test_training_budget_is_never_overspent_by_concurrent_spenders(blobs):
    from datetime import UTC, datetime

    from shared.replication.training_budget import TrainingBudget

    budget = TrainingBudget(blobs, per_day=3)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    results: list[bool] = []

    def spend(index: int) -> None:
        results.append(TrainingBudget(blobs, per_day=3).spend("westus2", "Loans", day, f"run{index}:train"))

    threads = [threading.Thread(target=spend, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Only three writes can ever succeed, so no spender runs out of retries: all eight answer.
    assert len(results) == 8 and results.count(True) == 3
    assert len(budget.used("westus2", "Loans", day)) == 3

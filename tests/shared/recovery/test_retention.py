"""Retention against Azurite: the newest N / N days, what a deployment was trained from, the latest good."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.conversation_samples import clu_project
from localdev.sample_project import ner_project
from localdev.services import Azurite
from shared.clock import FakeClock
from shared.recovery.retention import RetentionPolicy, RetentionSweep
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.runs.manifest import ManifestStore
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs
from shared.storage.snapshots import SnapshotInfo, SnapshotStore

START = datetime(2026, 1, 1, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def service(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string())


def history(store: SnapshotStore, clock: FakeClock, export: dict[str, Any] | None = None
            ) -> list[SnapshotInfo]:
    """Day 0: the v1 model's export; days 1-5: working copies; day 6: a backup. Oldest first."""
    export = export or ner_project(documents=3).export
    infos = []
    for day in range(7):
        version = copy.deepcopy(export)
        version["metadata"]["description"] = f"day {day}"
        reason = "model:v1" if day == 0 else "backup-before-overwrite" if day == 6 else "working-copy"
        infos.append(store.save_bytes("LoanAgreements", json.dumps(version).encode(),
                                      source_endpoint="https://primary", reason=reason,
                                      trained_model_label="v1" if day == 0 else None))
        clock.advance(timedelta(days=1))
    return infos


def sweep(service: BlobServiceClient, store: SnapshotStore, v1: SnapshotInfo | None) -> RetentionSweep:
    records = []
    if v1 is not None:
        records.append(SyncRecord(
            target="secondary", project="LoanAgreements", primary_last_modified="x",
            deployments={"prod": DeploymentRecord("v1", "t", "2022-05-01")}, content_hash="c",
            documents_fingerprint="f", secondary_last_modified=None, snapshots=(), synced_at=START,
            label_hashes={"v1": v1.content_hash}))
    manifests = ManifestStore(JsonBlobs(service.get_container_client(STATE_CONTAINER)))
    return RetentionSweep(service.get_container_client("snapshots"), store, manifests, records)


def names(container: ContainerClient) -> set[str]:
    return {blob.name for blob in container.list_blobs()}


@pytest.mark.parametrize("kind", ["CustomEntityRecognition", "Conversation"])
def test_keeps_the_newest_n_the_deployed_model_and_removes_the_rest(service: BlobServiceClient,
                                                                    kind: str) -> None:
    clock = FakeClock(START)
    store = SnapshotStore(service.get_container_client("snapshots"), clock)
    infos = history(store, clock, clu_project(per_intent=3) if kind == "Conversation" else None)
    retention = sweep(service, store, infos[0])

    dry = retention.run(RetentionPolicy(keep_count=2), clock.now(), dry_run=True)
    assert len(dry.removed) == 4 and len(names(service.get_container_client("snapshots"))) == 7

    report = retention.run(RetentionPolicy(keep_count=2), clock.now())
    assert {item["name"] for item in report.removed} == {info.name for info in infos[1:5]}
    assert names(service.get_container_client("snapshots")) == {infos[0].name, infos[5].name, infos[6].name}
    assert report.protected == [{"name": infos[0].name,
                                 "why": "deployment(s) on secondary serve model v1 trained from it"}]
    assert "removed 4 snapshot(s)" in report.to_text()


def test_days_and_count_keep_their_union_and_the_latest_good_survives(service: BlobServiceClient) -> None:
    clock = FakeClock(START)
    store = SnapshotStore(service.get_container_client("snapshots"), clock)
    infos = history(store, clock)
    # Damage the newest working copy: the latest *good* one is then the day before.
    blob = service.get_container_client("snapshots").get_blob_client(infos[5].name)
    metadata = blob.get_blob_properties().metadata
    blob.upload_blob(b"{}", overwrite=True, metadata=metadata)
    report = sweep(service, store, None).run(RetentionPolicy(keep_count=1, keep_days=2), clock.now())
    kept = names(service.get_container_client("snapshots"))
    # At day 7, keep_days=2 keeps only what is younger than 2 days: day 6.
    assert infos[6].name in kept                      # newest (count) and young (days)
    assert infos[4].name in kept                      # the latest good one
    assert infos[5].name not in kept                  # damaged and old enough
    assert infos[0].name not in kept                  # no deployment serves it here
    assert any(item["why"] == "the latest good snapshot of the project" for item in report.protected)


def test_no_setting_deletes_nothing(service: BlobServiceClient) -> None:
    clock = FakeClock(START)
    store = SnapshotStore(service.get_container_client("snapshots"), clock)
    history(store, clock)
    report = sweep(service, store, None).run(RetentionPolicy(), clock.now())
    assert report.removed == [] and len(names(service.get_container_client("snapshots"))) == 7

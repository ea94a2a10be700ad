"""Restore against Azurite and two emulated regions: a bad edit, replicated, is undone on both sides."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import ner_project
from shared.errors import InvalidRequest, RunConflict
from shared.recovery.catalogue import SnapshotCatalogue
from shared.recovery.restore import PRIMARY, RestoreRequest, RestoreService
from shared.runs.manifest import FAILED, SUCCEEDED
from shared.storage.snapshots import SnapshotCorrupt
from tests.shared.engine.support import (
    authoring,
    control,
    emulator_jobs,
    export_of,
    harness,
    predict,
    seed,
    wait_job,
)


def bad_edit(client, project: str) -> None:
    """Someone deletes most labels on the primary, retrains and redeploys."""
    export = export_of(client, project)
    broken = copy.deepcopy(export)
    for document in broken["assets"]["documents"]:
        for region in document.get("entities") or []:
            region["labels"] = [label for label in region["labels"] if label["category"] == "Date"]
    wait_job(client, client.start_import(project, json.dumps(broken).encode()))
    wait_job(client, client.start_training(project, model_label="v1", training_config_version="2022-05-01",
                                           evaluation_options={"kind": "manual"}))
    wait_job(client, client.start_deployment(project, "prod", trained_model_label="v1"))


def test_a_replicated_bad_edit_is_undone_by_restoring_the_previous_snapshot_to_both_sides(regions, azurite):
    project = ner_project()
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project, label="v1")
    h = harness(regions, azurite)
    [first] = h.engine.start_runs()
    h.run()
    good_run = h.engine.get_run(project.name, first.run_id)
    assert good_run.status == SUCCEEDED
    good_snapshot = good_run.step("export:v1").detail["snapshot"]
    texts = list(project.documents.values())[:6]
    good = predict(regions.primary, project.name, "prod", project.kind, texts)

    bad_edit(primary, project.name)
    [second] = h.engine.start_runs()
    assert second.status == "started"
    h.run()
    assert h.engine.get_run(project.name, second.run_id).status == SUCCEEDED
    bad = predict(regions.secondary, project.name, "prod", project.kind, texts)
    assert bad != good   # the bad edit reached the secondary

    restores = RestoreService(h.engine)
    to_primary = restores.start(RestoreRequest(good_snapshot, target=PRIMARY, train=True))
    to_secondary = restores.start(RestoreRequest(good_snapshot, target="secondary", train=True))
    assert to_primary.steps == ["check-snapshot", "backup", "documents:restore", "import:restore", "train:v1",
                                "deploy:prod"]
    with pytest.raises(RunConflict):   # one active run per (target, project), replication or restore
        restores.start(RestoreRequest(good_snapshot, target=PRIMARY))
    h.run()
    for start in (to_primary, to_secondary):
        run = h.engine.get_run(project.name, start.run_id)
        assert run.status == SUCCEEDED, run.to_json()
        assert run.context["result"]["restored"] == good_snapshot

    assert predict(regions.primary, project.name, "prod", project.kind, texts) == good
    assert predict(regions.secondary, project.name, "prod", project.kind, texts) == good

    # The bad state was backed up first, so the restore itself can be undone.
    backup = h.engine.get_run(project.name, to_primary.run_id).context["result"]["backup"]
    diff = SnapshotCatalogue(h.engine.snapshots).diff(backup, good_snapshot)
    assert diff.labels_added > 0 and not diff.labels_removed
    # Our own restore on the secondary is not mistaken for someone else's edit.
    states = {entry.target: entry.state.value for entry in h.engine.drift_report().projects}
    assert states["secondary"] != "diverged"


def test_restore_under_another_name_and_without_training(regions, azurite):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, train=False)
    h = harness(regions, azurite)
    info = h.engine.snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="working-copy")
    jobs_before = len(emulator_jobs(regions.secondary))
    start = RestoreService(h.engine).start(RestoreRequest(f"{project.name}@latest", target="secondary",
                                                          project="LoanAgreementsCopy"))
    assert start.steps == ["check-snapshot", "documents:restore", "import:restore"]   # nothing to back up
    h.run()
    assert h.engine.get_run("LoanAgreementsCopy", start.run_id).status == SUCCEEDED
    copied = export_of(authoring(regions.secondary), "LoanAgreementsCopy")
    assert copied["metadata"]["projectName"] == "LoanAgreementsCopy"
    assert len(copied["assets"]["documents"]) == info.documents
    assert not any(job.get("kind") == "train" for job in emulator_jobs(regions.secondary)[jobs_before:])


def test_a_damaged_snapshot_is_refused_before_anything_is_touched(regions, azurite):
    project = ner_project(documents=6)
    h = harness(regions, azurite)
    info = h.engine.snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="working-copy")
    with pytest.raises(InvalidRequest):
        RestoreService(h.engine).start(RestoreRequest(info.name, target="nowhere"))
    with pytest.raises(InvalidRequest):   # a working copy has no label to train
        RestoreService(h.engine).start(RestoreRequest(info.name, target="secondary", train=True))
    blob = h.engine.snapshots._container.get_blob_client(info.name)
    metadata = blob.get_blob_properties().metadata
    data = bytearray(blob.download_blob().readall())
    data[10:12] = b"  "
    blob.upload_blob(bytes(data), overwrite=True, metadata=metadata)
    with pytest.raises(SnapshotCorrupt):
        RestoreService(h.engine).start(RestoreRequest(info.name, target="secondary"))
    assert authoring(regions.secondary).get_project(project.name) is None
    assert h.engine.list_runs(project.name) == []


def test_documents_missing_from_the_primary_fail_the_restore_with_what_to_do(regions, azurite):
    project = ner_project(documents=6)
    h = harness(regions, azurite)
    info = h.engine.snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="working-copy")
    start = RestoreService(h.engine).start(RestoreRequest(info.name, target=PRIMARY))
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == FAILED and run.error["code"] == "DocumentsMissing"
    assert "re-drive" in run.error["message"]
    assert authoring(regions.primary).get_project(project.name) is None


def test_a_restore_training_on_the_primary_can_be_cancelled(regions, azurite):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, label="v1")
    h = harness(regions, azurite)
    info = h.engine.snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="model:v1",
                                         trained_model_label="v1")
    h.clock.advance(timedelta(seconds=1))   # the backup of the same content gets its own name
    # A training long enough (60 s at the regions' time scale) to be caught running.
    control(regions.primary, "/_emulator/durations", {"train": 60000})
    start = RestoreService(h.engine).start(RestoreRequest(info.name, target=PRIMARY, train=True))
    for _ in range(200):
        run = h.engine.get_run(project.name, start.run_id)
        if run.step("train:v1").job_url:
            break
        message, _count = h.scheduler.pop_next() or (None, 0)
        if message is None:
            h.clock.advance(timedelta(seconds=30))
            continue
        h.engine.advance(message)
    assert run.step("train:v1").job_url
    cancelled = h.engine.cancel_run(project.name, start.run_id)
    assert cancelled.status == "cancelled"
    trainings = [job for job in emulator_jobs(regions.primary) if job["kind"] == "train"]
    assert trainings[-1]["status"] in ("cancelling", "cancelled")


def test_a_target_is_restored_while_the_primary_region_is_down(regions, azurite):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, label="v1")
    h = harness(regions, azurite)
    [first] = h.engine.start_runs()
    h.run()
    snapshot = h.engine.get_run(project.name, first.run_id).step("export:v1").detail["snapshot"]
    texts = list(project.documents.values())[:3]
    before = predict(regions.secondary, project.name, "prod", project.kind, texts)
    # The whole primary region is gone: its Language resource and its documents.
    regions.primary.kill()
    BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")).delete_container(
        project.container)
    h.clock.advance(timedelta(seconds=1))

    start = RestoreService(h.engine).start(RestoreRequest(snapshot, target="secondary", train=True))
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    assert predict(regions.secondary, project.name, "prod", project.kind, texts) == before

"""Rollback without an import: a model still on the target loads its own training data back."""

from __future__ import annotations

import copy
import json

from localdev.sample_project import ner_project
from shared.recovery.restore import PRIMARY, RestoreRequest, RestoreService
from shared.runs.manifest import SUCCEEDED
from tests.shared.engine.support import authoring, emulator_jobs, export_of, harness, seed, wait_job


def replicated_then_edited(regions, azurite):
    """v1 trained and replicated (its snapshot records its modelId), then the working copy edited."""
    project = ner_project()
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project, label="v1")
    h = harness(regions, azurite)
    [first] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(project.name, first.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    snapshot = run.step("export:v1").detail["snapshot"]
    edited = copy.deepcopy(export_of(primary, project.name))
    for document in edited["assets"]["documents"]:
        for region in document.get("entities") or []:
            region["labels"] = region["labels"][:1]
    wait_job(primary, primary.start_import(project.name, json.dumps(edited).encode()))
    return project, primary, snapshot


def test_the_models_own_snapshot_is_loaded_back_and_redeployed_without_import_or_training(regions, azurite):
    project, primary, snapshot = replicated_then_edited(regions, azurite)
    model = primary.get_model(project.name, "v1")
    assert model and model["hasSnapshot"]
    h = harness(regions, azurite)
    assert h.engine.snapshots.get(snapshot).model_id == model["modelId"]

    jobs_before = len(emulator_jobs(regions.primary))
    start = RestoreService(h.engine).start(RestoreRequest(snapshot, target=PRIMARY))
    assert start.steps == ["check-snapshot", "backup", "load-snapshot:v1", "deploy:prod"]
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    assert run.context["result"]["loadedSnapshot"] is True
    assert any("no import, no training" in reason for reason in run.reasons)  # it says so

    kinds = [job.get("kind") for job in emulator_jobs(regions.primary)[jobs_before:]]
    assert "import" not in kinds and "train" not in kinds and "load-snapshot" in kinds
    assert export_of(primary, project.name)["assets"] == export_of(primary, project.name, "v1")["assets"]
    assert primary.get_model(project.name, "v1")["modelId"] == model["modelId"]


def test_on_2022_05_01_there_is_no_load_snapshot_the_restore_imports(regions, azurite):
    _, _, snapshot = replicated_then_edited(regions, azurite)
    h = harness(regions, azurite, LANGUAGE_API_VERSION="2022-05-01")
    start = RestoreService(h.engine).start(RestoreRequest(snapshot, target=PRIMARY))
    assert "import:restore" in start.steps and not any(s.startswith("load-snapshot") for s in start.steps)


def test_a_model_retrained_since_the_snapshot_is_not_loaded_back(regions, azurite):
    project, primary, snapshot = replicated_then_edited(regions, azurite)
    wait_job(primary, primary.start_training(project.name, model_label="v1",
                                             training_config_version="2022-05-01"))
    h = harness(regions, azurite)
    start = RestoreService(h.engine).start(RestoreRequest(snapshot, target=PRIMARY))
    assert "import:restore" in start.steps
    assert authoring(regions.primary).get_model(project.name, "v1")["modelId"] != \
        h.engine.snapshots.get(snapshot).model_id

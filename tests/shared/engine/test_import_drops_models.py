"""Replication where the target's import drops the project's trained models and deployments.

Whether `:import` over an existing project keeps its models is undocumented; the emulator keeps them by
default and drops them with `importKeepsModels: false`. The engine must converge either way, without a
second billed job for any step.
"""

import copy
import json

import pytest

from localdev.sample_project import ner_project
from shared.runs.manifest import SKIPPED, SUCCEEDED

from .support import authoring, control, emulator_jobs, harness, predict, seed, train_and_deploy, wait_job


@pytest.fixture
def seeded(regions, azurite):
    project = ner_project()
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    # A second label behind a second deployment: importing v2's data drops v1's model too.
    train_and_deploy(primary, project.name, "v2", "staging")
    control(regions.secondary, "/_emulator/behaviour", {"importKeepsModels": False})
    # Two replications in one day train up to five times here: above the default daily cap of three.
    return project, primary, harness(regions, azurite, MAX_TRAININGS_PER_PROJECT_PER_DAY="10")


def replicate(h, project):
    [start] = h.engine.start_runs()
    assert start.status == "started", start
    h.run()
    return h.engine.get_run(project.name, start.run_id)


def trainings(region):
    return [job for job in emulator_jobs(region) if job["kind"] == "train"]


def assert_serves_like_the_primary(regions, project):
    secondary = authoring(regions.secondary)
    for deployment, label in (("prod", "v1"), ("staging", "v2")):
        assert secondary.get_deployment(project.name, deployment)["modelId"] == secondary.get_model(
            project.name, label)["modelId"]
        texts = list(project.documents.values())[:3]
        assert predict(regions.secondary, project.name, deployment, project.kind, texts) == predict(
            regions.primary, project.name, deployment, project.kind, texts)


def test_models_dropped_by_the_import_are_retrained_once_and_deployed(regions, seeded):
    project, _, h = seeded
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    names = [step.name for step in run.steps]
    assert names[names.index("import:working") + 1:][:2] == ["retrain:v1", "retrain:v2"]
    assert any("dropped its trained models (v1)" in warning for warning in run.warnings), run.warnings
    assert_serves_like_the_primary(regions, project)
    # v1 was trained before v2's import showed that imports drop models; v2's own training was then
    # skipped as wasted. One billed job per training step, never a second one for the same step.
    assert run.step("train:v1").status == SUCCEEDED
    assert run.step("train:v2").status == SKIPPED
    train_steps = [step for step in run.steps if step.kind == "train" and step.status == SUCCEEDED]
    assert all(step.attempts == 1 for step in train_steps)
    assert len(trainings(regions.secondary)) == len(train_steps) == 3

    jobs_before = len(emulator_jobs(regions.secondary))
    [again] = h.engine.start_runs()
    assert again.status == "in_sync", again
    assert len(emulator_jobs(regions.secondary)) == jobs_before


def test_a_working_copy_change_alone_still_ends_with_every_model_deployed(regions, seeded):
    project, primary, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    trained_before = len(trainings(regions.secondary))
    # Someone labels on the primary without retraining: only the working copy changed.
    edited = copy.deepcopy(project.export)
    edited["assets"]["documents"][0]["entities"][0]["labels"].pop()
    wait_job(primary, primary.start_import(project.name, json.dumps(edited).encode()))
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    # The models did not change, so their own trainings are skipped; the working copy's import drops
    # them, so each is trained once more, after it.
    assert {step.name for step in run.steps if step.status == SKIPPED and step.kind == "train"} == {
        "train:v1", "train:v2"}
    assert run.step("import:working").status == SUCCEEDED
    assert run.step("retrain:v1").status == run.step("retrain:v2").status == SUCCEEDED
    assert len(trainings(regions.secondary)) == trained_before + 2
    assert_serves_like_the_primary(regions, project)


def test_with_the_default_behaviour_nothing_is_retrained(regions, seeded):
    project, _, h = seeded
    control(regions.secondary, "/_emulator/behaviour", {"importKeepsModels": True})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert not [step for step in run.steps if step.name.startswith("retrain:")]
    assert len(trainings(regions.secondary)) == 2
    assert_serves_like_the_primary(regions, project)

"""CLU and orchestration projects replicated end to end against Azurite and two emulated regions: the
conversations route family, no documents step, the primary's trainingMode, verify by utterance."""

from __future__ import annotations

import json
from typing import Any

from localdev.conversation_samples import clu_project, orchestration_project
from shared.language.authoring import AuthoringClient
from shared.language.credentials import KeyAuth
from shared.language.runtime import RuntimeClient, SampleDocument, conversation_prediction
from shared.runs.manifest import SUCCEEDED

from .support import authoring, emulator_jobs, export_of, harness, wait_job

CLU = "CoffeeOrders"
ORCHESTRATION = "FrontDesk"


def seed_conversation(client: AuthoringClient, body: dict[str, Any], *, mode: str = "standard",
                      label: str = "v1", deployment: str = "production") -> None:
    name = body["metadata"]["projectName"]
    kind = body["metadata"]["projectKind"]
    wait_job(client, client.start_import(name, json.dumps(body).encode(), kind=kind))
    wait_job(client, client.start_training(name, model_label=label, training_config_version="latest",
                                           training_mode=mode, evaluation_options={"kind": "manual"}))
    wait_job(client, client.start_deployment(name, deployment, trained_model_label=label))


def ask(region: Any, project: str, texts: list[str], deployment: str = "production") -> list[Any]:
    client = RuntimeClient(region.endpoint, KeyAuth(region.key))
    return [conversation_prediction(client.analyze_conversation(
        project, deployment, SampleDocument(str(i), text, "en-us"))) for i, text in enumerate(texts)]


def without_version(export: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in export.items() if key != "projectFileVersion"}


def test_a_clu_project_replicates_with_the_primarys_training_mode_and_verifies(regions, azurite):
    body = clu_project(CLU)
    primary = authoring(regions.primary)
    seed_conversation(primary, body, mode="advanced")
    h = harness(regions, azurite, project=CLU)

    [start] = h.engine.start_runs()
    assert start.status == "started", start
    h.run()
    run = h.engine.get_run(CLU, start.run_id)
    assert run.status == SUCCEEDED, (run.to_json(), h.scheduler.poisoned)
    assert not any(step.name.startswith("documents:") for step in run.steps)   # utterances travel inline
    train = run.step("train:v1")
    assert train.detail["trainingMode"] == "advanced" and not train.warnings
    verify = run.step("verify")
    assert verify.detail["agreement"] == 1.0 and verify.detail["compared"] == len(verify.detail["sample"]) > 0

    secondary = authoring(regions.secondary)
    assert without_version(export_of(secondary, CLU)) == without_version(export_of(primary, CLU))
    [job] = secondary.list_training_jobs(CLU)
    assert job["result"]["trainingMode"] == "advanced"
    primary_model = primary.get_model(CLU, "v1")
    assert primary_model is not None
    assert job["result"]["trainingConfigVersion"] == primary_model["modelTrainingConfigVersion"]
    texts = [u["text"] for u in body["assets"]["utterances"][:8]] + ["two large latte at 5pm, ORD-12345"]
    assert ask(regions.secondary, CLU, texts) == ask(regions.primary, CLU, texts)

    record = h.engine.sync_records.get("secondary", CLU)
    assert record is not None and record.training_modes == {"v1": "advanced"}
    jobs_before = len(emulator_jobs(regions.secondary))
    [again] = h.engine.start_runs()
    assert again.status == "in_sync", again
    assert len(emulator_jobs(regions.secondary)) == jobs_before


def test_an_orchestration_replicates_and_routes_alike_in_both_regions(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU))
    seed_conversation(primary, orchestration_project(ORCHESTRATION))
    h = harness(regions, azurite, project=f"{ORCHESTRATION},{CLU}")
    # The CLU project first, whatever the settings' order: the orchestration trains on it, so it waits
    # and the CLU project's run starts it (shared.replication.dependencies).
    starts = h.engine.start_runs()
    assert [(s.project, s.status) for s in starts] == [(CLU, "started"), (ORCHESTRATION, "waiting")], starts
    h.run()
    [clu_run], [run] = h.engine.list_runs(CLU), h.engine.list_runs(ORCHESTRATION)
    assert (clu_run.status, run.status) == (SUCCEEDED, SUCCEEDED), (run.to_json(), h.scheduler.poisoned)
    assert run.trigger == "dependency" and run.created_at >= clu_run.finished_at
    verify = run.step("verify")
    assert verify.detail["agreement"] == 1.0
    texts = ["two large latte please", "do you have wifi", "tell me a joke", "cancel my order ORD-12345"]
    answers = ask(regions.secondary, ORCHESTRATION, texts)
    assert answers == ask(regions.primary, ORCHESTRATION, texts)
    assert ("target", "Conversation") in answers[0] and ("target", "QuestionAnswering") in answers[1]
    drift = h.engine.drift_report()
    states = {(p.project, p.state.value) for p in drift.projects}
    assert states == {(CLU, "in_sync"), (ORCHESTRATION, "in_sync")}


def test_an_expired_training_job_leaves_the_default_mode_and_says_so(regions, azurite):
    from .support import control

    seed_conversation(authoring(regions.primary), clu_project(CLU), mode="advanced")
    control(regions.primary, "/_emulator/jobs/expire", {"api": "conversations", "project": CLU})
    h = harness(regions, azurite, project=CLU, CLU_DEFAULT_TRAINING_MODE="standard")
    [start] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(CLU, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    train = run.step("train:v1")
    assert train.detail["trainingMode"] == "standard"
    assert any("the mode CLU_DEFAULT_TRAINING_MODE sets" in warning for warning in run.warnings)
    [job] = authoring(regions.secondary).list_training_jobs(CLU)
    assert job["result"]["trainingMode"] == "standard"
    [entry] = h.engine.drift_report().projects
    assert entry.state.value == "in_sync"
    assert any("trainingMode of model 'v1' is unknown" in risk for risk in entry.risks)

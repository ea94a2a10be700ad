"""Every feature for a CLU project, as for custom NER, against Azurite and two emulated regions: drift
(signals, diverged, recovery point age), snapshots + catalogue + diff + restore into a longer name,
retention, `*` over both route families, expiry watch, the HTTP API and the CLI."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.conversation_samples import clu_project
from localdev.sample_project import ner_project
from localdev.services import EmulatorRegion
from shared.cli.main import EXIT_DRIFT, EXIT_OK, main
from shared.errors import InvalidRequest
from shared.language.authoring import AuthoringClient
from shared.recovery.catalogue import SnapshotCatalogue
from shared.recovery.expiry import check_expiry
from shared.recovery.restore import RestoreRequest, RestoreService
from shared.replication.drift import DriftState
from shared.runs.manifest import SUCCEEDED
from shared.settings import Settings
from tests.conftest import TEST_TIME_SCALE
from tests.shared.recovery.test_maintenance import THIRD, two_targets

from .support import authoring, control, export_of, harness, seed, settings_values, wait_job
from .test_conversation_projects import CLU, seed_conversation

LONG_NAME = "CoffeeOrders-restored-" + "r" * 68   # 90 characters: a conversation project may have it


def replicated(regions: Any, azurite: Any, **extra: str) -> Any:
    h = harness(regions, azurite, project=CLU, **extra)
    [start] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(CLU, start.run_id)
    assert run.status == SUCCEEDED, (run.to_json(), h.scheduler.poisoned)
    return h


def edited(client: AuthoringClient, *, utterance: str = "a flat white for Sam at noon") -> dict[str, Any]:
    """Someone adds an utterance and a list synonym on `client`'s side (no retraining)."""
    body = copy.deepcopy(export_of(client, CLU))
    body["assets"]["utterances"].append({"text": utterance, "language": "en-us", "intent": "OrderDrink",
                                         "dataset": "Train"})
    body["assets"]["entities"][0]["list"]["sublists"][0]["synonyms"][0]["values"].append("cortado")
    wait_job(client, client.start_import(CLU, json.dumps(body).encode(), kind="Conversation"))
    return body


def state_of(h: Any) -> Any:
    [entry] = h.engine.drift_report().projects
    return entry


def test_drift_sees_every_signal_of_a_clu_project(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU))
    h = replicated(regions, azurite)
    entry = state_of(h)
    assert entry.state is DriftState.IN_SYNC and entry.recovery_point_age is not None and not entry.risks

    edited(primary)   # the working copy changed
    entry = state_of(h)
    assert entry.state is DriftState.DRIFTED and entry.reasons
    [again] = h.engine.start_runs()
    h.run()
    assert h.engine.get_run(CLU, again.run_id).status == SUCCEEDED
    assert state_of(h).state is DriftState.IN_SYNC

    # A new model deployed on the primary is drift; the run trains it with the primary's mode.
    wait_job(primary, primary.start_training(CLU, model_label="v2", training_config_version="latest",
                                             training_mode="advanced"))
    wait_job(primary, primary.start_deployment(CLU, "production", trained_model_label="v2"))
    assert state_of(h).state is DriftState.DRIFTED
    [third] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(CLU, third.run_id)
    assert run.status == SUCCEEDED and run.step("train:v2").detail["trainingMode"] == "advanced"

    edited(authoring(regions.secondary), utterance="someone edited the replica")   # the target changed
    entry = state_of(h)
    assert entry.state is DriftState.DIVERGED
    [refused] = h.engine.start_runs()
    assert refused.status == "diverged"


def test_snapshots_diff_and_restore_of_a_clu_project_into_a_longer_name(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU), mode="advanced")
    h = replicated(regions, azurite)
    edited(primary)
    [again] = h.engine.start_runs(force=True)
    h.run()
    assert h.engine.get_run(CLU, again.run_id).status == SUCCEEDED

    catalogue = SnapshotCatalogue(h.engine.snapshots)
    working = [info for info in catalogue.list(CLU) if info.reason == "working-copy"]
    assert len(working) == 2
    newer, older = working   # newest first
    shown = catalogue.show(newer.name)
    assert shown["verified"] and shown["documents"] == len(clu_project(CLU)["assets"]["utterances"]) + 1
    assert "OrderDrink" in shown["categoryNames"] and "Drink" in shown["categoryNames"]
    diff = catalogue.diff(older.name, newer.name)
    assert diff.documents_added == ("a flat white for Sam at noon",)
    assert "entities Drink: definition changed" in diff.metadata_changed
    assert diff.labels_added == 1   # the new utterance's intent

    restores = RestoreService(h.engine)
    with pytest.raises(InvalidRequest):
        restores.start(RestoreRequest(older.name, target="secondary", project="x" * 101))
    model_snapshot = next(info.name for info in catalogue.list(CLU) if info.reason == "model:v1")
    start = restores.start(RestoreRequest(model_snapshot, target="secondary", project=LONG_NAME, train=True,
                                          deployments=["production"]))
    assert start.steps == ["check-snapshot", "import:restore", "train:v1", "deploy:production"]
    h.run()
    run = h.engine.get_run(LONG_NAME, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    # Trained with the mode the syncs recorded for the primary's model, not the default.
    assert run.step("train:v1").detail["trainingMode"] == "advanced" and not run.warnings
    secondary = authoring(regions.secondary)
    restored = secondary.get_project(LONG_NAME)
    assert restored is not None and restored["projectKind"] == "Conversation"
    assert secondary.get_deployment(LONG_NAME, "production") is not None


def test_every_supported_kind_is_replicated_with_a_star(regions, azurite):
    text = ner_project(documents=10)
    seed(regions.primary, azurite.connection_string("primarydocs"), text)
    seed_conversation(authoring(regions.primary), clu_project(CLU))
    h = harness(regions, azurite, project="*")
    assert set(h.engine.replicated_projects()) == {text.name, CLU}
    starts = h.engine.start_runs()
    assert {(s.project, s.status) for s in starts} == {(text.name, "started"), (CLU, "started")}
    h.run()
    for start in starts:
        assert h.engine.get_run(start.project, start.run_id).status == SUCCEEDED
    report = h.engine.drift_report()
    assert {(p.project, p.state) for p in report.projects} == {(text.name, DriftState.IN_SYNC),
                                                                (CLU, DriftState.IN_SYNC)}


def test_expiry_watch_covers_conversation_models_deployments_and_training_configs(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU))
    h = replicated(regions, azurite)
    [model] = primary.list_models(CLU)
    config = str(model["modelTrainingConfigVersion"])
    control(regions.primary, "/_emulator/expiry/models",
            {"api": "conversations", "project": CLU, "label": "v1", "inDays": 3})
    control(regions.secondary, "/_emulator/expiry/deployments",
            {"api": "conversations", "project": CLU, "deployment": "production", "inDays": 5})
    control(regions.secondary, "/_emulator/expiry/training-configs",
            {"api": "conversations", "trainingConfigVersion": config, "inDays": 10})
    sides = {"primary": h.engine.primary, "secondary": h.engine.targets["secondary"].authoring}
    report = check_expiry(sides, [CLU], h.clock.now(), 14)
    subjects = {(w.side, w.subject) for w in report.warnings}
    assert {("primary", "model v1"), ("secondary", "deployment production"),
            ("secondary", f"training config {config}")} <= subjects, report.to_text()
    control(regions.primary, "/_emulator/expiry/deployments",
            {"api": "conversations", "project": CLU, "deployment": "production", "inDays": 2})
    assert any("deployment 'production' expires" in risk for risk in state_of(h).risks)


def test_the_http_api_and_the_cli_replicate_a_clu_project(regions, azurite):
    from tests.shared.functions.app_under_test import engine_for, queue_host, serving
    from tests.shared.functions.host import http_request, json_body, registered

    seed_conversation(authoring(regions.primary), clu_project(CLU))
    host = queue_host(azurite)
    with serving(engine_for(regions, azurite, project=CLU)):
        started = registered("start_replications")(http_request("POST", "replications",
                                                                body={"projects": [CLU]}))
        assert started.status_code == 202, started.get_body()
        [run] = json_body(started)["runs"]
        host.drain()
        params = {"project": CLU, "runId": run["runId"]}
        polled = registered("get_replication")(http_request(
            "GET", f"replications/{CLU}/{run['runId']}", route_params=params))
        manifest = json_body(polled)
        assert manifest["status"] == "succeeded", manifest
        assert "documents" not in {step["kind"] for step in manifest["steps"]}

    values = settings_values(regions, azurite, CLU, SNAPSHOT_STORAGE="AzureWebJobsStorage")
    out, err = io.StringIO(), io.StringIO()

    def engine_factory(settings: Settings) -> Any:
        from localdev.demo import scaled_engine

        return scaled_engine(settings, 0.001)

    code = main(["drift"], environ=values, out=out, err=err, engine_factory=engine_factory)
    assert code == EXIT_OK, out.getvalue() + err.getvalue()
    assert f"{CLU}  secondary  in_sync" in out.getvalue()
    edited(authoring(regions.primary))
    out = io.StringIO()
    assert main(["drift"], environ=values, out=out, err=err, engine_factory=engine_factory) == EXIT_DRIFT
    out = io.StringIO()
    code = main(["snapshots", "list", CLU], environ=values, out=out, err=err, engine_factory=engine_factory)
    assert code == EXIT_OK and "working-copy" in out.getvalue()


@pytest.fixture
def third_region(azurite: Any) -> Iterator[EmulatorRegion]:
    """A third emulated region (a second target)."""
    region = EmulatorRegion(azurite.connection_string(), region=THIRD, time_scale=TEST_TIME_SCALE)
    region.start()
    try:
        yield region
    finally:
        region.stop()


def test_several_targets_each_get_the_clu_project(regions, azurite, third_region):
    seed_conversation(authoring(regions.primary), clu_project(CLU), mode="advanced")
    h = harness(regions, azurite, project=CLU, **two_targets(third_region, azurite))
    starts = h.engine.start_runs()
    assert [(s.target, s.status) for s in starts] == [("secondary", "started"), (THIRD, "started")]
    h.run()
    primary_export = export_of(authoring(regions.primary), CLU)
    for start, region in zip(starts, (regions.secondary, third_region), strict=True):
        run = h.engine.get_run(CLU, start.run_id)
        assert run.status == SUCCEEDED, run.to_json()
        client = authoring(region)
        assert export_of(client, CLU)["assets"] == primary_export["assets"]
        assert [job["result"]["trainingMode"] for job in client.list_training_jobs(CLU)] == ["advanced"]
    assert {(p.target, p.state) for p in h.engine.drift_report().projects} == {
        ("secondary", DriftState.IN_SYNC), (THIRD, DriftState.IN_SYNC)}

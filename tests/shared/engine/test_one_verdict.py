"""One verdict: the daily check and the run's plan agree, failed runs heal, retrains keep deployments.

Against Azurite and two emulated regions. Every scenario compares the drift report's state (what the
timer, `drift` and GET /api/drift show) with the dry-run plan's state (what `replicate --dry-run` and
the run itself decide): both come from shared.replication.verdict.classify. The report is taken both
ways the daily check observes: in full (a GET per project) and from the resources' project lists alone
(between full passes), and each change must be caught by the way that should catch it.
"""

from __future__ import annotations

import json

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import ner_project
from shared.language import retry
from shared.replication.drift import OBSERVED_FROM_LISTS, OBSERVED_IN_FULL
from shared.replication.verdict import UNFINISHED_RUN, DriftState
from shared.runs.manifest import FAILED, SUCCEEDED

from .support import authoring, control, export_of, harness, retrain, seed, train_and_deploy, wait_job


@pytest.fixture
def world(regions, azurite):
    project = ner_project(documents=10)
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    with retry.testing(sleep=h.clock.sleep):
        yield project, primary, h


def replicate(h, project):
    [start] = h.engine.start_runs()
    assert start.status == "started", start
    h.run()
    return h.engine.get_run(project.name, start.run_id)


def verdicts(h, project, *, full: bool | None = None) -> tuple[DriftState, str]:
    """(the drift report's state, the dry-run plan's state) for the one project and target."""
    entry = h.engine.drift_report(full=full).project(project.name)
    [planned] = h.engine.start_runs(dry_run=True)
    assert planned.plan is not None, planned
    return entry.state, planned.plan["state"]


def both_paths(h, project):
    """The report observed from the project lists alone, then in full (neither writes anything)."""
    return (h.engine.drift_report(full=False).project(project.name),
            h.engine.drift_report(full=True).project(project.name))


def edit_labels(client, project):
    changed = export_of(client, project.name)
    changed["assets"]["documents"][0]["entities"][0]["labels"].pop()
    wait_job(client, client.start_import(project.name, json.dumps(changed).encode()))


def edit_document(azurite, project):
    container = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")) \
        .get_container_client(project.container)
    location = next(iter(project.documents))
    container.upload_blob(location, (project.documents[location] + " Amended.").encode(), overwrite=True)


def edit_secondary(regions, project):
    secondary = authoring(regions.secondary)
    edited = export_of(secondary, project.name)
    edited["metadata"]["description"] = "edited in the secondary during an outage"
    wait_job(secondary, secondary.start_import(project.name, json.dumps(edited).encode()))


SCENARIOS = {
    "in sync": lambda regions, azurite, primary, project: None,
    "labels edited": lambda regions, azurite, primary, project: edit_labels(primary, project),
    "saved unchanged": lambda regions, azurite, primary, project: wait_job(primary, primary.start_import(
        project.name, json.dumps(export_of(primary, project.name)).encode())),
    "document edited": lambda regions, azurite, primary, project: edit_document(azurite, project),
    "retrained, not redeployed": lambda regions, azurite, primary, project: retrain(
        primary, project.name, "v1"),
    "retrained and redeployed": lambda regions, azurite, primary, project: train_and_deploy(
        primary, project.name, "v1", "prod"),
    "deployment added": lambda regions, azurite, primary, project: wait_job(primary, primary.start_deployment(
        project.name, "staging", trained_model_label="v1")),
    "deployment deleted": lambda regions, azurite, primary, project: wait_job(
        primary, primary.delete_deployment(project.name, "prod")),
    "secondary edited": lambda regions, azurite, primary, project: edit_secondary(regions, project),
    "secondary deleted": lambda regions, azurite, primary, project: wait_job(
        authoring(regions.secondary), authoring(regions.secondary).delete_project(project.name)),
    "secondary retrained": lambda regions, azurite, primary, project: retrain(
        authoring(regions.secondary), project.name, "v1"),
    "secondary deployment deleted": lambda regions, azurite, primary, project: wait_job(
        authoring(regions.secondary), authoring(regions.secondary).delete_deployment(project.name, "prod")),
}
EXPECTED = {
    "in sync": DriftState.IN_SYNC, "labels edited": DriftState.DRIFTED, "saved unchanged": DriftState.IN_SYNC,
    "document edited": DriftState.DRIFTED, "retrained, not redeployed": DriftState.IN_SYNC,
    "retrained and redeployed": DriftState.DRIFTED, "deployment added": DriftState.DRIFTED,
    "deployment deleted": DriftState.DRIFTED, "secondary edited": DriftState.DIVERGED,
    "secondary deleted": DriftState.MISSING, "secondary retrained": DriftState.DRIFTED,
    "secondary deployment deleted": DriftState.DRIFTED,
}
# Changes that move no project timestamp (in the emulator): the project lists cannot show them, so only the
# full pass (every DRIFT_FULL_CHECK_DAYS) finds them.
TIMESTAMP_LESS = {"deployment deleted", "secondary deployment deleted"}
# Decided from the project lists (no timestamp moved); every other change makes the check read per project.
FROM_LISTS = {"in sync", "document edited"} | TIMESTAMP_LESS


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_report_and_the_plan_reach_the_same_state(world, regions, azurite, scenario):
    project, primary, h = world
    assert replicate(h, project).status == SUCCEEDED

    SCENARIOS[scenario](regions, azurite, primary, project)
    from_lists, in_full = both_paths(h, project)
    report_state, plan_state = verdicts(h, project, full=True)

    assert in_full.state == report_state == plan_state == EXPECTED[scenario], in_full
    assert in_full.observed == OBSERVED_IN_FULL
    # The cheap path reaches the same verdict, through the same classify, unless no timestamp moved.
    assert from_lists.state == (DriftState.IN_SYNC if scenario in TIMESTAMP_LESS else EXPECTED[scenario])
    assert from_lists.observed == (OBSERVED_FROM_LISTS if scenario in FROM_LISTS else OBSERVED_IN_FULL)
    if EXPECTED[scenario] in (DriftState.DRIFTED, DriftState.MISSING):
        # What the plan says is repaired is repaired, and the check then says so twice, both ways.
        assert replicate(h, project).status == SUCCEEDED
        assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")
        assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")
        from_lists, in_full = both_paths(h, project)
        assert from_lists.state == in_full.state == DriftState.IN_SYNC
        assert from_lists.observed == OBSERVED_FROM_LISTS  # the run recorded both sides' timestamps


@pytest.mark.parametrize("kind", ["train", "deploy", "import"])
def test_after_a_failed_run_the_next_timer_tick_repairs_the_replica(world, regions, kind):
    project, primary, h = world
    assert replicate(h, project).status == SUCCEEDED
    edit_labels(primary, project)
    train_and_deploy(primary, project.name, "v1", "prod")  # so the run imports, trains and deploys
    control(regions.secondary, "/_emulator/faults/jobs",
            {"kind": kind, "count": 5, "code": "InvalidRequest", "message": "Bad day."})
    assert replicate(h, project).status == FAILED
    control(regions.secondary, "/_emulator/faults/clear", {})

    entry = h.engine.drift_report().project(project.name)
    assert entry.state is DriftState.DRIFTED, entry  # never "diverged": the change on the target was ours
    assert verdicts(h, project)[1] == "drifted"
    tick = h.engine.timer_tick()
    [start] = tick.started
    assert start.status == "started" and not tick.diverged, tick.to_json()
    h.run()

    assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
    assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")


def test_a_failed_first_run_is_ours_too_and_a_person_s_edit_after_it_is_diverged(world, regions):
    project, _, h = world
    control(regions.secondary, "/_emulator/faults/jobs",
            {"kind": "train", "count": 5, "code": "InvalidRequest", "message": "Bad day."})
    assert replicate(h, project).status == FAILED
    control(regions.secondary, "/_emulator/faults/clear", {})

    entry = h.engine.drift_report().project(project.name)
    assert entry.state is DriftState.DRIFTED and entry.reasons[0].startswith(UNFINISHED_RUN), entry

    edit_secondary(regions, project)
    assert verdicts(h, project) == (DriftState.DIVERGED, "diverged")


def test_a_superseded_model_the_target_never_had_is_replaced_by_the_newest_and_stays_in_sync(world, regions):
    project, primary, h = world
    retrain(primary, project.name, "v1")  # "prod" keeps serving the first model of v1

    run = replicate(h, project)

    assert run.status == SUCCEEDED, run.to_json()
    assert any("deployment prod serves a superseded model that cannot be reproduced" in warning
               for warning in run.warnings), run.warnings
    assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")
    assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")
    # A redeploy on the primary is drift again, and the target then follows it.
    wait_job(primary, primary.start_deployment(project.name, "prod", trained_model_label="v1"))
    assert verdicts(h, project) == (DriftState.DRIFTED, "drifted")
    assert replicate(h, project).status == SUCCEEDED
    assert verdicts(h, project) == (DriftState.IN_SYNC, "in_sync")


def test_after_a_successful_run_a_forced_dry_run_names_no_unfinished_run(world):
    project, _, h = world
    assert replicate(h, project).status == SUCCEEDED

    [planned] = h.engine.start_runs(dry_run=True, force=True)

    assert planned.plan is not None and planned.plan["reasons"] == ["forced"], planned


@pytest.mark.parametrize("scenario", ["in sync", "labels edited", "secondary edited"])
def test_a_promoted_target_is_promoted_in_the_report_and_the_plan_whatever_changed(
        world, regions, azurite, scenario):
    project, primary, h = world
    assert replicate(h, project).status == SUCCEEDED
    h.engine.promote(by="test", reason="drill")

    SCENARIOS[scenario](regions, azurite, primary, project)

    assert verdicts(h, project) == (DriftState.PROMOTED, "promoted")
    [forced] = h.engine.start_runs(force=True)
    assert forced.status == "promoted" and forced.run_id is None
    assert not h.engine.timer_tick().started

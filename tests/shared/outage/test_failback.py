"""A regional outage end to end, against Azurite and two emulated regions.

The primary goes down; the secondary is promoted and worked on (labels, a retrain, a redeploy); the
primary returns; failback brings that work home and returns to normal direction. Every claim of the
how-to "During a regional outage" is checked here: what is written where, what is backed up, and
that no training is submitted twice.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from language_failover.routing import RoutingFollower, blob_reader, normalize_endpoint
from localdev.sample_project import ner_project
from shared.errors import InvalidRequest
from shared.language import retry
from shared.outage.failback import OriginalPrimaryDown
from shared.outage.promote import ACTING_SNAPSHOT, ORIGINAL, PRE_FAILBACK
from shared.replication.verdict import DriftState, FailbackChange
from shared.runs.manifest import SUCCEEDED
from tests.failover_client.test_routing import sas_url

from ..engine.support import (
    authoring,
    control,
    emulator_jobs,
    export_of,
    harness,
    predict,
    seed,
    train_and_deploy,
    wait_job,
)

TEXTS = ["The borrower John Smith agrees to repay 5000 dollars to Contoso Bank by 2025-01-01.",
         "Fabrikam Credit lends 12000 euros to Maria Garcia, due on 2024-06-30."]


@pytest.fixture
def world(regions, azurite):
    project = ner_project(documents=10)
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    with retry.testing(sleep=h.clock.sleep):
        [start] = h.engine.start_runs()
        h.run()
        assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
        try:
            yield project, primary, h
        finally:
            outage(regions.primary, None)


def outage(region, mode: str | None) -> None:
    control(region, "/_emulator/faults/outage", {"mode": mode})


def edit_labels(client, project: str, description: str) -> None:
    """Drop one label of the first document, and say who edited."""
    edited = export_of(client, project)
    edited["assets"]["documents"][0]["entities"][0]["labels"].pop()
    edited["metadata"]["description"] = description
    wait_job(client, client.start_import(project, json.dumps(edited).encode()))


def labels(client, project: str) -> list[Any]:
    return sorted((document["location"], json.dumps(document.get("entities"), sort_keys=True))
                  for document in export_of(client, project)["assets"]["documents"])


def trainings(region, project: str) -> int:
    return sum(1 for job in emulator_jobs(region) if job["kind"] == "train" and job["project"] == project)


def promote(h, reason: str = "eastus is down"):
    return h.engine.promote(by="oncall@example.com", reason=reason)


def test_outage_promote_edit_return_failback(world, regions, azurite):
    project, primary, h = world
    secondary = authoring(regions.secondary)
    primary_trainings = trainings(regions.primary, project.name)
    outage(regions.primary, "503")

    report = promote(h)

    assert report.projects == [project.name]
    promotion = h.engine.promotion()
    assert promotion is not None and promotion.target == "secondary"
    assert (promotion.promoted_by, promotion.reason) == ("oncall@example.com", "eastus is down")
    assert promotion.endpoint == regions.secondary.endpoint
    assert [h.engine.snapshots.get(name).reason for name in report.snapshots] == [ACTING_SNAPSHOT]
    # The daily check, drift and every start leave the acting primary alone, even forced.
    assert h.engine.drift_report().project(project.name).state is DriftState.PROMOTED
    [start] = h.engine.start_runs(force=True)
    assert start.status == "promoted" and start.run_id is None
    with pytest.raises(InvalidRequest):
        promote(h)  # one promotion at a time
    # What callers' failover clients read, with Blob Data Reader on the routing container alone.
    follower = RoutingFollower(blob_reader(sas_url(azurite, "routing", "promotion.json"), None), ttl=0)
    assert follower.preferred_endpoint() == normalize_endpoint(regions.secondary.endpoint)

    # Work goes on on the acting primary: labels, a retrain, a redeploy.
    edit_labels(secondary, project.name, "edited on the acting primary")
    train_and_deploy(secondary, project.name, "v1", "prod")
    tick = h.engine.timer_tick()
    assert any("acting primary snapshotted" in warning for warning in tick.warnings), tick.warnings
    assert not tick.started or all(s.status != "started" for s in tick.started)
    again = h.engine.timer_tick()  # nothing moved since: no new snapshot
    assert not any("acting primary snapshotted" in warning for warning in again.warnings), again.warnings

    with pytest.raises(OriginalPrimaryDown):
        h.engine.failback()
    outage(regions.primary, None)
    failback = h.engine.failback()

    [entry] = failback.entries
    assert entry.change is FailbackChange.ACTING and entry.run is not None, failback.to_json()
    assert entry.run.status == "started"
    h.run()
    assert h.engine.get_run(project.name, entry.run.run_id).status == SUCCEEDED
    assert h.engine.promotion() is None  # normal direction again
    assert follower.preferred_endpoint() is None

    # The outage's edits are on the original primary, which predicts exactly as the acting one did.
    assert labels(primary, project.name) == labels(secondary, project.name)
    assert export_of(primary, project.name)["metadata"]["description"] == "edited on the acting primary"
    assert (predict(regions.primary, project.name, "prod", "CustomEntityRecognition", TEXTS)
            == predict(regions.secondary, project.name, "prod", "CustomEntityRecognition", TEXTS))
    # Both sides' pre-failback state is in the catalogue.
    backups = [s for s in h.engine.snapshots.list(project.name) if s.reason == PRE_FAILBACK]
    assert {s.source_endpoint for s in backups} == {primary.endpoint, secondary.endpoint}
    # One training on the original primary for the one retrained label, never two.
    assert trainings(regions.primary, project.name) == primary_trainings + 1
    # Back to normal: in sync both ways, and the next edit on the primary replicates as before.
    assert h.engine.drift_report().project(project.name).state is DriftState.IN_SYNC
    [planned] = h.engine.start_runs(dry_run=True)
    assert planned.status == "in_sync", planned.to_json()


def test_a_project_nobody_edited_fails_back_with_no_import_and_no_training(world, regions):
    project, _, h = world
    jobs_before = len(emulator_jobs(regions.primary))
    outage(regions.primary, "503")
    promote(h)
    outage(regions.primary, None)

    report = h.engine.failback()

    [entry] = report.entries
    assert (entry.change, entry.run, report.normal_direction) == (FailbackChange.NONE, None, True)
    exports = [job for job in emulator_jobs(regions.primary)[jobs_before:] if job["kind"] != "export"]
    assert exports == []  # no import, no training, no deployment on the original primary
    assert h.engine.drift_report().project(project.name).state is DriftState.IN_SYNC


@pytest.fixture
def both_changed(world, regions):
    """Edited on the primary just before the outage (not replicated yet), then on the acting primary."""
    project, primary, h = world
    secondary = authoring(regions.secondary)
    edit_labels(primary, project.name, "edited on the primary before the outage")
    outage(regions.primary, "503")
    promote(h)
    edit_labels(secondary, project.name, "edited on the acting primary")
    outage(regions.primary, None)
    return project, primary, secondary, h


def test_changes_on_both_sides_need_a_choice_and_are_shown_as_a_diff(both_changed):
    project, primary, secondary, h = both_changed
    before = (labels(primary, project.name), labels(secondary, project.name))

    report = h.engine.failback()

    [entry] = report.entries
    assert entry.change is FailbackChange.BOTH and entry.action == "needs-choice"
    assert report.needs_choice == [project.name] and entry.run is None
    assert entry.diff is not None and not entry.diff["identical"], entry.diff
    assert h.engine.promotion() is not None
    assert (labels(primary, project.name), labels(secondary, project.name)) == before  # nothing written


@pytest.mark.parametrize("prefer", ["acting", "original"])
def test_the_choice_wins_and_the_other_side_is_kept_as_a_snapshot(both_changed, prefer):
    project, primary, secondary, h = both_changed
    winner, loser = (secondary, primary) if prefer == "acting" else (primary, secondary)
    expected, lost = labels(winner, project.name), export_of(loser, project.name)

    report = h.engine.failback(prefer=prefer)

    [entry] = report.entries
    assert entry.run is not None and entry.run.status == "started", report.to_json()
    h.run()
    assert h.engine.get_run(project.name, entry.run.run_id).status == SUCCEEDED
    assert h.engine.promotion() is None
    assert labels(primary, project.name) == labels(secondary, project.name) == expected
    # Nothing lost: the losing side's labels are in a pre-failback snapshot.
    kept = [s for s in h.engine.snapshots.list(project.name)
            if s.reason == PRE_FAILBACK and s.source_endpoint == loser.endpoint]
    assert kept
    snapshot = json.loads(h.engine.snapshots.read_bytes(kept[0].name))
    assert snapshot["assets"]["documents"] == lost["assets"]["documents"]


def test_an_orchestration_fails_back_after_the_clu_project_it_routes_to(regions, azurite):
    """ADR 0012 in reverse: Contracts stands in for an orchestration routing to LoanAgreements (a NER
    project standing in for CLU, as in test_dependency_order); it is listed first, and must wait."""
    from ..engine.test_dependency_order import StandInDependencies, seeded

    h = seeded(regions, azurite)
    h.engine.failback_run.dependency_reader = lambda acting: StandInDependencies()
    with retry.testing(sleep=h.clock.sleep):
        for _ in range(2):   # the CLU project, then the orchestration that waited for it
            h.engine.start_runs()
            h.run()
        outage(regions.primary, "503")
        try:
            promote(h)
            secondary = authoring(regions.secondary)
            for project in ("Contracts", "LoanAgreements"):
                edit_labels(secondary, project, "edited on the acting primary")
        finally:
            outage(regions.primary, None)

        report = h.engine.failback(projects=["Contracts", "LoanAgreements"])
        loans, contracts = report.entries
        assert (loans.project, contracts.project) == ("LoanAgreements", "Contracts"), report.to_json()
        assert loans.run is not None and loans.run.status == "started"
        assert contracts.run is not None and contracts.run.status == "waiting"
        assert contracts.action == "waiting: still promoted" and contracts.run.run_id is None
        said = f"CLU project 'LoanAgreements', which it routes to (run {loans.run.run_id})"
        assert said in contracts.reasons[-1]
        assert not report.normal_direction

        h.run()   # the CLU project's failback run, and the orchestration's its success starts
    loans_run = h.engine.get_run("LoanAgreements", loans.run.run_id)
    [contracts_run] = h.engine.list_runs("Contracts", ORIGINAL)
    assert loans_run.status == SUCCEEDED and contracts_run.status == SUCCEEDED, contracts_run.to_json()
    assert contracts_run.created_at >= loans_run.finished_at
    assert h.engine.promotion() is None
    primary, secondary = authoring(regions.primary), authoring(regions.secondary)
    assert labels(primary, "Contracts") == labels(secondary, "Contracts")


def test_a_failback_run_under_way_is_reported_and_not_judged_half_applied(world, regions):
    """A failback run stranded after its import (its CLI gone): the sides differ now, but asking again
    must follow that run, not call it changed on both sides and push for a forced --prefer."""
    project, primary, h = world
    outage(regions.primary, "503")
    promote(h)
    edit_labels(authoring(regions.secondary), project.name, "edited on the acting primary")
    outage(regions.primary, None)
    [entry] = h.engine.failback().entries
    assert entry.run is not None and entry.run.run_id is not None
    run_id = entry.run.run_id
    for _ in range(200):   # one delivery at a time, until the acting primary's labels are imported
        taken = h.scheduler.pop_next()
        assert taken is not None, "the run finished before its import was seen"
        h.engine.advance(taken[0])
        manifest = h.engine.get_run(project.name, run_id)
        if any(step.kind == "import" and step.status == SUCCEEDED for step in manifest.steps):
            break
    assert manifest.active, manifest.to_json()
    assert export_of(primary, project.name)["metadata"]["description"] == "edited on the acting primary"

    again = h.engine.failback()

    [entry] = again.entries
    assert not again.needs_choice, again.to_json()
    assert entry.action == f"under way: run {run_id}" and entry.run is not None
    assert (entry.run.status, entry.run.active_run_id) == ("already_active", run_id)
    h.run()
    assert h.engine.get_run(project.name, run_id).status == SUCCEEDED
    assert h.engine.promotion() is None

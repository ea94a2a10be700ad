"""Two secondaries (a third emulated region), one down: the other is brought in sync, the failure is
reported and notified; drift that persists is notified; a project deleted on the primary is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from localdev.sample_project import ner_project, single_label_project
from localdev.services import Azurite, EmulatorRegion
from shared.maintenance import Maintenance
from shared.manifest import SUCCEEDED
from shared.notifications import DRIFT_PERSISTS, RECOVERY_POINT_AGE, RUN_FAILED, TARGET_UNREACHABLE, Notifier
from shared.restore import PRIMARY, RestoreRequest, RestoreService
from shared.retry import DEFAULT_POLICY
from tests.conftest import TEST_TIME_SCALE
from tests.shared.engine.support import authoring, harness, predict, seed, wait_job
from tests.shared.webhook_receiver import Receiver

THIRD = "northeurope"


@pytest.fixture
def third_region(azurite: Azurite) -> Iterator[EmulatorRegion]:
    """A third region whose linked storage is the dev account (Azurite has three accounts)."""
    region = EmulatorRegion(azurite.connection_string(), region=THIRD, time_scale=TEST_TIME_SCALE)
    region.start()
    try:
        yield region
    finally:
        region.stop()


def two_targets(third: EmulatorRegion, azurite: Azurite, **extra: str) -> dict[str, str]:
    return {
        "SECONDARY_TARGETS": THIRD,
        "SECONDARY__NORTHEUROPE__LANGUAGE_ENDPOINT": third.endpoint,
        "SECONDARY__NORTHEUROPE__LANGUAGE_KEY": third.key,
        "SECONDARY__NORTHEUROPE__DOCUMENTS_STORAGE": azurite.connection_string(),
        "SECONDARY__NORTHEUROPE__DOCUMENTS_CONTAINER": "loans-ne",
        **extra,
    }


def test_one_secondary_down_the_other_is_synced_and_the_failure_notified(regions, azurite, third_region,
                                                                         webhook: Receiver):
    project = ner_project(documents=16)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, **two_targets(third_region, azurite, REPLICATED_PROJECTS="*"))
    assert h.engine.settings.target_names() == ["secondary", THIRD]
    regions.secondary.kill()
    # The dead region refuses connections; retry without the real back-off sleeps (seconds per call).
    h.engine.targets["secondary"].authoring._retry = replace(DEFAULT_POLICY, sleep=lambda seconds: None)

    tick = h.engine.timer_tick()
    starts = {start.target: start for start in tick.started}
    assert starts[THIRD].status == "started"
    assert starts["secondary"].status == "error"
    h.run()
    assert h.engine.get_run(project.name, starts[THIRD].run_id).status == SUCCEEDED
    texts = list(project.documents.values())[:4]
    assert predict(third_region, project.name, "prod", project.kind, texts) == predict(
        regions.primary, project.name, "prod", project.kind, texts)

    maintenance = Maintenance(h.engine, Notifier(webhook.url, "slack"))
    first = maintenance.run(tick)
    kinds = [n.kind for n in first.notifications]
    assert TARGET_UNREACHABLE in kinds and DRIFT_PERSISTS not in kinds
    assert first.delivery.sent and not first.delivery.failed
    assert any("secondary" in body["text"] for body in webhook.bodies)

    # Still down at the next check: now it is drift that persists; the healthy target is in sync.
    second_tick = h.engine.timer_tick()
    states = {entry.target: entry.state.value for entry in h.engine.drift_report().projects}
    assert states == {"secondary": "error", THIRD: "in_sync"}
    second = maintenance.run(second_tick)
    persisting = [n for n in second.notifications if n.kind == DRIFT_PERSISTS]
    assert [n.facts["target"] for n in persisting] == ["secondary"]


def test_all_projects_follows_new_ones_and_a_deleted_one_is_reported_not_deleted(regions, azurite):
    loans = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), loans)
    h = harness(regions, azurite, REPLICATED_PROJECTS="*")
    h.engine.start_runs()
    h.run()
    tickets = single_label_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), tickets)
    tick = h.engine.timer_tick()
    assert [s.project for s in tick.started if s.status == "started"] == [tickets.name]
    h.run()
    assert authoring(regions.secondary).get_project(tickets.name) is not None

    primary = authoring(regions.primary)
    wait_job(primary, primary.delete_project(loans.name))
    report = Maintenance(h.engine).run()
    [removed] = report.removed_projects
    assert (removed["project"], removed["target"]) == (loans.name, "secondary")
    assert removed["action"] == "kept (set DELETE_REMOVED_PROJECTS=true to delete it)"
    assert authoring(regions.secondary).get_project(loans.name) is not None

    deleting = harness(regions, azurite, REPLICATED_PROJECTS="*", DELETE_REMOVED_PROJECTS="true")
    [deleted] = Maintenance(deleting.engine).run().removed_projects
    assert deleted["action"].startswith("deleted")
    assert Maintenance(deleting.engine).run().removed_projects == []   # forgotten once deleted


def test_a_failed_run_is_notified_once_and_an_old_recovery_point_each_check(regions, azurite,
                                                                           webhook: Receiver):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, RECOVERY_POINT_MAX_AGE_HOURS="1")
    h.engine.start_runs()
    h.run()
    # A restore that must fail: the snapshot names documents the primary's container does not hold.
    elsewhere = {**project.export, "metadata": {
        **project.export["metadata"], "projectName": "Elsewhere", "storageInputContainerName": "gone"}}
    info = h.engine.snapshots.save_bytes("Elsewhere", json.dumps(elsewhere).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="working-copy")
    failed = RestoreService(h.engine).start(RestoreRequest(info.name, target=PRIMARY))
    h.run()
    assert h.engine.get_run("Elsewhere", failed.run_id).status == "failed"
    h.clock.advance(timedelta(hours=2))

    maintenance = Maintenance(h.engine, Notifier(webhook.url, "json"))
    first = maintenance.run()
    kinds = sorted(n.kind for n in first.notifications)
    assert kinds == [RECOVERY_POINT_AGE, RUN_FAILED]
    [run_note] = [n for n in first.notifications if n.kind == RUN_FAILED]
    assert run_note.facts["run"] == failed.run_id and "DocumentsMissing" not in run_note.title
    assert "documents:restore" in run_note.lines[0]
    second = maintenance.run()
    assert [n.kind for n in second.notifications] == [RECOVERY_POINT_AGE]   # the failed run is told once
    assert sorted(body["kind"] for body in webhook.bodies) == [RECOVERY_POINT_AGE, RECOVERY_POINT_AGE,
                                                               RUN_FAILED]


def test_a_failed_run_is_notified_as_it_fails_and_not_again_by_the_daily_check(regions, azurite,
                                                                               webhook: Receiver):
    project = ner_project(documents=12)
    h = harness(regions, azurite, NOTIFY_WEBHOOK_URL=webhook.url, NOTIFY_FORMAT="json")
    info = h.engine.snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                         source_endpoint=regions.primary.endpoint, reason="working-copy")
    failed = RestoreService(h.engine).start(RestoreRequest(info.name, target=PRIMARY))   # no documents
    h.run()
    assert [(body["kind"], body["facts"]["run"]) for body in webhook.bodies] == [(RUN_FAILED, failed.run_id)]
    daily = Maintenance(h.engine).run()
    assert RUN_FAILED not in [n.kind for n in daily.notifications]

"""Two secondaries (a third emulated region), one down: the other is brought in sync, the failure is
reported and notified; drift that persists is notified; a project deleted on the primary is reported;
a failed run is told once, ever."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from localdev.sample_project import ner_project, single_label_project
from localdev.services import Azurite, EmulatorRegion
from shared.engine import RunStart, TickReport
from shared.language.retry import DEFAULT_POLICY
from shared.recovery.notifications import (
    DRIFT_PERSISTS,
    PROJECT_REMOVED,
    RECOVERY_POINT_AGE,
    RUN_FAILED,
    TARGET_UNREACHABLE,
    Notifier,
)
from shared.recovery.restore import PRIMARY, RestoreRequest, RestoreService
from shared.recovery.upkeep import Maintenance
from shared.runs.manifest import FAILED, SUCCEEDED
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
    waits: list[float] = []
    h.engine.targets["secondary"].authoring._retry = replace(DEFAULT_POLICY, sleep=waits.append)

    tick = h.engine.timer_tick()
    starts = {start.target: start for start in tick.started}
    assert starts[THIRD].status == "started"
    assert starts["secondary"].status == "error"
    assert "cannot list the target's projects" in starts["secondary"].plan["error"]
    # One listing of the dead target was retried; its start is reported from that, not tried again.
    assert len(waits) == DEFAULT_POLICY.attempts - 1
    h.run()
    assert h.engine.get_run(project.name, starts[THIRD].run_id).status == SUCCEEDED
    texts = list(project.documents.values())[:4]
    assert predict(third_region, project.name, "prod", project.kind, texts) == predict(
        regions.primary, project.name, "prod", project.kind, texts)

    # Any target can be restored (here under another name), into its own document container.
    [model] = [info.name for info in h.engine.snapshots.list(project.name) if info.reason == "model:v1"]
    restore = RestoreService(h.engine).start(RestoreRequest(model, target=THIRD, project="LoansCopy"))
    h.run()
    assert h.engine.get_run("LoansCopy", restore.run_id).status == SUCCEEDED
    copy = authoring(third_region).get_project("LoansCopy")
    assert copy is not None and copy["storageInputContainerName"] == "loans-ne"

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
    assert PROJECT_REMOVED in [n.kind for n in report.notifications]
    again = Maintenance(h.engine).run()
    assert again.removed_projects == [removed]                              # still reported
    assert PROJECT_REMOVED not in [n.kind for n in again.notifications]     # but told once

    deleting = harness(regions, azurite, REPLICATED_PROJECTS="*", DELETE_REMOVED_PROJECTS="true")
    [deleted] = Maintenance(deleting.engine).run().removed_projects
    assert deleted["action"].startswith("deleted")
    assert Maintenance(deleting.engine).run().removed_projects == []   # forgotten once deleted


def failing_restore(h, project) -> RunStart:
    """A restore that must fail: the snapshot names documents the primary's container does not hold."""
    elsewhere = {**project.export, "metadata": {
        **project.export["metadata"], "projectName": "Elsewhere", "storageInputContainerName": "gone"}}
    info = h.engine.snapshots.save_bytes("Elsewhere", json.dumps(elsewhere).encode(),
                                         source_endpoint="https://primary.example", reason="working-copy")
    failed = RestoreService(h.engine).start(RestoreRequest(info.name, target=PRIMARY))
    h.run()
    assert h.engine.get_run("Elsewhere", failed.run_id).status == FAILED
    return failed


def test_a_failed_run_is_notified_once_and_an_old_recovery_point_each_check(regions, azurite,
                                                                           webhook: Receiver):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, RECOVERY_POINT_MAX_AGE_HOURS="1")
    h.engine.start_runs()
    h.run()
    failed = failing_restore(h, project)
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


def test_the_first_check_after_deploying_tells_recent_failures_only_and_each_failed_run_once_ever(
        regions, azurite, webhook: Receiver):
    h = harness(regions, azurite)     # no NOTIFY_WEBHOOK_URL: only the daily check tells failed runs
    project = ner_project(documents=4)
    before_deploying = failing_restore(h, project)
    h.clock.advance(timedelta(days=3))
    recent = failing_restore(h, project)
    h.clock.advance(timedelta(hours=1))

    webhook.status = 500   # the first delivery fails: the run stays to be told
    first = Maintenance(h.engine, Notifier(webhook.url, "json")).run()
    assert [n.facts["run"] for n in first.notifications if n.kind == RUN_FAILED] == [recent.run_id]
    assert first.delivery.failed and not first.delivery.sent

    webhook.status = 200
    second = Maintenance(h.engine, Notifier(webhook.url, "json")).run()
    assert [n.facts["run"] for n in second.notifications if n.kind == RUN_FAILED] == [recent.run_id]
    told = [body["facts"]["run"] for body in webhook.bodies if body["kind"] == RUN_FAILED]
    assert told == [recent.run_id, recent.run_id]      # the refused post, then the delivered one
    assert before_deploying.run_id not in told         # history from before the first check stays quiet

    # Another instance (state read from storage), days later: neither run is told again.
    h.clock.advance(timedelta(days=2))
    third = Maintenance(h.engine, Notifier(webhook.url, "json")).run()
    assert RUN_FAILED not in [n.kind for n in third.notifications]


def test_drift_is_told_when_it_persists_not_at_first_sight_nor_while_the_tick_repairs_it(
        regions, azurite, webhook: Receiver):
    h = harness(regions, azurite)
    maintenance = Maintenance(h.engine, Notifier(webhook.url, "json"))

    def check(entries: list[tuple[str, str]], starts: dict[str, str] | None = None) -> list[str]:
        """(project, state) on the secondary; starts: project -> the tick's RunStart status."""
        tick = TickReport(False, started=[RunStart(p, "secondary", None, status)
                                          for p, status in (starts or {}).items()],
                          drift={"projects": [{"project": p, "target": "secondary", "state": state,
                                               "reasons": [f"{p} is {state}"]} for p, state in entries]})
        return [n.facts["project"] for n in maintenance.run(tick).notifications if n.kind == DRIFT_PERSISTS]

    # Edited on the primary every day: drifted at every check, and each time the tick starts its run.
    assert check([("Loans", "drifted")], {"Loans": "started"}) == []
    assert check([("Loans", "drifted")], {"Loans": "started"}) == []
    # Diverged (the tick never overwrites it): quiet at first sight, told at every check it persists.
    assert check([("Tickets", "diverged")]) == []
    assert check([("Tickets", "diverged")]) == ["Tickets"]
    assert check([("Tickets", "diverged")]) == ["Tickets"]
    assert check([]) == []
    assert check([("Tickets", "diverged")]) == []          # a new first sighting after it cleared
    # Drifted while an earlier run still holds the lock: stuck, so told on the second check.
    assert check([("Loans", "drifted")], {"Loans": "already_active"}) == []
    assert check([("Loans", "drifted")], {"Loans": "already_active"}) == ["Loans"]

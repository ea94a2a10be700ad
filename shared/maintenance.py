"""The daily upkeep that runs with the drift timer: retention, expiry watch, removed projects, notifications.

It reads what the tick learned (drift, runs started, errors) and adds what a person must hear about:
runs that failed since the last check, drift or divergence still there on a second check in a row, a
recovery point older than RECOVERY_POINT_MAX_AGE_HOURS, a target that could not be reached, expiry
warnings. What was already said (failed runs) and what was seen last time (drift) is kept in one small
state blob, so a persisting problem is told once per check and a failed run once.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shared.drift import DriftReport, DriftState, format_age
from shared.errors import ConcurrentUpdate, ReplicatorError
from shared.expiry import ExpiryReader, ExpiryReport, check_expiry
from shared.json_blobs import STATE_CONTAINER, JsonBlobs
from shared.manifest import FAILED
from shared.notifications import (
    DRIFT_PERSISTS,
    EXPIRY_WARNING,
    RECOVERY_POINT_AGE,
    RUN_FAILED,
    TARGET_UNREACHABLE,
    DeliveryReport,
    Notification,
    Notifier,
)
from shared.retention import RetentionPolicy, RetentionReport, RetentionSweep

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine, TickReport
    from shared.manifest import RunManifest

logger = logging.getLogger(__name__)

STATE_BLOB = "maintenance/state.json"
ATTENTION_STATES = frozenset({DriftState.DRIFTED, DriftState.DIVERGED, DriftState.MISSING, DriftState.ERROR})
REMEMBERED_RUNS = 500


@dataclass
class MaintenanceReport:
    retention: RetentionReport
    expiry: ExpiryReport
    removed_projects: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def to_json(self) -> dict[str, Any]:
        return {"retention": self.retention.to_json(), "expiry": self.expiry.to_json(),
                "removedProjects": self.removed_projects,
                "notifications": [n.to_json() for n in self.notifications],
                "delivery": self.delivery.to_json()}

    def to_text(self) -> str:
        lines = [self.retention.to_text(), self.expiry.to_text()]
        for removed in self.removed_projects:
            lines.append(f"{removed['project']} is gone from the primary: {removed['action']} "
                         f"on {removed['target']}")
        for notification in self.notifications:
            lines.append(f"notify: {notification.title}")
        return "\n".join(lines)


class Maintenance:
    def __init__(self, engine: ReplicationEngine, notifier: Notifier | None = None) -> None:
        self.engine = engine
        settings = engine.settings
        self.notifier = notifier or Notifier(settings.notify_webhook_url, settings.notify_format)
        self.state = JsonBlobs(engine.state_storage.get_container_client(STATE_CONTAINER))

    # -- the pieces --------------------------------------------------------------------------------------

    def retention(self, *, dry_run: bool = False) -> RetentionReport:
        engine = self.engine
        settings = engine.settings
        policy = RetentionPolicy(settings.snapshot_retention_count, settings.snapshot_retention_days)
        container = engine.state_storage.get_container_client(engine.settings.snapshot_container)
        sweep = RetentionSweep(container, engine.snapshots, engine.manifests, engine.sync_records.all())
        return sweep.run(policy, engine.clock.now(), dry_run=dry_run)

    def expiry(self) -> ExpiryReport:
        engine = self.engine
        sides: dict[str, ExpiryReader] = {"primary": engine.primary}
        sides.update({name: clients.authoring for name, clients in engine.targets.items()})
        try:
            projects = engine.replicated_projects()
        except ReplicatorError as error:
            report = check_expiry({}, [], engine.clock.now(), engine.settings.expiry_warning_days)
            report.errors.append(f"primary: cannot list projects: {error.message}")
            return report
        return check_expiry(sides, projects, engine.clock.now(), engine.settings.expiry_warning_days)

    def removed_projects(self) -> list[dict[str, Any]]:
        """Projects we replicated that the primary no longer has: reported; deleted on the target only
        with DELETE_REMOVED_PROJECTS=true."""
        engine = self.engine
        try:
            on_primary = {str(p["projectName"]) for p in engine.primary.list_projects()}
        except ReplicatorError:
            return []   # the drift report already says the primary cannot be listed
        removed = []
        for record in engine.sync_records.all():
            if record.project in on_primary or record.target not in engine.targets:
                continue
            entry: dict[str, Any] = {"project": record.project, "target": record.target,
                                     "lastSyncedAt": record.synced_at.isoformat()}
            if engine.settings.delete_removed_projects:
                try:
                    client = engine.targets[record.target].authoring
                    if client.get_project(record.project) is not None:
                        client.delete_project(record.project)
                    self._forget(record.target, record.project)
                    entry["action"] = "deleted (DELETE_REMOVED_PROJECTS=true)"
                except ReplicatorError as error:
                    entry["action"] = f"delete failed: {error.message}"
            else:
                entry["action"] = "kept (set DELETE_REMOVED_PROJECTS=true to delete it)"
            removed.append(entry)
        return removed

    def _forget(self, target: str, project: str) -> None:
        blobs = self.engine.sync_records.blobs
        name = self.engine.sync_records.blob_name(target, project)
        found = blobs.read(name)
        if found is not None:
            blobs.delete(name, found.etag)

    # -- the daily pass ----------------------------------------------------------------------------------

    def run(self, tick: TickReport | None = None, *, drift: DriftReport | None = None) -> MaintenanceReport:
        """Everything, after the tick (or alone: then a fresh drift report is taken)."""
        retention = self.retention()
        expiry = self.expiry()
        report = MaintenanceReport(retention, expiry, self.removed_projects())
        if drift is None and tick is None:
            drift = self.engine.drift_report()
        drift_entries = _drift_entries(drift, tick)
        report.notifications = self.notifications(drift_entries, tick, expiry, report.removed_projects)
        report.delivery = self.notifier.send(report.notifications, self.engine.clock.now())
        logger.info("maintenance: %d snapshot(s) removed, %d expiry warning(s), %d notification(s)",
                    len(retention.removed), len(expiry.warnings), len(report.notifications))
        return report

    def notifications(self, drift: list[dict[str, Any]], tick: TickReport | None, expiry: ExpiryReport,
                      removed: list[dict[str, Any]]) -> list[Notification]:
        state_found = self.state.read(STATE_BLOB)
        state: dict[str, Any] = dict(state_found.data) if state_found else {}
        told_runs: list[str] = list(state.get("notifiedRuns", []))
        seen_before = set(state.get("attention", []))
        notes: list[Notification] = []

        for run in self._failed_runs(set(told_runs)):
            notes.append(run_failed_notification(run))
            told_runs.append(run.run_id)

        attention_now = set()
        limit = self.engine.settings.recovery_point_max_age
        for entry in drift:
            key = f"{entry['target']}/{entry['project']}"
            state_value = str(entry["state"])
            if state_value in {s.value for s in ATTENTION_STATES}:
                attention_now.add(key)
                if key in seen_before:
                    notes.append(Notification(
                        DRIFT_PERSISTS, f"{entry['project']} on {entry['target']} is still {state_value}",
                        tuple(entry.get("reasons") or ()) or ("no reason given",), "warning",
                        {"project": entry["project"], "target": entry["target"], "state": state_value}))
            age = entry.get("recoveryPointAgeSeconds")
            if age is not None and age > limit.total_seconds():
                notes.append(Notification(
                    RECOVERY_POINT_AGE,
                    f"recovery point of {entry['project']} on {entry['target']} is "
                    f"{format_age(timedelta(seconds=age))} old",
                    (f"the limit is {format_age(limit)}; the target serves older primary state than "
                     "allowed",),
                    "warning", {"project": entry["project"], "target": entry["target"]}))

        for start in (tick.started if tick else []):
            if start.status == "error":
                notes.append(Notification(
                    TARGET_UNREACHABLE, f"could not start replication of {start.project} to {start.target}",
                    (str((start.plan or {}).get("error", "unknown error")),), "error",
                    {"project": start.project, "target": start.target}))
        for error in (tick.errors if tick else []):
            notes.append(Notification(TARGET_UNREACHABLE,
                                      f"replication of {error.get('project')} not started",
                                      (str(error.get("message")),), "error"))
        if expiry.warnings:
            notes.append(Notification(EXPIRY_WARNING, f"{len(expiry.warnings)} expiry warning(s)",
                                      tuple(w.message for w in expiry.warnings), "warning"))
        for entry in removed:
            notes.append(Notification(DRIFT_PERSISTS, f"{entry['project']} was deleted on the primary",
                                      (f"{entry['target']}: {entry['action']}",), "warning"))

        state = {"notifiedRuns": told_runs[-REMEMBERED_RUNS:], "attention": sorted(attention_now)}
        with contextlib.suppress(ConcurrentUpdate):
            if state_found is None:
                self.state.create(STATE_BLOB, state)
            else:
                self.state.replace(STATE_BLOB, state, state_found.etag)
        return notes

    def _failed_runs(self, told: set[str]) -> list[Any]:
        engine = self.engine
        failed = []
        for project in engine.manifests.projects():
            for run in engine.manifests.recent(project, limit=10):
                if run.status == FAILED and run.run_id not in told:
                    failed.append(run)
        return failed


def run_failed_notification(run: RunManifest) -> Notification:
    error = run.error or {}
    return Notification(
        RUN_FAILED, f"{_kind(run.context)} run failed: {run.project} -> {run.target}",
        (f"run {run.run_id} failed at {error.get('step', '?')}: {error.get('message', 'no reason')}",
         f"see python -m shared runs --project {run.project}; re-drive the failed step once its cause "
         "is fixed (POST replications/{project}/{runId}/steps/{step})"),
        "error", {"run": run.run_id, "project": run.project, "target": run.target})


def notify_run_failed(engine: ReplicationEngine, run: RunManifest) -> None:
    """Tell the webhook now that a run failed, and note it so the daily check does not tell it again."""
    notifier = Notifier(engine.settings.notify_webhook_url, engine.settings.notify_format)
    delivery = notifier.send([run_failed_notification(run)], engine.clock.now())
    if not delivery.sent:
        return   # the daily check tries again
    state = JsonBlobs(engine.state_storage.get_container_client(STATE_CONTAINER))
    for _ in range(5):
        found = state.read(STATE_BLOB)
        data: dict[str, Any] = dict(found.data) if found else {"attention": []}
        data["notifiedRuns"] = [*data.get("notifiedRuns", []), run.run_id][-REMEMBERED_RUNS:]
        try:
            if found is None:
                state.create(STATE_BLOB, data)
            else:
                state.replace(STATE_BLOB, data, found.etag)
            return
        except ConcurrentUpdate:
            continue


def _kind(context: dict[str, Any]) -> str:
    return str(context.get("runKind") or "replication")


def _drift_entries(drift: DriftReport | None, tick: TickReport | None) -> list[dict[str, Any]]:
    if drift is not None:
        return [entry.to_json() for entry in drift.projects]
    if tick is not None and tick.drift is not None:
        return list(tick.drift.get("projects", []))
    return []

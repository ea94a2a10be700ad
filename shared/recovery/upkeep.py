"""The daily upkeep that runs with the drift timer: retention, expiry watch, removed projects, notifications.

It reads what the tick learned (drift, runs started, errors) and adds what a person must hear about:

- a failed run: told once, ever (as it fails, or else at the next check; the first check after
  deploying tells only runs that failed in the last day, not the whole history);
- drift, divergence, a missing replica or an unreachable target still there at a second check in a
  row (the first sighting is not told: the tick's own run may repair it; a drifted target the tick
  just started a run for is being repaired, not stuck), told at every check while it persists;
- a recovery point older than RECOVERY_POINT_MAX_AGE_HOURS and expiry warnings, at every check;
- a target the tick could not start a run on, and a project deleted on the primary (once).

What was told and what was seen is kept in one small state blob.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from shared.clock import Clock, parse_iso, utc_iso
from shared.errors import ConcurrentUpdate, ReplicatorError
from shared.language.authoring import AuthoringClient
from shared.recovery.expiry import ExpiryReader, ExpiryReport, check_expiry, keep_latest
from shared.recovery.notifications import (
    DRIFT_PERSISTS,
    EXPIRY_WARNING,
    PROJECT_REMOVED,
    RECOVERY_POINT_AGE,
    RUN_FAILED,
    TARGET_UNREACHABLE,
    DeliveryReport,
    Notification,
    Notifier,
)
from shared.recovery.retention import RetentionPolicy, RetentionReport, RetentionSweep
from shared.replication.drift import DriftReport, DriftState, format_age
from shared.replication.run import TargetClients, TickReport
from shared.replication.sync_record import SyncRecordStore
from shared.runs.manifest import FAILED, ManifestStore, RunManifest
from shared.settings import Settings
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs
from shared.storage.snapshots import SnapshotStore

logger = logging.getLogger(__name__)

STATE_BLOB = "maintenance/state.json"
STATE_WRITE_ATTEMPTS = 5
ATTENTION_STATES = frozenset(state.value for state in (
    DriftState.DRIFTED, DriftState.DIVERGED, DriftState.MISSING, DriftState.ERROR))
REPAIRING_STARTS = frozenset({"started", "in_sync"})   # RunStart statuses: the tick handled that target
FIRST_CHECK_LOOKBACK = timedelta(days=1)   # the daily check's period
FAILED_RUN_WINDOW = timedelta(days=7)      # an undelivered failed run is retried this long


class UpkeepHost(Protocol):
    """What the upkeep needs of the engine: the facade (`shared.engine`) provides it; recovery sits below."""

    @property
    def settings(self) -> Settings: ...
    @property
    def state_storage(self) -> BlobServiceClient: ...
    @property
    def snapshots(self) -> SnapshotStore: ...
    @property
    def manifests(self) -> ManifestStore: ...
    @property
    def sync_records(self) -> SyncRecordStore: ...
    @property
    def primary(self) -> AuthoringClient: ...
    @property
    def targets(self) -> Mapping[str, TargetClients]: ...
    @property
    def clock(self) -> Clock: ...

    def replicated_projects(self) -> list[str]: ...

    def drift_report(self, projects: Sequence[str] | None = None) -> DriftReport: ...


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
    def __init__(self, engine: UpkeepHost, notifier: Notifier | None = None) -> None:
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
        report = check_expiry(sides, projects, engine.clock.now(), engine.settings.expiry_warning_days)
        try:
            keep_latest(self.state, report)   # for the status page, which makes no Language request
        except AzureError as error:
            logger.warning("expiry report not kept for the status page: %s", type(error).__name__)
        return report

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
                    entry["action"] = "deleted (DELETE_REMOVED_PROJECTS is on)"
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
        now = self.engine.clock.now()
        found = self.state.read(STATE_BLOB)
        check = self.notifications(_drift_entries(drift, tick), tick, expiry, report.removed_projects,
                                   dict(found.data) if found else {})
        report.notifications = check.notes
        told_runs: dict[str, str] = {}
        for note in check.notes:
            delivery = self.notifier.send([note], now)
            report.delivery.sent += delivery.sent
            report.delivery.failed += delivery.failed
            # Not configured: nobody to tell, and no backlog for when a URL is set. Undelivered: next check.
            if note.kind == RUN_FAILED and (delivery.sent or not self.notifier.configured):
                told_runs[note.facts["run"]] = utc_iso(now)
        update_state(self.state, lambda data: check.saved(data, told_runs, now))
        logger.info("maintenance: %d snapshot(s) removed, %d expiry warning(s), %d notification(s)",
                    len(retention.removed), len(expiry.warnings), len(report.notifications))
        return report

    def notifications(self, drift: list[dict[str, Any]], tick: TickReport | None, expiry: ExpiryReport,
                      removed: list[dict[str, Any]], state: dict[str, Any]) -> Check:
        """What to tell now, given what the last check saw and told (`state`); nothing is saved here."""
        now = self.engine.clock.now()
        check = Check(failed_runs_since=_failed_runs_since(state, now))
        notes = check.notes
        told_runs = _told_runs(state)
        for run in self._failed_runs(told_runs, check.failed_runs_since):
            notes.append(run_failed_notification(run))

        # A drifted or missing target the tick just started a run for is being repaired, not stuck: a
        # project edited every day is drifted at every check and must not be reported for it.
        repairing = {f"{start.target}/{start.project}" for start in (tick.started if tick else [])
                     if start.status in REPAIRING_STARTS}
        seen_before = set(state.get("attention", []))
        limit = self.engine.settings.recovery_point_max_age
        for entry in drift:
            key = f"{entry['target']}/{entry['project']}"
            state_value = str(entry["state"])
            if state_value in ATTENTION_STATES and key not in repairing:
                check.attention.add(key)
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
        removed_before = set(state.get("removedProjects", []))
        for entry in removed:
            key = f"{entry['target']}/{entry['project']}"
            check.removed.add(key)
            if key not in removed_before:   # told once; the upkeep report lists it at every check
                notes.append(Notification(PROJECT_REMOVED, f"{entry['project']} was deleted on the primary",
                                          (f"{entry['target']}: {entry['action']}",), "warning",
                                          {"project": entry["project"], "target": entry["target"]}))
        return check

    def _failed_runs(self, told: Mapping[str, str], since: datetime) -> list[RunManifest]:
        engine = self.engine
        failed = []
        for project in engine.manifests.projects():
            for run in engine.manifests.recent(project, limit=10):
                failed_at = run.finished_at or run.updated_at
                if run.status == FAILED and run.run_id not in told and failed_at >= since:
                    failed.append(run)
        return failed


@dataclass
class Check:
    """What one daily check decided: the notes, and what the next check must remember."""
    failed_runs_since: datetime
    notes: list[Notification] = field(default_factory=list)
    attention: set[str] = field(default_factory=set)     # target/project needing a person now
    removed: set[str] = field(default_factory=set)       # target/project deleted on the primary

    def saved(self, data: dict[str, Any], told_runs: Mapping[str, str], now: datetime) -> dict[str, Any]:
        """The state blob after this check, over `data` as it is now (a run failing meanwhile may have
        added itself to notifiedRuns)."""
        told = {**_told_runs(data), **told_runs}
        oldest = utc_iso(now - FAILED_RUN_WINDOW - timedelta(days=1))
        return {**data, "failedRunsSince": utc_iso(self.failed_runs_since),
                "notifiedRuns": {run: at for run, at in told.items() if at >= oldest},
                "attention": sorted(self.attention), "removedProjects": sorted(self.removed)}


def update_state(blobs: JsonBlobs, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Read-modify-write the state blob, again when another writer got in between."""
    for _ in range(STATE_WRITE_ATTEMPTS):
        found = blobs.read(STATE_BLOB)
        data = change(dict(found.data) if found else {})
        try:
            if found is None:
                blobs.create(STATE_BLOB, data)
            else:
                blobs.replace(STATE_BLOB, data, found.etag)
            return
        except ConcurrentUpdate:
            continue
    logger.warning("notification state not saved: %d concurrent writers in a row", STATE_WRITE_ATTEMPTS)


def _told_runs(state: Mapping[str, Any]) -> dict[str, str]:
    """Run id -> when it was told."""
    told = state.get("notifiedRuns") or {}
    return {str(run): str(at) for run, at in told.items()} if isinstance(told, dict) else {}


def _failed_runs_since(state: Mapping[str, Any], now: datetime) -> datetime:
    """Failed runs older than this are not told: those from before the first check after deploying
    (the state is new), and those older than FAILED_RUN_WINDOW that could not be delivered."""
    since = state.get("failedRunsSince")
    baseline = parse_iso(str(since)) if since else now - FIRST_CHECK_LOOKBACK
    return max(baseline, now - FAILED_RUN_WINDOW)


def run_failed_notification(run: RunManifest) -> Notification:
    error = run.error or {}
    return Notification(
        RUN_FAILED, f"{_kind(run.context)} run failed: {run.project} -> {run.target}",
        (f"run {run.run_id} failed at {error.get('step', '?')}: {error.get('message', 'no reason')}",
         f"see python -m shared runs --project {run.project}; re-drive the failed step once its cause "
         "is fixed (POST replications/{project}/{runId}/steps/{step})"),
        "error", {"run": run.run_id, "project": run.project, "target": run.target})


def notify_run_failed(engine: UpkeepHost, run: RunManifest) -> None:
    """Tell the webhook now that a run failed, and note it so the daily check does not tell it again."""
    notifier = Notifier(engine.settings.notify_webhook_url, engine.settings.notify_format)
    now = engine.clock.now()
    delivery = notifier.send([run_failed_notification(run)], now)
    if not delivery.sent:
        return   # the daily check tries again

    def told(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "notifiedRuns": {**_told_runs(data), run.run_id: utc_iso(now)}}

    update_state(JsonBlobs(engine.state_storage.get_container_client(STATE_CONTAINER)), told)


def _kind(context: dict[str, Any]) -> str:
    return str(context.get("runKind") or "replication")


def _drift_entries(drift: DriftReport | None, tick: TickReport | None) -> list[dict[str, Any]]:
    if drift is not None:
        return [entry.to_json() for entry in drift.projects]
    if tick is not None and tick.drift is not None:
        return list(tick.drift.get("projects", []))
    return []

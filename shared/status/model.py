"""The status model: everything the status page shows, gathered from state storage alone.

The page must answer during an incident, when the primary's region (its Language resource) may be
down, and must not spend the Language request budget each time someone looks. So nothing here calls
the Language service: the last drift check and its 30-day history (shared.replication.drift_history),
run manifests, sync records, the snapshot listing and the last expiry watch are all in storage.

Every text that can quote a service or storage message goes through `redact`; setting values never
appear (a job is shown by its id, never by its URL, which names the resource).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shared.recovery.expiry import ExpiryWarning
from shared.recovery.expiry import latest as latest_expiry
from shared.redaction import redact
from shared.replication.drift import DriftState, ProjectDrift
from shared.replication.drift_history import HistoryPoint
from shared.replication.verdict import Protection, protection
from shared.runs.manifest import FAILED, RunManifest, StepRecord
from shared.schedule import DEFAULT_SCHEDULE
from shared.status.estate import EstateVerdict, estate_verdict
from shared.storage.json_blobs import UnreadableState
from shared.storage.snapshots import SnapshotInfo

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine

HISTORY_WINDOW = timedelta(days=30)
RUNS_PER_PROJECT = 5


@dataclass(frozen=True)
class StepView:
    name: str
    kind: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    polls: int
    job_id: str | None
    job_state: str | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, step: StepRecord) -> StepView:
        return cls(step.name, step.kind, step.status, step.started_at, step.finished_at, step.attempts,
                   step.polls, job_id(step.job_url), step.job_state,
                   tuple(_error_text(error) for error in step.errors),
                   tuple(redact(warning) for warning in step.warnings))


@dataclass(frozen=True)
class RunView:
    run_id: str
    project: str
    target: str
    trigger: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    steps: tuple[StepView, ...]
    reasons: tuple[str, ...]
    error: str | None
    warnings: tuple[str, ...] = ()   # the run's own, beside its steps' (e.g. a part not replicated)

    @classmethod
    def of(cls, run: RunManifest) -> RunView:
        return cls(run.run_id, run.project, run.target, run.trigger, run.status, run.created_at,
                   run.finished_at, tuple(StepView.of(step) for step in run.steps),
                   tuple(redact(reason) for reason in run.reasons),
                   None if run.error is None else _error_text(run.error),
                   tuple(redact(warning) for warning in run.warnings))

    @property
    def anchor(self) -> str:
        """The id of the run's details on the page (project names may hold characters ids should not)."""
        digest = hashlib.sha256(self.project.encode()).hexdigest()[:8]
        return f"run-{digest}-{self.run_id}"

    @property
    def active(self) -> bool:
        return self.status in ("pending", "running")

    @property
    def current_step(self) -> StepView | None:
        return next((step for step in self.steps if step.status not in ("succeeded", "skipped")), None)

    @property
    def progress(self) -> tuple[int, int]:
        """(steps done, steps in all)."""
        return sum(step.status in ("succeeded", "skipped") for step in self.steps), len(self.steps)


@dataclass(frozen=True)
class ReplicaView:
    project: str
    target: str
    state: DriftState
    reasons: tuple[str, ...]
    risks: tuple[str, ...]
    protection: Protection
    protection_reason: str
    age: timedelta | None
    last_synced_at: datetime | None
    active_run: RunView | None
    last_failure: RunView | None
    history: tuple[HistoryPoint, ...]


@dataclass(frozen=True)
class SnapshotSummary:
    count: int
    newest: SnapshotInfo | None
    latest_good: str | None      # the snapshot the last successful sync replicated


@dataclass(frozen=True)
class ProjectView:
    project: str
    kind: str
    replicas: tuple[ReplicaView, ...]
    runs: tuple[RunView, ...]      # newest first, every target
    snapshots: SnapshotSummary
    expiry: tuple[ExpiryWarning, ...]


@dataclass(frozen=True)
class EstateStatus:
    generated_at: datetime
    checked_at: datetime | None
    objective: timedelta
    verdict: EstateVerdict
    verdict_reasons: tuple[str, ...]
    projects: tuple[ProjectView, ...]
    expiry_checked_at: datetime | None = None
    estate_expiry: tuple[ExpiryWarning, ...] = ()   # not tied to one project (training configs)
    warnings: tuple[str, ...] = ()
    promotion: str | None = None                    # who promoted which target, when, why
    history_window: timedelta = HISTORY_WINDOW

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = defaultdict(int)
        for project in self.projects:
            for replica in project.replicas:
                counted[replica.state.value] += 1
        return dict(counted)


def gather(engine: ReplicationEngine, *, runs_per_project: int = RUNS_PER_PROJECT) -> EstateStatus:
    """The estate's status from state storage (no Language request)."""
    now = engine.clock.now()
    unreadable: tuple[str, ...] = ()
    try:
        report = engine.drift_history.latest()
    except UnreadableState as error:
        report, unreadable = None, (f"{error}: the next drift check replaces it",)
    entries = report.projects if report else ()
    history: dict[tuple[str, str], list[HistoryPoint]] = defaultdict(list)
    for point in engine.drift_history.points(now - HISTORY_WINDOW, now):
        history[(point.target, point.project)].append(point)
    records = {(record.target, record.project): record for record in engine.sync_records.all()}
    expiry = latest_expiry(engine.drift_history.blobs)
    promotion = engine.promotion()
    names = list(dict.fromkeys(entry.project for entry in entries if entry.project != "*"))
    if any(entry.project == "*" for entry in entries):   # shown per synced project (see _named)
        names += sorted({project for _, project in records} - set(names))
    runs = {name: [RunView.of(run) for run in engine.manifests.recent(name, limit=runs_per_project)]
            for name in names}
    snapshots = {name: engine.snapshots.list(name) for name in names}
    return build_status(
        now=now, checked_at=report.checked_at if report else None, entries=entries,
        objective=engine.settings.recovery_point_max_age, schedule=engine.settings.drift_schedule,
        history=history,
        last_synced={key: record.synced_at for key, record in records.items()},
        good_snapshots={key: record.snapshots for key, record in records.items()},
        kinds={key[1]: record.project_kind for key, record in records.items()},
        runs=runs, snapshots=snapshots,
        expiry=expiry.warnings if expiry else (), expiry_checked_at=expiry.checked_at if expiry else None,
        warnings=report.warnings if report else unreadable,
        promotion=None if promotion is None else (
            f"target {promotion.target} is the acting primary since {promotion.promoted_at:%Y-%m-%d %H:%M} "
            f"UTC ({promotion.state}), by {promotion.promoted_by}: {promotion.reason}"))


def build_status(*, now: datetime, checked_at: datetime | None, entries: Sequence[ProjectDrift],
                 objective: timedelta, schedule: str = DEFAULT_SCHEDULE,
                 history: dict[tuple[str, str], list[HistoryPoint]] | None = None,
                 last_synced: dict[tuple[str, str], datetime] | None = None,
                 good_snapshots: dict[tuple[str, str], tuple[str, ...]] | None = None,
                 kinds: dict[str, str] | None = None, runs: dict[str, list[RunView]] | None = None,
                 snapshots: dict[str, list[SnapshotInfo]] | None = None,
                 expiry: Sequence[ExpiryWarning] = (), expiry_checked_at: datetime | None = None,
                 warnings: Sequence[str] = (), promotion: str | None = None) -> EstateStatus:
    """The page's model from plain inputs (gather reads them from storage; tests and the bench pass them)."""
    history, last_synced, good_snapshots = history or {}, last_synced or {}, good_snapshots or {}
    kinds, runs, snapshots = kinds or {}, runs or {}, snapshots or {}
    by_project: dict[str, list[ProjectDrift]] = defaultdict(list)
    for entry in _named(entries, last_synced):
        by_project[entry.project].append(entry)
    projects = []
    for name, project_entries in by_project.items():
        project_runs = runs.get(name, [])
        replicas = tuple(_replica(entry, objective, project_runs, history.get((entry.target, name), []),
                                  last_synced.get((entry.target, name))) for entry in project_entries)
        listed = snapshots.get(name, [])
        good = {snapshot for (_, project), names in good_snapshots.items() if project == name
                for snapshot in names}
        latest_good = next((info.name for info in listed if info.name in good), None)
        kind = kinds.get(name) or (listed[0].project_kind if listed else "")
        projects.append(ProjectView(
            name, kind, replicas, tuple(project_runs),
            SnapshotSummary(len(listed), listed[0] if listed else None, latest_good),
            tuple(warning for warning in expiry if warning.project == name)))
    verdict, reasons = estate_verdict(((r.project, r.protection) for p in projects for r in p.replicas),
                                      checked_at, now, schedule)
    return EstateStatus(
        generated_at=now, checked_at=checked_at, objective=objective, verdict=verdict,
        verdict_reasons=reasons,
        projects=tuple(sorted(projects, key=_attention_first)), expiry_checked_at=expiry_checked_at,
        estate_expiry=tuple(warning for warning in expiry if warning.project not in by_project),
        warnings=tuple(redact(warning) for warning in warnings),
        promotion=None if promotion is None else redact(promotion))


def _replica(entry: ProjectDrift, objective: timedelta, runs: list[RunView], history: list[HistoryPoint],
             recorded_sync: datetime | None) -> ReplicaView:
    synced = entry.last_synced_at or recorded_sync
    protected, why = protection(entry.state, entry.recovery_point_age, objective,
                                ever_synced=synced is not None,
                                unreplicated_dependencies=entry.unreplicated_dependencies)
    mine = [run for run in runs if run.target == entry.target]
    return ReplicaView(
        project=entry.project, target=entry.target, state=entry.state,
        reasons=tuple(redact(reason) for reason in entry.reasons),
        risks=tuple(redact(risk) for risk in entry.risks), protection=protected, protection_reason=why,
        age=entry.recovery_point_age, last_synced_at=synced,
        active_run=next((run for run in mine if run.active), None),
        last_failure=next((run for run in mine if run.status == FAILED), None), history=tuple(history))


def _named(entries: Sequence[ProjectDrift], last_synced: dict[tuple[str, str], datetime]
           ) -> list[ProjectDrift]:
    """The check's entries, its "*" (REPLICATED_PROJECTS=* when the primary could not be listed, e.g.
    during its outage) stood in for by each project we have synced to that target: each then shows what
    its replica last held, instead of one line hiding the estate."""
    named: list[ProjectDrift] = []
    for entry in entries:
        known = sorted(project for target, project in last_synced if target == entry.target)
        if entry.project == "*" and known:
            named += [replace(entry, project=project) for project in known]
        else:
            named.append(entry)
    return named


def _attention_first(project: ProjectView) -> tuple[int, str]:
    """Not protected first, then at risk, then protected; by name within each."""
    order = {Protection.NOT_PROTECTED: 0, Protection.AT_RISK: 1, Protection.PROTECTED: 2}
    worst = min((order[replica.protection] for replica in project.replicas), default=2)
    return worst, project.project


def job_id(job_url: str | None) -> str | None:
    """The job's id, the last segment of its URL: the URL itself names the resource (a setting)."""
    if not job_url:
        return None
    segment = urlsplit(job_url).path.rstrip("/").rsplit("/", 1)[-1]
    return redact(segment) or None


def _error_text(error: dict[str, Any]) -> str:
    code, message = error.get("code"), error.get("message")
    return redact(f"{code}: {message}" if code else str(message))

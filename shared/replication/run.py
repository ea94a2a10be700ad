"""The replication run kind: plan a run per (project, target), execute its steps, record the sync.

Registered with the run executor (`shared.runs.executor`) like every other kind (restore is the
other); a manifest without a run kind is a replication run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from azure.storage.blob import BlobServiceClient

from shared.clock import Clock
from shared.errors import ReplicatorError, RunConflict, UnknownProject
from shared.language.authoring import AuthoringClient
from shared.language.project_kinds import project_kind
from shared.language.retry import RetryLater
from shared.language.runtime import RuntimeClient
from shared.replication.drift import DriftReport, IsPromoted, check_drift, export_content_hash
from shared.replication.full_pass import FullPassLog
from shared.replication.plan import DIVERGED, PROMOTED, Observed, Plan, observe, plan_run
from shared.replication.step_kinds import StepKind, cancellable, fits_a_request
from shared.replication.steps import Side, StepMachine, StepOptions
from shared.replication.sync_record import DeploymentRecord, SyncRecord, SyncRecordStore
from shared.replication.training_budget import TrainingBudget
from shared.replication.verdict import listed_signals, promoted_reason, settle
from shared.runs.executor import RunExecutor
from shared.runs.kinds import REPLICATION_KIND
from shared.runs.lock import RunLock
from shared.runs.manifest import (
    PENDING,
    SUCCEEDED,
    ManifestStore,
    RunManifest,
    StepRecord,
    check_name,
    new_run_id,
)
from shared.settings import Settings
from shared.storage.documents import container_fingerprint
from shared.storage.snapshots import SnapshotStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunStart:
    project: str
    target: str
    run_id: str | None
    status: str          # started | already_active | planned | in_sync | diverged | promoted | error
    active_run_id: str | None = None
    plan: dict[str, Any] | None = None
    # status "error" because the service throttled or the request budget ran out: ask again after this.
    retry_after: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "target": self.target, "runId": self.run_id, "status": self.status,
                "activeRunId": self.active_run_id, "plan": self.plan,
                **({"retryAfterSeconds": self.retry_after} if self.retry_after is not None else {})}


@dataclass
class TickReport:
    past_due: bool
    started: list[RunStart] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drift: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pastDue": self.past_due, "started": [s.to_json() for s in self.started],
                "resumed": self.resumed, "diverged": self.diverged, "errors": self.errors,
                "warnings": self.warnings, "drift": self.drift}


@dataclass
class TargetClients:
    name: str
    authoring: AuthoringClient
    runtime: RuntimeClient
    documents: BlobServiceClient
    documents_override: str | None = None

    def container_for(self, primary_container: str) -> str:
        return self.documents_override or primary_container


def _never_promoted(target: str, project: str) -> bool:
    return False


class ReplicationRun:
    """The "replication" run kind, bound to the primary, the targets and the state stores."""

    name = REPLICATION_KIND

    def __init__(self, settings: Settings, *, primary: AuthoringClient, primary_runtime: RuntimeClient,
                 primary_documents: BlobServiceClient, targets: Mapping[str, TargetClients],
                 manifests: ManifestStore, lock: RunLock, executor: RunExecutor, snapshots: SnapshotStore,
                 trainings: TrainingBudget, sync_records: SyncRecordStore, clock: Clock,
                 step_options: StepOptions, promotion_view: Callable[[], IsPromoted] | None = None) -> None:
        self.settings = settings
        # A fresh check per call, bound to one read of the promotion record (none: nothing promoted).
        self.promotion_view: Callable[[], IsPromoted] = promotion_view or (lambda: _never_promoted)
        # Merged into every new run's context (failback names its run kind and acting primary there).
        self.extra_context: dict[str, Any] = {}
        self.primary = primary
        self.primary_runtime = primary_runtime
        self.primary_documents = primary_documents
        self.targets = targets
        self.manifests = manifests
        self.lock = lock
        self.executor = executor
        self.snapshots = snapshots
        self.trainings = trainings
        self.sync_records = sync_records
        self.clock = clock
        self.step_options = step_options

    # -- starting runs ---------------------------------------------------------------------------------

    def replicated_projects(self) -> list[str]:
        if self.settings.replicate_all:
            return sorted(str(p["projectName"]) for p in self.primary.list_projects()
                          if project_kind(p.get("projectKind")) is not None)
        return list(self.settings.replicated_projects)

    def _projects(self, projects: Sequence[str] | None) -> list[str]:
        if projects is None:
            return self.replicated_projects()
        names = [check_name("project", name) for name in projects]
        for name in names:
            if not self.settings.is_replicated(name):
                raise UnknownProject(name)
        return names

    def start_runs(self, projects: Sequence[str] | None = None, *, force: bool = False, dry_run: bool = False,
                   trigger: str = "manual", targets: Collection[str] | None = None) -> list[RunStart]:
        """A run per project and target (`targets`: only those, in configuration order)."""
        starts = []
        for project in self._projects(projects):
            for target in self.targets:
                if targets is not None and target not in targets:
                    continue
                try:
                    starts.append(self._start(project, target, force=force, dry_run=dry_run, trigger=trigger))
                except UnknownProject:
                    raise
                except ReplicatorError as error:
                    # One target down must not hold back the others: report it and go on.
                    logger.warning("could not start %s -> %s: %s", project, target, error.message)
                    retry_after = error.delay if isinstance(error, RetryLater) else None
                    starts.append(RunStart(project, target, None, "error", None, {"error": error.message},
                                           retry_after))
        return starts

    def _observe(self, project: str, target: str) -> Observed:
        record = self.sync_records.get(target, project)
        clients = self.targets[target]
        metadata = self.primary.get_project(project)
        if metadata is None:
            raise UnknownProject(project)
        container = self.primary_documents.get_container_client(str(metadata["storageInputContainerName"]))
        # The project just read is handed on: a run start reads the primary's project once, not twice.
        observed = replace(observe(project, target, self.primary, clients.authoring, container, record,
                                   self.our_modifications(target, project), metadata=metadata),
                           promoted=self.promotion_view()(target, project))
        # The same export decision as the daily check's, so both reach the same verdict.
        settled = settle(observed.observation(), lambda name: export_content_hash(self.primary, name))
        return replace(observed, content_changed=settled.content_changed)

    def our_modifications(self, target: str, project: str) -> frozenset[str]:
        """The target's lastModifiedDateTime values our imports left in recent runs, finished or failed."""
        return frozenset(str(step.detail["modifiedAfter"])
                         for run in self.manifests.recent(project, target, limit=5)
                         for step in run.steps
                         if step.kind == StepKind.IMPORT and step.detail.get("modifiedAfter"))

    def _plan(self, project: str, target: str, force: bool) -> tuple[Observed, Plan]:
        observed = self._observe(project, target)
        return observed, plan_run(observed, force=force, api_version=self.settings.api_version)

    def _start(self, project: str, target: str, *, force: bool, dry_run: bool, trigger: str) -> RunStart:
        if self.promotion_view()(target, project):
            # Decided before observing: the primary is usually down, and nothing may be written anyway.
            return RunStart(project, target, None, PROMOTED, None,
                            {"project": project, "target": target, "state": PROMOTED,
                             "reasons": [promoted_reason(target)], "warnings": [], "steps": []})
        if dry_run:
            _, plan = self._plan(project, target, force)
            status = "planned" if plan.steps else plan.state
            return RunStart(project, target, None, status, self.lock.holder(target, project), plan.to_json())
        now = self.clock.now()
        run_id = new_run_id(now)
        try:
            acquired = self.lock.acquire(target, project, run_id)
        except RunConflict as conflict:
            return RunStart(project, target, None, "already_active", conflict.active_run_id)
        try:
            observed, plan = self._plan(project, target, force)
            if not plan.steps:
                self.lock.release(target, project, run_id)
                return RunStart(project, target, None, plan.state, None, plan.to_json())
            if plan.state == DIVERGED and not force:
                self.lock.release(target, project, run_id)
                return RunStart(project, target, None, DIVERGED, None, plan.to_json())
            manifest = RunManifest(
                run_id=run_id, project=project, target=target, trigger=trigger, force=force, created_at=now,
                updated_at=now, status=PENDING, steps=plan.steps, reasons=plan.reasons,
                warnings=list(plan.warnings), next_message_sent=False, progress_at=now)
            if acquired.superseded_run_id:
                manifest.warnings.append(f"took over from run {acquired.superseded_run_id}")
            manifest.context = {
                # A kind reusing this planner (failback: the same steps, the other direction) names itself.
                **self.extra_context,
                "observed": observed.to_json(),
                "record": observed.record.to_json() if observed.record else None,
                "container": self.targets[target].container_for(observed.container),
            }
            stored = self.manifests.create(manifest)
        except BaseException:
            self.lock.release(target, project, run_id)
            raise
        # Stored: from here a failed send is a stalled run (resumed by the timer), so the lock stays.
        self.executor.send(stored, timedelta(0))
        logger.info("run %s started for %s -> %s: %s", run_id, project, target, "; ".join(plan.reasons))
        return RunStart(project, target, run_id, "started", run_id, plan.to_json())

    # -- executing -------------------------------------------------------------------------------------

    def machine(self, manifest: RunManifest) -> StepMachine:
        clients = self.targets[manifest.target]
        primary_container = str(manifest.context["observed"]["container"])
        target_container = str(manifest.context.get("container") or primary_container)
        primary = Side(self.primary, self.primary_runtime,
                       self.primary_documents.get_container_client(primary_container))
        secondary = Side(clients.authoring, clients.runtime,
                         clients.documents.get_container_client(target_container))
        return StepMachine(primary, secondary, self.snapshots, self.trainings, self.clock, self.step_options)

    def fits_a_request(self, step: StepRecord) -> bool:
        return fits_a_request(step.kind)

    def cancel_job(self, manifest: RunManifest, step: StepRecord) -> None:
        if cancellable(step.kind) and step.job_url:
            self.targets[manifest.target].authoring.cancel_training(step.job_url)

    # -- finishing -------------------------------------------------------------------------------------

    def finish(self, manifest: RunManifest) -> None:
        clients = self.targets[manifest.target]
        secondary = clients.authoring.get_project(manifest.project)
        record = self._sync_record(manifest, secondary)
        self.sync_records.put(record)
        manifest.context["syncRecord"] = record.to_json()

    def _sync_record(self, manifest: RunManifest, secondary: dict[str, Any] | None) -> SyncRecord:
        observed = manifest.context["observed"]
        previous = manifest.context.get("record") or {}
        label_hashes = dict(previous.get("labelHashes", {}))
        trained = dict(previous.get("trainedLabels", {}))
        for label in sorted({deployment["label"] for deployment in observed["deployments"].values()}):
            export = manifest.step(f"export:{label}")
            if export.status == SUCCEEDED:
                label_hashes[label] = export.detail["contentHash"]
            # Only a label trained by this run changed the target's model; a skipped one keeps what it had.
            if label not in trained or any(step.kind == StepKind.TRAIN and step.label == label
                                           and step.status == SUCCEEDED for step in manifest.steps):
                trained[label] = observed["models"][label]["lastTrainedDateTime"]
        working = manifest.step("export:working")
        verified = next((step.detail.get("evaluation") for step in manifest.steps
                         if step.kind == StepKind.VERIFY), None)
        evaluation = {label: scores for label, scores in (verified or {}).items() if scores} \
            if verified is not None else dict(previous.get("evaluation") or {})
        return SyncRecord(
            target=manifest.target, project=manifest.project, project_kind=observed["projectKind"],
            primary_last_modified=str(observed["primaryLastModifiedDateTime"]),
            deployments={name: DeploymentRecord.from_json(d) for name, d in observed["deployments"].items()},
            content_hash=str(working.detail.get("contentHash", previous.get("contentHash", ""))),
            documents_fingerprint=str(observed["documentsFingerprint"]),
            secondary_last_modified=str(secondary["lastModifiedDateTime"]) if secondary else None,
            snapshots=tuple(manifest.context.get("snapshots", [])), synced_at=self.clock.now(),
            run_id=manifest.run_id, label_hashes=label_hashes, trained_labels=trained, evaluation=evaluation,
            # A manifest planned before the signals were kept records none: the next check reads per project.
            primary_signals=observed.get("primarySignals"),
            secondary_signals=listed_signals(secondary) if "primarySignals" in observed else None,
        )

    def drift_report(self, projects: Sequence[str] | None = None, *, full: bool | None = None) -> DriftReport:
        """`full`: True observes every replica project by project, False only those whose timestamps
        moved, None those too and every replica whose last full observation is DRIFT_FULL_CHECK_DAYS old."""
        fingerprints: dict[str, str] = {}

        def fingerprint(project: str, container: str) -> str:
            # Projects often share a container: one listing per container and check.
            if container not in fingerprints:
                fingerprints[container] = container_fingerprint(
                    self.primary_documents.get_container_client(container))
            return fingerprints[container]

        def content_hash(project: str) -> str:
            return export_content_hash(self.primary, project)

        return check_drift(self.settings, self.primary, {n: t.authoring for n, t in self.targets.items()},
                           self.sync_records, fingerprint, content_hash, self.clock, projects=projects,
                           our_modifications=self.our_modifications, is_promoted=self.promotion_view(),
                           full_passes=FullPassLog(self.sync_records.blobs,
                                                   timedelta(days=self.settings.drift_full_check_days),
                                                   always=full))


__all__ = ["ReplicationRun", "RunStart", "TargetClients", "TickReport"]

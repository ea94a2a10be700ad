"""The replication run kind: plan a run per (project, target), execute its steps, record the sync.

Registered with the run executor (`shared.runs.executor`) like every other kind (restore is the
other); a manifest without a run kind is a replication run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from azure.storage.blob import BlobServiceClient

from shared.clock import Clock
from shared.errors import ReplicatorError, RunConflict, UnknownProject
from shared.language.authoring import AuthoringClient
from shared.language.project_kinds import ProjectKind, project_kind
from shared.language.retry import RetryLater
from shared.language.runtime import RuntimeClient
from shared.redaction import redact
from shared.replication.dependencies import (
    DependencyState,
    DependencyStatus,
    Readiness,
    gate,
    replication_order,
)
from shared.replication.drift import DriftReport, IsPromoted, check_drift, export_content_hash
from shared.replication.full_pass import FullPassLog
from shared.replication.orchestration import NO_DEPENDENCIES, Dependencies, DependencyReader
from shared.replication.plan import (
    DIVERGED,
    PROMOTED,
    Observed,
    Plan,
    api_version_for,
    documents_container,
    observe,
    plan_run,
)
from shared.replication.step_kinds import StepKind, cancellable, fits_a_request
from shared.replication.steps import Side, StepMachine, StepOptions
from shared.replication.sync_record import DeploymentRecord, SyncRecord, SyncRecordStore
from shared.replication.training_budget import TrainingBudget
from shared.replication.verdict import listed_signals, promoted_reason, settle
from shared.runs.executor import RunExecutor
from shared.runs.kinds import REPLICATION_KIND, kind_name
from shared.runs.lock import RunLock
from shared.runs.manifest import (
    CANCELLED,
    FAILED,
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
    # started | already_active | planned | in_sync | diverged | promoted | error, or, for an orchestration
    # held back by a CLU project it routes to: waiting | blocked (shared.replication.dependencies)
    status: str
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
                 step_options: StepOptions, promotion_view: Callable[[], IsPromoted] | None = None,
                 dependencies: DependencyReader | None = None) -> None:
        self.settings = settings
        # Which replicated orchestrations route to which CLU projects (None: no orchestrations known).
        self.dependency_reader = dependencies
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
        # Told of the starts each successful CLU run made for its orchestrations: a foreground
        # `replicate` drives and reports those runs too, instead of leaving them to the next timer.
        self.dependant_start_listeners: list[Callable[[RunManifest, Sequence[RunStart]], None]] = []

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

    def dependencies(self) -> Dependencies:
        """The replicated orchestrations' dependencies on CLU projects, read now."""
        if self.dependency_reader is None:
            return NO_DEPENDENCIES
        return self.dependency_reader.read(self.settings.is_replicated)

    def start_runs(self, projects: Sequence[str] | None = None, *, force: bool = False, dry_run: bool = False,
                   trigger: str = "manual", targets: Collection[str] | None = None,
                   dependencies: Dependencies | None = None) -> list[RunStart]:
        """A run per project and target (`targets`: only those, in configuration order).

        Orchestrations come after the CLU projects they route to, and wait while one of those is being
        replicated to the same target (shared.replication.dependencies decides). `dependencies`: as
        read a moment ago by a caller starting several batches (else read now)."""
        names = self._projects(projects)
        chosen = [target for target in self.targets if targets is None or target in targets]
        promoted = self.promotion_view()
        unread: ReplicatorError | None = None
        if dependencies is None:
            if all(promoted(target, project) for project in names for target in chosen):
                dependencies = NO_DEPENDENCIES  # nothing is written: the (maybe down) primary is not asked
            else:
                try:
                    dependencies = self.dependencies()
                except ReplicatorError as error:
                    # Unordered starts could train an orchestration too early: each start reports this.
                    unread, dependencies = error, NO_DEPENDENCIES
        starts: dict[tuple[str, str], RunStart] = {}
        for project in replication_order(names, dependencies.graph):
            for target in chosen:
                held = None
                if not promoted(target, project):
                    if unread is not None:
                        logger.warning("could not start %s -> %s: %s", project, target, unread.message)
                        starts[project, target] = RunStart(
                            project, target, None, "error", None, {"error": unread.message},
                            unread.delay if isinstance(unread, RetryLater) else None)
                        continue
                    held = gate(project, dependencies.graph,
                                partial(self._dependency_status, target=target, starts=starts))
                if held is not None and not held.ready:
                    logger.info("%s -> %s %s: %s", project, target, held.readiness.value,
                                "; ".join(held.reasons))
                    plan: dict[str, Any] = {
                        "project": project, "target": target, "state": held.readiness.value,
                        "reasons": list(held.reasons), "warnings": list(dependencies.notes.get(project, ())),
                        "steps": []}
                    if held.readiness is Readiness.ERROR:
                        plan["error"] = "; ".join(held.reasons)
                    starts[project, target] = RunStart(project, target, None, held.readiness.value, None,
                                                       plan)
                    continue
                try:
                    start = self._start(project, target, force=force, dry_run=dry_run, trigger=trigger,
                                        notes=dependencies.notes.get(project, ()))
                except UnknownProject:
                    raise
                except ReplicatorError as error:
                    # One target down must not hold back the others: report it and go on.
                    logger.warning("could not start %s -> %s: %s", project, target, error.message)
                    retry_after = error.delay if isinstance(error, RetryLater) else None
                    start = RunStart(project, target, None, "error", None, {"error": error.message},
                                     retry_after)
                starts[project, target] = start
        return list(starts.values())

    def _dependency_status(self, project: str, target: str,
                           starts: Mapping[tuple[str, str], RunStart]) -> DependencyStatus:
        """Where a CLU project an orchestration routes to stands on `target`: this batch's start of it
        first, else its run lock, its latest run and its sync record."""
        started = starts.get((project, target))
        if started is not None:
            if started.status in ("started", "already_active", "planned"):
                run = started.run_id or started.active_run_id
                return DependencyStatus(DependencyState.UNDER_WAY, f"run {run}" if run else "planned first")
            if started.status in ("in_sync", PROMOTED):
                return DependencyStatus(DependencyState.REPLICATED)
            plan = started.plan or {}
            reasons = "; ".join(map(str, plan.get("reasons") or [plan.get("error", "")]))
            return DependencyStatus(DependencyState.FAILED, redact(f"{started.status}: {reasons}"))
        holder = self.lock.holder(target, project)
        if holder is not None:
            return DependencyStatus(DependencyState.UNDER_WAY, f"run {holder}")
        latest = self.manifests.recent(project, target, limit=1)
        if latest and latest[0].status in (FAILED, CANCELLED):
            error = (latest[0].error or {}).get("message") or latest[0].status
            return DependencyStatus(DependencyState.FAILED, redact(f"run {latest[0].run_id}: {error}"))
        if self.sync_records.get(target, project) is None:
            return DependencyStatus(DependencyState.NOT_YET)
        return DependencyStatus(DependencyState.REPLICATED)

    def start_dependants(self, manifest: RunManifest) -> list[RunStart]:
        """After a CLU project's run succeeded: start the orchestrations routing to it on that target
        (the ones that waited for it, and the ones its new content makes stale)."""
        if kind_name(manifest) != REPLICATION_KIND:
            return []  # failback and restore runs start nothing after them
        kind = project_kind(manifest.context.get("observed", {}).get("projectKind"))
        if kind is not ProjectKind.CONVERSATION:
            return []  # only CLU projects are routed to: no listing spent after other runs
        dependencies = self.dependencies()
        dependants = dependencies.graph.dependants(manifest.project)
        if not dependants:
            return []
        logger.info("%s replicated to %s: starting the orchestrations routing to it: %s", manifest.project,
                    manifest.target, ", ".join(dependants))
        starts = self.start_runs(dependants, trigger="dependency", targets={manifest.target})
        for listener in self.dependant_start_listeners:
            listener(manifest, starts)
        return starts

    def _observe(self, project: str, target: str) -> Observed:
        record = self.sync_records.get(target, project)
        clients = self.targets[target]
        metadata = self.primary.get_project(project)
        if metadata is None:
            raise UnknownProject(project)
        container = documents_container(self.primary_documents, metadata)
        # The project just read is handed on: a run start reads the primary's project once, not twice.
        observed = replace(observe(project, target, self.primary, clients.authoring, container, record,
                                   self.our_modifications(target, project), metadata=metadata),
                           promoted=self.promotion_view()(target, project),
                           connected_synced=self.connected_synced(project, target, metadata))
        # The same export decision as the daily check's, so both reach the same verdict.
        settled = settle(observed.observation(), lambda name: export_content_hash(self.primary, name))
        return replace(observed, content_changed=settled.content_changed)

    def connected_synced(self, project: str, target: str, metadata: Mapping[str, Any]) -> dict[str, datetime]:
        """An orchestration's connected CLU projects -> when each was last synced to `target`."""
        if self.dependency_reader is None:
            return {}
        routing = self.dependency_reader.reader.routing({"projectName": project, **metadata})
        if routing is None:
            return {}
        records = {name: self.sync_records.get(target, name) for name in routing.connected}
        return {name: record.synced_at for name, record in records.items() if record is not None}

    def our_modifications(self, target: str, project: str) -> frozenset[str]:
        """The target's lastModifiedDateTime values our imports left in recent runs, finished or failed."""
        return frozenset(str(step.detail["modifiedAfter"])
                         for run in self.manifests.recent(project, target, limit=5)
                         for step in run.steps
                         if step.kind == StepKind.IMPORT and step.detail.get("modifiedAfter"))

    def _plan(self, project: str, target: str, force: bool,
              notes: Sequence[str] = ()) -> tuple[Observed, Plan]:
        observed = self._observe(project, target)
        api_version = api_version_for(self.settings, observed.kind)
        plan = plan_run(observed, force=force, api_version=api_version)
        plan.warnings += notes  # an orchestration's targets this tool does not replicate
        return observed, plan

    def _start(self, project: str, target: str, *, force: bool, dry_run: bool, trigger: str,
               notes: Sequence[str] = ()) -> RunStart:
        if self.promotion_view()(target, project):
            # Decided before observing: the primary is usually down, and nothing may be written anyway.
            return RunStart(project, target, None, PROMOTED, None,
                            {"project": project, "target": target, "state": PROMOTED,
                             "reasons": [promoted_reason(target)], "warnings": [], "steps": []})
        if dry_run:
            _, plan = self._plan(project, target, force, notes)
            status = "planned" if plan.steps else plan.state
            return RunStart(project, target, None, status, self.lock.holder(target, project), plan.to_json())
        now = self.clock.now()
        run_id = new_run_id(now)
        try:
            acquired = self.lock.acquire(target, project, run_id)
        except RunConflict as conflict:
            return RunStart(project, target, None, "already_active", conflict.active_run_id)
        try:
            observed, plan = self._plan(project, target, force, notes)
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
                "container": self.targets[target].container_for(observed.container) if observed.container
                else "",
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
        # Conversation projects have no documents container on either side.
        primary = Side(self.primary, self.primary_runtime,
                       self.primary_documents.get_container_client(primary_container) if primary_container
                       else None)
        secondary = Side(clients.authoring, clients.runtime,
                         clients.documents.get_container_client(target_container) if primary_container
                         else None)
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
            training_modes={**(previous.get("trainingModes") or {}), **(observed.get("trainingModes") or {})},
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

        reader = self.dependency_reader
        return check_drift(self.settings, self.primary, {n: t.authoring for n, t in self.targets.items()},
                           self.sync_records, fingerprint, content_hash, self.clock, projects=projects,
                           our_modifications=self.our_modifications, is_promoted=self.promotion_view(),
                           routing_of=reader.reader.routing if reader is not None else None,
                           full_passes=FullPassLog(self.sync_records.blobs,
                                                   timedelta(days=self.settings.drift_full_check_days),
                                                   always=full))


__all__ = ["ReplicationRun", "RunStart", "TargetClients", "TickReport"]

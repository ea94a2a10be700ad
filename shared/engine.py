"""The replication engine: the facade the Functions adapters, the CLI, the demo and the benchmarks use.

It wires the parts and delegates: the durable-run executor (`shared.runs.executor`: slices, fencing,
claims, cancel, re-drive), the run kinds registered with it (replication in `shared.replication.run`,
restore in `shared.recovery.restore`, failback in `shared.outage.failback`), the outage workflow
(`shared.outage`: promote, failback, drill), and the clients built from the settings (`shared.clients`).
What is left here is the daily tick and the health answer, which span the kinds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient

from shared._version import __version__
from shared.api_versions import ApiVersion, TextApiVersion
from shared.clients import build_clients
from shared.clock import Clock, SystemClock, utc_iso
from shared.errors import ReplicatorError
from shared.language.authoring import AuthoringClient
from shared.language.regions import target_region_problems
from shared.language.request_budget import RequestBudget
from shared.language.runtime import RuntimeClient
from shared.outage.drill import DrillReport, DrillService
from shared.outage.failback import FailbackReport, FailbackRun, FailbackService
from shared.outage.promote import PromoteReport, PromoteService
from shared.recovery.restore import RestoreRun
from shared.replication.dependencies import replication_order
from shared.replication.drift import DriftReport, DriftState
from shared.replication.drift_history import DriftHistory
from shared.replication.orchestration import DependencyReader, RoutingReader, export_project
from shared.replication.plan import DIVERGED, IN_SYNC, WORKING, api_version_for
from shared.replication.promotion import Promotion, PromotionStore
from shared.replication.run import ReplicationRun, RunStart, TargetClients, TickReport
from shared.replication.steps import StepOptions
from shared.replication.sync_record import SyncRecordStore
from shared.replication.training_budget import TrainingBudget
from shared.runs.executor import CrashHook, RunExecutor
from shared.runs.kinds import RunKinds
from shared.runs.lock import RunLock
from shared.runs.manifest import ManifestStore, RunManifest
from shared.runs.scheduler.base import Scheduler
from shared.runs.scheduler.messages import StepMessage
from shared.schedule import OVERDUE, check_overdue
from shared.settings import Settings
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs
from shared.storage.snapshots import SnapshotStore

logger = logging.getLogger(__name__)

# The product version, re-exported for the facade's status report and the health probe.
VERSION = __version__


@dataclass(frozen=True)
class EngineOptions:
    # How long a slice's claim keeps a duplicate delivery of the same message at bay; a slice is
    # bounded (one submit or poll, retry sleeps capped at a few seconds), so minutes are plenty.
    slice_lease: timedelta = timedelta(minutes=5)
    steps: StepOptions = field(default_factory=StepOptions)


class ReplicationEngine:
    def __init__(self, settings: Settings, *, primary: AuthoringClient, primary_runtime: RuntimeClient,
                 primary_documents: BlobServiceClient, targets: dict[str, TargetClients],
                 state_storage: BlobServiceClient, scheduler: Scheduler, clock: Clock,
                 options: EngineOptions | None = None) -> None:
        self.settings = settings
        self.primary = primary
        self.primary_runtime = primary_runtime
        self.primary_documents = primary_documents
        self.targets = targets
        self.scheduler = scheduler
        self.clock = clock
        base = options or EngineOptions()
        self.options = replace(
            base, steps=replace(base.steps, agreement_threshold=settings.verify_agreement_threshold,
                                agreement_threshold_resampled=settings.verify_agreement_threshold_resampled,
                                evaluation_tolerance=settings.verify_evaluation_tolerance,
                                training_split=settings.training_split,
                                default_training_mode=settings.clu_default_training_mode))
        state = JsonBlobs(state_storage.get_container_client(STATE_CONTAINER))
        self.manifests = ManifestStore(state)
        self.lock = RunLock(state, self.manifests, clock, settings.run_stall_timeout)
        self.sync_records = SyncRecordStore(state)
        self.drift_history = DriftHistory(state)
        # Its own container: callers may read the promotion record, never the state beside it.
        routing = state_storage.get_container_client(settings.routing_container)
        self.promotions = PromotionStore(JsonBlobs(routing))
        self.trainings = TrainingBudget(state, settings.max_trainings_per_project_per_day)
        self.snapshots = SnapshotStore(state_storage.get_container_client(settings.snapshot_container), clock)
        self.state_storage = state_storage
        self.executor = RunExecutor(self.manifests, self.lock, scheduler, clock, RunKinds(),
                                    slice_lease=self.options.slice_lease,
                                    stall_timeout=settings.run_stall_timeout)
        self.replication = ReplicationRun(
            settings, primary=primary, primary_runtime=primary_runtime, primary_documents=primary_documents,
            targets=targets, manifests=self.manifests, lock=self.lock, executor=self.executor,
            snapshots=self.snapshots, trainings=self.trainings, sync_records=self.sync_records, clock=clock,
            step_options=self.options.steps, promotion_view=self.promotions.view,
            dependencies=DependencyReader(primary.list_projects,
                                          RoutingReader(lambda name: export_project(primary, name), state)))
        self.executor.kinds.register(self.replication)
        # A CLU project replicated: the orchestrations routing to it (waiting, or now stale) follow.
        self.executor.run_succeeded_listeners.append(self.replication.start_dependants)
        self.executor.kinds.register(RestoreRun(self))
        self.failback_run = FailbackRun(self)
        self.executor.kinds.register(self.failback_run)
        # A CLU project failed back: the orchestrations routing to it that waited follow (ADR 0012).
        self.executor.run_succeeded_listeners.append(self.failback_run.start_dependants)
        # One list: whoever follows runs in this process hears what either kind's success started.
        self.failback_run.dependant_start_listeners = self.replication.dependant_start_listeners
        if settings.notify_webhook_url:
            from shared.recovery.upkeep import notify_run_failed

            self.run_failed_listeners.append(lambda manifest: notify_run_failed(self, manifest))

    @classmethod
    def from_settings(cls, settings: Settings, *, credential: TokenCredential | None = None,
                      clock: Clock | None = None, scheduler: Scheduler | None = None,
                      options: EngineOptions | None = None, budget: RequestBudget | None = None
                      ) -> ReplicationEngine:
        """Build every client from the settings; nothing is contacted until used."""
        clock = clock or SystemClock()
        clients = build_clients(settings, clock, credential=credential, scheduler=scheduler, budget=budget)
        return cls(settings, primary=clients.primary, primary_runtime=clients.primary_runtime,
                   primary_documents=clients.primary_documents, targets=clients.targets,
                   state_storage=clients.state_storage, scheduler=clients.scheduler, clock=clock,
                   options=options)

    @property
    def step_options(self) -> StepOptions:
        return self.options.steps

    @property
    def api_version(self) -> TextApiVersion:
        return self.settings.api_version

    def api_version_for(self, kind: str) -> ApiVersion:
        return api_version_for(self.settings, kind)

    @property
    def crash_hook(self) -> CrashHook | None:
        """Test seam: called at every step boundary; raising from it simulates a crash there."""
        return self.executor.crash_hook

    @crash_hook.setter
    def crash_hook(self, hook: CrashHook | None) -> None:
        self.executor.crash_hook = hook

    @property
    def run_failed_listeners(self) -> list[Callable[[RunManifest], None]]:
        """Told of every run that fails (the webhook notifier); their errors never reach the run."""
        return self.executor.run_failed_listeners

    @property
    def dependant_start_listeners(self) -> list[Callable[[RunManifest, Sequence[RunStart]], None]]:
        """Told, in this process, of the orchestration runs a successful CLU run started (trigger
        `dependency`, or `failback` after a failback run): `replicate` and `failback` follow them like
        their own."""
        return self.replication.dependant_start_listeners

    # -- replication runs ------------------------------------------------------------------------------

    def replicated_projects(self) -> list[str]:
        return self.replication.replicated_projects()

    def start_runs(self, projects: Sequence[str] | None = None, *, force: bool = False, dry_run: bool = False,
                   trigger: str = "manual", targets: Collection[str] | None = None) -> list[RunStart]:
        """A run per project and target (`targets`: only those, in configuration order)."""
        return self.replication.start_runs(projects, force=force, dry_run=dry_run, trigger=trigger,
                                           targets=targets)

    def drift_report(self, projects: Sequence[str] | None = None, *, full: bool | None = None) -> DriftReport:
        """Check drift now; every check (timer, HTTP, CLI) lands in the drift history (the status page)."""
        report = self.replication.drift_report(projects, full=full)
        try:
            self.drift_history.record(report, partial=projects is not None)
        except (ReplicatorError, AzureError) as error:
            # The check stands without its history point; the page shows the gap.
            logger.warning("drift history not recorded: %s", type(error).__name__)
        return report

    # -- runs of any kind (the executor) ---------------------------------------------------------------

    def launch(self, manifest: RunManifest) -> None:
        """Store a new run (of any kind) whose run lock the caller holds, and schedule its first slice."""
        self.executor.launch(manifest)

    def advance(self, message: StepMessage) -> None:
        """One bounded slice of the message's run; stale and duplicate messages are dropped."""
        self.executor.advance(message)

    def fail_poisoned(self, message: StepMessage, reason: str) -> None:
        """The host gave up on a message: fail its run with the reason (unless the message was stale)."""
        self.executor.fail_poisoned(message, reason)

    def resume_stalled(self) -> list[str]:
        return self.executor.resume_stalled()

    def active_runs(self, project: str | None = None) -> list[RunManifest]:
        return self.executor.active_runs(project)

    def resume_run(self, project: str, run_id: str) -> RunManifest:
        return self.executor.resume_run(project, run_id)

    def list_runs(self, project: str, target: str | None = None, limit: int = 20) -> list[RunManifest]:
        return self.executor.list_runs(project, target, limit)

    def get_run(self, project: str, run_id: str) -> RunManifest:
        return self.executor.get_run(project, run_id)

    def redrive_step(self, project: str, run_id: str, step: str) -> RunManifest:
        return self.executor.redrive_step(project, run_id, step)

    def run_step_now(self, project: str, run_id: str, step: str) -> RunManifest:
        """One slice of `step` executed by the caller, under the queue trigger's claim, fence and lock."""
        return self.executor.run_step_now(project, run_id, step)

    def cancel_run(self, project: str, run_id: str) -> RunManifest:
        return self.executor.cancel_run(project, run_id)

    # -- fail over and back ----------------------------------------------------------------------------

    def promotion(self) -> Promotion | None:
        return self.promotions.get()

    def promote(self, *, target: str | None = None, projects: Sequence[str] | None = None, by: str,
                reason: str) -> PromoteReport:
        """Declare `target` the acting primary (shared.outage.promote)."""
        return PromoteService(self).promote(target=target, projects=projects, by=by, reason=reason)

    def failback(self, *, projects: Sequence[str] | None = None, prefer: str | None = None,
                 dry_run: bool = False) -> FailbackReport:
        """Bring the acting primary's work back to the original primary (shared.outage.failback)."""
        return FailbackService(self, self.failback_run).failback(projects=projects, prefer=prefer,
                                                                 dry_run=dry_run)

    def drill(self, projects: Sequence[str] | None = None) -> DrillReport:
        """Prove each target could serve now, writing nothing to any resource (shared.outage.drill)."""
        return DrillService(self).drill(projects)

    def scheduled_drill(self) -> DrillReport | None:
        """The drill, when DRILL_EVERY_DAYS says one is due (the daily timer asks)."""
        service = DrillService(self)
        return service.drill() if service.due() else None

    # -- timer -----------------------------------------------------------------------------------------

    def timer_tick(self, *, past_due: bool = False) -> TickReport:
        """Daily: resume stalled runs, check drift, start runs for drifted projects (diverged: report)."""
        report = TickReport(past_due)
        if past_due:
            report.warnings.append("the drift timer fired late (past due); checking now")
        report.resumed = self.executor.resume_stalled()
        if self.promotions.get() is not None:
            try:
                report.warnings += [f"acting primary snapshotted: {info.name}"
                                    for info in PromoteService(self).snapshot_acting()]
            except (ReplicatorError, AzureError, requests.RequestException) as error:
                report.warnings.append(f"could not snapshot the acting primary: {type(error).__name__}")
        drift = self.drift_report()
        report.drift = drift.to_json()
        report.diverged = [f"{e.project} -> {e.target}" for e in drift.projects if e.state.value == DIVERGED]
        wanted = sorted({entry.project for entry in drift.needing_replication()})
        # Orchestrations after the CLU projects they route to (they then wait for those runs); read once.
        dependencies = self.replication.dependencies() if len(wanted) > 1 else None
        if dependencies is not None:
            wanted = replication_order(wanted, dependencies.graph)
        for project in wanted:
            entries = [entry for entry in drift.projects if entry.project == project]
            # Only the targets the check found behind: an in-sync one needs no planning calls, and one the
            # check could not reach is reported from the check, not retried once per project (a target
            # that is down must not hold back the others' starts).
            report.started += [RunStart(project, e.target, None, "error", None,
                                        {"error": "; ".join(e.reasons)})
                               for e in entries if e.state is DriftState.ERROR]
            try:
                report.started += self.replication.start_runs(
                    [project], trigger="timer", targets={e.target for e in entries if e.needs_replication},
                    dependencies=dependencies)
            except ReplicatorError as error:
                report.errors.append({"project": project, **error.to_json()})
        return report

    def health(self, *, drift_check: bool = False) -> dict[str, Any]:
        """Whether settings and state storage are usable; never a secret. `drift_check`: also when the drift
        check last ran and whether it is overdue (a blob read: the details ask, the anonymous probe not)."""
        storage: dict[str, Any] = {"container": STATE_CONTAINER}
        try:
            self.state_storage.get_container_client(STATE_CONTAINER).exists()
            storage["usable"] = True
        except Exception as error:  # any failure means unusable; report its kind, not its details
            storage["usable"] = False
            storage["error"] = type(error).__name__
        # A target whose region cannot author is named, not judged unhealthy: the app itself still works.
        warnings = list(target_region_problems(self.settings).values())
        now = self.clock.now()
        body: dict[str, Any] = {
            "version": VERSION, "time": utc_iso(now), "settings": self.settings.to_json(),
            "stateStorage": storage, "warnings": warnings, "healthy": bool(storage["usable"])}
        if drift_check and storage["usable"]:
            checked = body["driftCheck"] = self.drift_check_state(now)
            if checked["overdue"]:
                warnings.append(f"the last drift check is {OVERDUE}")
            if "error" in checked:
                warnings.append("the last drift report cannot be read; the next drift check replaces it")
        return body

    def drift_check_state(self, now: datetime) -> dict[str, Any]:
        """When the drift check last ran and whether that is overdue (the status page's own rule)."""
        try:
            report = self.drift_history.latest()
        except Exception as error:  # a probe answers: an unreadable report is said, not raised
            return {"checkedAt": None, "overdue": False, "error": type(error).__name__}
        if report is None:
            return {"checkedAt": None, "overdue": False}
        return {"checkedAt": utc_iso(report.checked_at),
                "overdue": check_overdue(self.settings.drift_schedule, report.checked_at, now)}


__all__ = ["IN_SYNC", "VERSION", "WORKING", "EngineOptions", "ReplicationEngine", "RunStart", "TargetClients",
           "TickReport"]

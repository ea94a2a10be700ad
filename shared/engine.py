"""The replication engine: the facade the Functions adapters, the CLI, the demo and the benchmarks use.

A run is planned synchronously (a few GETs), then executed in slices: each `advance` does one bounded
piece of the current step, checkpoints the manifest, and hands the next slice to the scheduler with a
delay. Nothing here knows about Azure Functions.

Fencing: the manifest holds `fence`; a step message carries the fence it was scheduled with. A slice
claims the manifest (owner + time, ETag-conditional) before working, so a duplicate delivery of the
same message backs off; every slice ends by bumping the fence, so an older message is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.storage.blob import BlobServiceClient

from shared.authoring import AuthoringClient
from shared.clock import Clock, SystemClock, utc_iso
from shared.credentials import CredentialFactory, RequestAuth, auth_for, default_credential_factory
from shared.documents import container_fingerprint
from shared.drift import DriftReport, check_drift, export_content_hash
from shared.drift_verdict import DriftState, settle
from shared.errors import ConcurrentUpdate, InvalidRequest, ReplicatorError, RunConflict, UnknownProject
from shared.export_format import PROJECT_KINDS
from shared.json_blobs import STATE_CONTAINER, JsonBlobs
from shared.manifest import (
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    ManifestStore,
    RunManifest,
    StepRecord,
    StoredManifest,
    check_name,
    check_run_id,
    new_run_id,
)
from shared.planner import DIVERGED, IN_SYNC, WORKING, Observed, Plan, observe, plan_run
from shared.regions import target_region_problems
from shared.request_budget import BlobRequestBudget, RequestBudget
from shared.retry import RetryLater
from shared.run_kinds import run_kind
from shared.run_lock import RunLock, stalled
from shared.runtime_client import RuntimeClient
from shared.scheduler.base import Scheduler
from shared.scheduler.messages import StepMessage
from shared.scheduler.storage_queue import StorageQueueScheduler, step_queue_client_from_service
from shared.settings import HOST_STORAGE_CONNECTION, LanguageResource, Settings
from shared.snapshots import SnapshotStore
from shared.steps import Side, StepFailed, StepMachine, StepOptions, retire_job
from shared.storage import (
    StorageCredentialFactory,
    blob_service_client,
    default_storage_credential_factory,
    documents_blob_service,
    queue_service_client,
)
from shared.sync_record import DeploymentRecord, SyncRecord, SyncRecordStore
from shared.training_budget import TrainingBudget

logger = logging.getLogger(__name__)

VERSION = "0.1.0"
CrashHook = Callable[[str, StepRecord], None]


class ClaimLost(Exception):
    """Someone else (cancel, a takeover, another delivery) changed the run under this slice."""


@dataclass(frozen=True)
class EngineOptions:
    # How long a slice's claim keeps a duplicate delivery of the same message at bay; a slice is
    # bounded (one submit or poll, retry sleeps capped at a few seconds), so minutes are plenty.
    slice_lease: timedelta = timedelta(minutes=5)
    steps: StepOptions = field(default_factory=StepOptions)


@dataclass(frozen=True)
class RunStart:
    project: str
    target: str
    run_id: str | None
    status: str                      # started | already_active | planned | in_sync | diverged | error
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
        self.options = replace(base, steps=replace(base.steps, api_version=settings.api_version,
                                                   agreement_threshold=settings.verify_agreement_threshold))
        state = JsonBlobs(state_storage.get_container_client(STATE_CONTAINER))
        self.manifests = ManifestStore(state)
        self.lock = RunLock(state, self.manifests, clock, settings.run_stall_timeout)
        self.sync_records = SyncRecordStore(state)
        self.trainings = TrainingBudget(state, settings.max_trainings_per_project_per_day)
        self.snapshots = SnapshotStore(state_storage.get_container_client(settings.snapshot_container), clock)
        self.state_storage = state_storage
        # Test seam: called at every step boundary; raising from it simulates a crash there.
        self.crash_hook: CrashHook | None = None
        # Told of every run that fails (the webhook notifier); their errors never reach the run.
        self.run_failed_listeners: list[Callable[[RunManifest], None]] = []
        if settings.notify_webhook_url:
            from shared.maintenance import notify_run_failed

            self.run_failed_listeners.append(lambda manifest: notify_run_failed(self, manifest))

    # -- construction ----------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings, *, credential: TokenCredential | None = None,
                      clock: Clock | None = None, scheduler: Scheduler | None = None,
                      options: EngineOptions | None = None, budget: RequestBudget | None = None
                      ) -> ReplicationEngine:
        """Build every client from the settings; nothing is contacted until used."""
        clock = clock or SystemClock()
        values = {**os.environ, **settings.values}
        if credential is None:
            language_credentials: CredentialFactory = default_credential_factory
            storage_credentials: StorageCredentialFactory = default_storage_credential_factory
        else:
            injected = credential
            language_credentials = lambda: injected  # noqa: E731
            storage_credentials = lambda spec: injected  # noqa: E731

        def auth(resource: LanguageResource) -> RequestAuth:
            return auth_for(resource, language_credentials, clock=clock)

        def blobs(value: str, setting: str) -> BlobServiceClient:
            return documents_blob_service(value, setting, storage_credentials)

        state_storage = blob_service_client(settings.snapshot_storage, values, storage_credentials,
                                            setting="SNAPSHOT_STORAGE")
        if budget is None:
            budget = BlobRequestBudget(state_storage.get_container_client(STATE_CONTAINER), clock)
        runtime_version = "2022-05-01" if settings.api_version == "2022-05-01" else "2023-04-01"

        def authoring(resource: LanguageResource) -> AuthoringClient:
            return AuthoringClient(resource.endpoint, auth(resource), settings.api_version, budget=budget,
                                   budget_key=resource.budget_key, clock=clock)

        targets = {
            target.name: TargetClients(
                target.name, authoring(target.language),
                RuntimeClient(target.language.endpoint, auth(target.language), api_version=runtime_version),
                blobs(target.documents_storage, target.documents_storage_setting),
                target.documents_container_override)
            for target in settings.targets
        }
        if scheduler is None:
            queues = queue_service_client(HOST_STORAGE_CONNECTION, values, storage_credentials)
            scheduler = StorageQueueScheduler(step_queue_client_from_service(queues))
        return cls(settings, primary=authoring(settings.primary),
                   primary_runtime=RuntimeClient(settings.primary.endpoint, auth(settings.primary),
                                                 api_version=runtime_version),
                   primary_documents=blobs(settings.primary_documents_storage, "PRIMARY_DOCUMENTS_STORAGE"),
                   targets=targets, state_storage=state_storage, scheduler=scheduler, clock=clock,
                   options=options)

    # -- starting runs ---------------------------------------------------------------------------------

    def replicated_projects(self) -> list[str]:
        if self.settings.replicate_all:
            return sorted(str(p["projectName"]) for p in self.primary.list_projects()
                          if p.get("projectKind") in PROJECT_KINDS)
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
        observed = observe(project, target, self.primary, clients.authoring, container, record,
                           self.our_modifications(target, project))
        # The same export decision as the daily check's, so both reach the same verdict.
        settled = settle(observed.observation(), lambda name: export_content_hash(self.primary, name))
        return replace(observed, content_changed=settled.content_changed)

    def our_modifications(self, target: str, project: str) -> frozenset[str]:
        """The target's lastModifiedDateTime values our imports left in recent runs, finished or failed."""
        return frozenset(str(step.detail["modifiedAfter"])
                         for run in self.manifests.recent(project, target, limit=5)
                         for step in run.steps if step.kind == "import" and step.detail.get("modifiedAfter"))

    def _plan(self, project: str, target: str, force: bool) -> tuple[Observed, Plan]:
        observed = self._observe(project, target)
        return observed, plan_run(observed, force=force, api_version=self.settings.api_version)

    def _start(self, project: str, target: str, *, force: bool, dry_run: bool, trigger: str) -> RunStart:
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
                "observed": observed.to_json(),
                "record": observed.record.to_json() if observed.record else None,
                "container": self.targets[target].container_for(observed.container),
            }
            stored = self.manifests.create(manifest)
        except BaseException:
            self.lock.release(target, project, run_id)
            raise
        self._send(stored, timedelta(0))
        logger.info("run %s started for %s -> %s: %s", run_id, project, target, "; ".join(plan.reasons))
        return RunStart(project, target, run_id, "started", run_id, plan.to_json())

    def launch(self, manifest: RunManifest) -> None:
        """Store a new run (of any kind) whose run lock the caller holds, and schedule its first slice."""
        self._send(self.manifests.create(manifest), timedelta(0))

    def _send(self, stored: StoredManifest, delay: timedelta) -> None:
        """Hand the slice for the manifest's current fence to the scheduler, then note it was sent."""
        manifest = stored.manifest
        current = manifest.current_step()
        self.scheduler.schedule(StepMessage(manifest.run_id, manifest.project, manifest.target,
                                            current.name if current else "finish", manifest.fence), delay)
        manifest.next_message_sent = True
        with contextlib.suppress(ConcurrentUpdate):
            self.manifests.save(stored, self.clock.now())

    # -- executing slices ------------------------------------------------------------------------------

    def advance(self, message: StepMessage) -> None:
        """One bounded slice of the message's run; stale and duplicate messages are dropped."""
        owner = os.urandom(6).hex()
        stored = self._claim(message, owner)
        if stored is None:
            return
        slice_ = _Slice(self, stored, owner)
        manifest = slice_.manifest
        step = manifest.current_step()
        try:
            if step is None:
                try:
                    self._finish(slice_)
                except RetryLater as later:
                    # Throttled or out of request budget while closing the run: come back later
                    # rather than failing every delivery of the last slice.
                    self._next(slice_, timedelta(seconds=later.delay), manifest.steps[-1])
                return
            delay = self._machine(manifest).run(slice_, step)
        except ClaimLost:
            logger.info("run %s changed under slice %s; dropped", manifest.run_id, owner)
            return
        except StepFailed as failure:
            assert step is not None
            self._fail_step(slice_, step, failure.code, failure.message, failure.details)
            return
        except Exception:
            slice_.release_claim()
            raise
        slice_.hook("after-slice", step)
        if step.done:
            logger.info("run %s (%s -> %s): step %s %s", manifest.run_id, manifest.project, manifest.target,
                        step.name, step.status)
        self._next(slice_, delay or timedelta(0), step)

    def _claim(self, message: StepMessage, owner: str) -> StoredManifest | None:
        for _ in range(5):
            try:
                stored = self.manifests.load(message.project, message.run_id)
            except ReplicatorError as error:
                logger.warning("step message for an unknown run dropped: %s", error)
                return None
            manifest = stored.manifest
            if not manifest.active or message.target != manifest.target:
                return None
            now = self.clock.now()
            if message.fence != manifest.fence:
                if message.fence == manifest.fence - 1 and not manifest.next_message_sent:
                    # The previous slice bumped the fence but died before scheduling it: do it now.
                    self._send(stored, timedelta(0))
                return None
            claimed_for = now - manifest.claim_at if manifest.claim_at else None
            if manifest.claim_owner and claimed_for is not None and claimed_for < self.options.slice_lease:
                # Another delivery of this message is working; look again once its claim would lapse.
                self.scheduler.schedule(message, self.options.slice_lease - claimed_for)
                return None
            if self.lock.holder(manifest.target, manifest.project) != manifest.run_id:
                self._fail(stored, "LockLost", "another run holds the run lock for this project")
                return None
            manifest.claim_owner, manifest.claim_at, manifest.status = owner, now, RUNNING
            try:
                return self.manifests.save(stored, now)
            except ConcurrentUpdate:
                continue
        return None

    def _machine(self, manifest: RunManifest) -> StepMachine:
        other_kind = run_kind(manifest)
        if other_kind is not None:
            return other_kind.machine(self, manifest)
        clients = self.targets[manifest.target]
        primary_container = str(manifest.context["observed"]["container"])
        target_container = str(manifest.context.get("container") or primary_container)
        primary = Side(self.primary, self.primary_runtime,
                       self.primary_documents.get_container_client(primary_container))
        secondary = Side(clients.authoring, clients.runtime,
                         clients.documents.get_container_client(target_container))
        return StepMachine(primary, secondary, self.snapshots, self.trainings, self.clock, self.options.steps)

    def _next(self, slice_: _Slice, delay: timedelta, step: StepRecord) -> None:
        manifest = slice_.manifest
        now = self.clock.now()
        manifest.fence += 1
        manifest.claim_owner = manifest.claim_at = None
        manifest.next_message_sent = False
        manifest.next_due_at = now + delay
        manifest.progress_at = now
        try:
            slice_.save()
        except ClaimLost:
            return
        slice_.hook("after-fence", step)
        self._send(slice_.stored, delay)

    def _fail_step(self, slice_: _Slice, step: StepRecord, code: str, message: str,
                   details: list[dict[str, Any]]) -> None:
        step.status = FAILED
        step.finished_at = self.clock.now()
        step.errors.append({"code": code, "message": message, **({"details": details} if details else {})})
        with contextlib.suppress(ClaimLost):
            self._fail(slice_.stored, code, message, step.name)

    def _fail(self, stored: StoredManifest, code: str, message: str, step: str | None = None) -> None:
        manifest = stored.manifest
        manifest.status = FAILED
        manifest.finished_at = self.clock.now()
        manifest.error = {"code": code, "message": message, **({"step": step} if step else {})}
        # The failed-run alert (infra/app/alerts.bicep) matches this exact prefix in the logs.
        logger.error("replication.run_failed project=%s target=%s run_id=%s step=%s code=%s: %s",
                     manifest.project, manifest.target, manifest.run_id, step or "-", code, message)
        manifest.fence += 1
        manifest.claim_owner = manifest.claim_at = None
        try:
            self.manifests.save(stored, self.clock.now())
        except ConcurrentUpdate as error:
            raise ClaimLost() from error
        self.lock.release(manifest.target, manifest.project, manifest.run_id)
        for listener in self.run_failed_listeners:
            try:
                listener(manifest)
            except Exception:  # a notification must never disturb the run's own bookkeeping
                logger.exception("a run-failed listener failed for run %s", manifest.run_id)

    def _finish(self, slice_: _Slice) -> None:
        manifest = slice_.manifest
        other_kind = run_kind(manifest)
        if other_kind is not None:
            other_kind.finish(self, manifest)
        else:
            clients = self.targets[manifest.target]
            secondary = clients.authoring.get_project(manifest.project)
            record = self._sync_record(manifest, secondary)
            self.sync_records.put(record)
            manifest.context["syncRecord"] = record.to_json()
        manifest.status = SUCCEEDED
        manifest.finished_at = self.clock.now()
        manifest.fence += 1
        manifest.claim_owner = manifest.claim_at = None
        slice_.save()
        self.lock.release(manifest.target, manifest.project, manifest.run_id)
        logger.info("run %s succeeded: %s in sync on %s", manifest.run_id, manifest.project, manifest.target)

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
            if label not in trained or any(step.kind == "train" and step.label == label
                                           and step.status == SUCCEEDED for step in manifest.steps):
                trained[label] = observed["models"][label]["lastTrainedDateTime"]
        working = manifest.step("export:working")
        return SyncRecord(
            target=manifest.target, project=manifest.project, project_kind=observed["projectKind"],
            primary_last_modified=str(observed["primaryLastModifiedDateTime"]),
            deployments={name: DeploymentRecord.from_json(d) for name, d in observed["deployments"].items()},
            content_hash=str(working.detail.get("contentHash", previous.get("contentHash", ""))),
            documents_fingerprint=str(observed["documentsFingerprint"]),
            secondary_last_modified=str(secondary["lastModifiedDateTime"]) if secondary else None,
            snapshots=tuple(manifest.context.get("snapshots", [])), synced_at=self.clock.now(),
            run_id=manifest.run_id, label_hashes=label_hashes, trained_labels=trained,
        )

    def fail_poisoned(self, message: StepMessage, reason: str) -> None:
        """The host gave up on a message: fail its run with the reason (unless the message was stale)."""
        try:
            stored = self.manifests.load(message.project, message.run_id)
        except ReplicatorError:
            return
        manifest = stored.manifest
        if not manifest.active or (message.fence < manifest.fence and manifest.next_message_sent):
            return
        with contextlib.suppress(ClaimLost):
            self._fail(stored, "Poisoned", reason, message.step)

    # -- timer -----------------------------------------------------------------------------------------

    def timer_tick(self, *, past_due: bool = False) -> TickReport:
        """Daily: resume stalled runs, check drift, start runs for drifted projects (diverged: report)."""
        report = TickReport(past_due)
        if past_due:
            report.warnings.append("the drift timer fired late (past due); checking now")
        report.resumed = self.resume_stalled()
        drift = self.drift_report()
        report.drift = drift.to_json()
        report.diverged = [f"{e.project} -> {e.target}" for e in drift.projects if e.state.value == DIVERGED]
        wanted = sorted({entry.project for entry in drift.needing_replication()})
        for project in wanted:
            entries = [entry for entry in drift.projects if entry.project == project]
            # Only the targets the check found behind: an in-sync one needs no planning calls, and one the
            # check could not reach is reported from the check, not retried once per project (a target
            # that is down must not hold back the others' starts).
            report.started += [RunStart(project, e.target, None, "error", None,
                                        {"error": "; ".join(e.reasons)})
                               for e in entries if e.state is DriftState.ERROR]
            try:
                report.started += self.start_runs([project], trigger="timer",
                                                  targets={e.target for e in entries if e.needs_replication})
            except ReplicatorError as error:
                report.errors.append({"project": project, **error.to_json()})
        return report

    def resume_stalled(self) -> list[str]:
        """Re-send the current slice of every active run that has shown no progress for the stall timeout."""
        resumed = []
        now = self.clock.now()
        for project in self.manifests.projects():
            for manifest in self.manifests.recent(project, limit=5):
                if stalled(manifest, now, self.settings.run_stall_timeout) and self._resend(manifest):
                    resumed.append(manifest.run_id)
        return resumed

    def active_runs(self, project: str | None = None) -> list[RunManifest]:
        """Runs not yet finished (for the CLI's "resume unfinished runs")."""
        projects = [check_name("project", project)] if project else self.manifests.projects()
        return [run for name in projects for run in self.manifests.recent(name, limit=20) if run.active]

    def resume_run(self, project: str, run_id: str) -> RunManifest:
        """Hand an active run's current slice to the scheduler again (e.g. its queue message was lost).

        Safe at any time: the fence moves on, so any message still queued for the run becomes stale.
        """
        manifest = self.get_run(project, run_id)
        if manifest.active:
            self._resend(manifest)
        return self.get_run(project, run_id)

    def _resend(self, manifest: RunManifest) -> bool:
        now = self.clock.now()
        try:
            stored = self.manifests.load(manifest.project, manifest.run_id)
            if not stored.manifest.active:
                return False
            stored.manifest.fence += 1
            stored.manifest.claim_owner = stored.manifest.claim_at = None
            stored.manifest.progress_at = now
            stored.manifest.next_message_sent = False
            stored = self.manifests.save(stored, now)
        except ConcurrentUpdate:
            return False
        self._send(stored, timedelta(0))
        return True

    # -- queries and operator actions ------------------------------------------------------------------

    def list_runs(self, project: str, target: str | None = None, limit: int = 20) -> list[RunManifest]:
        return self.manifests.recent(check_name("project", project), target, limit)

    def get_run(self, project: str, run_id: str) -> RunManifest:
        return self.manifests.load(check_name("project", project), check_run_id(run_id)).manifest

    def redrive_step(self, project: str, run_id: str, step: str) -> RunManifest:
        """Re-drive one step: a done step is left alone; a failed run resumes from its failed step."""
        stored = self.manifests.load(check_name("project", project), check_run_id(run_id))
        manifest = stored.manifest
        record = manifest.step(step)
        if record.done:
            return manifest
        if manifest.active:
            # Nudge: a duplicate of the current slice is harmless (fenced and claimed).
            if manifest.current_step() is record:
                self.scheduler.schedule(StepMessage(run_id, project, manifest.target, step, manifest.fence),
                                        timedelta(0))
            return manifest
        if manifest.status == CANCELLED:
            raise InvalidRequest(f"run {run_id} was cancelled; start a new run instead")
        self.lock.acquire(manifest.target, project, run_id)
        for candidate in manifest.steps:
            if candidate.status == FAILED:
                candidate.detail.setdefault("history", []).append({
                    "errors": candidate.errors, "jobUrl": candidate.job_url, "jobState": candidate.job_state})
                candidate.status = PENDING
                candidate.errors = []
                candidate.finished_at = None
                if candidate.job_state in ("failed", "cancelled", "partiallyCompleted"):
                    # That job ended; a new one is needed (the reconcile rule still guards a lost one).
                    retire_job(candidate)
        now = self.clock.now()
        manifest.status = RUNNING
        manifest.error = None
        manifest.finished_at = None
        manifest.fence += 1
        manifest.progress_at = now
        manifest.next_message_sent = False
        try:
            stored = self.manifests.save(stored, now)
        except ConcurrentUpdate as error:
            raise RunConflict(f"run {run_id} changed while re-driving it; try again", run_id) from error
        self._send(stored, timedelta(0))
        return stored.manifest

    def cancel_run(self, project: str, run_id: str) -> RunManifest:
        check_name("project", project)
        check_run_id(run_id)
        now = self.clock.now()
        running_jobs: list[str] = []

        def cancel(manifest: RunManifest) -> bool:
            if not manifest.active:
                return False
            manifest.status = CANCELLED
            manifest.finished_at = now
            manifest.error = {"code": "Cancelled", "message": "cancelled by an operator"}
            manifest.fence += 1
            manifest.claim_owner = manifest.claim_at = None
            running_jobs.clear()
            running_jobs.extend(s.job_url for s in manifest.steps
                                if s.kind == "train" and s.job_url and s.status == RUNNING)
            return True

        manifest = self.manifests.update(project, run_id, cancel, now)
        for job_url in running_jobs:
            try:
                # A restore run may target the primary itself, which is no entry of self.targets.
                clients = self.targets.get(manifest.target)
                (clients.authoring if clients else self.primary).cancel_training(job_url)
            except ReplicatorError as error:
                logger.warning("could not cancel training job of run %s: %s", run_id, error)
        if manifest.status == CANCELLED:
            self.lock.release(manifest.target, project, run_id)
        return manifest

    def drift_report(self, projects: Sequence[str] | None = None) -> DriftReport:
        def fingerprint(project: str, container: str) -> str:
            return container_fingerprint(self.primary_documents.get_container_client(container))

        def content_hash(project: str) -> str:
            return export_content_hash(self.primary, project)

        return check_drift(self.settings, self.primary, {n: t.authoring for n, t in self.targets.items()},
                           self.sync_records, fingerprint, content_hash, self.clock, projects=projects,
                           our_modifications=self.our_modifications)

    def health(self) -> dict[str, Any]:
        """Whether settings and state storage are usable; never a secret."""
        storage: dict[str, Any] = {"container": STATE_CONTAINER}
        try:
            self.state_storage.get_container_client(STATE_CONTAINER).exists()
            storage["usable"] = True
        except Exception as error:  # any failure means unusable; report its kind, not its details
            storage["usable"] = False
            storage["error"] = type(error).__name__
        # A target whose region cannot author is named, not judged unhealthy: the app itself still works.
        warnings = list(target_region_problems(self.settings).values())
        return {"version": VERSION, "time": utc_iso(self.clock.now()), "settings": self.settings.to_json(),
                "stateStorage": storage, "warnings": warnings, "healthy": bool(storage["usable"])}


class _Slice:
    """The running slice's view of its manifest (SliceHandle for the step machine)."""

    def __init__(self, engine: ReplicationEngine, stored: StoredManifest, owner: str) -> None:
        self.engine = engine
        self.stored = stored
        self.owner = owner

    @property
    def manifest(self) -> RunManifest:
        return self.stored.manifest

    def save(self) -> None:
        try:
            self.stored = self.engine.manifests.save(self.stored, self.engine.clock.now())
        except ConcurrentUpdate as error:
            raise ClaimLost() from error

    def checkpoint(self) -> None:
        self.manifest.progress_at = self.engine.clock.now()
        self.save()

    def record_job_url(self, step: StepRecord, url: str) -> None:
        step.job_url = url
        try:
            self.checkpoint()
        except ClaimLost:
            # Never lose a job we started: write its URL into whatever the manifest is now.
            def keep(manifest: RunManifest) -> bool:
                theirs = manifest.step(step.name)
                if theirs.job_url:
                    return False
                theirs.job_url = url
                return True

            self.engine.manifests.update(self.manifest.project, self.manifest.run_id, keep,
                                         self.engine.clock.now())
            raise

    def hook(self, point: str, step: StepRecord) -> None:
        if self.engine.crash_hook is not None:
            self.engine.crash_hook(point, step)

    def release_claim(self) -> None:
        def release(manifest: RunManifest) -> bool:
            if manifest.claim_owner != self.owner:
                return False
            manifest.claim_owner = manifest.claim_at = None
            return True

        with contextlib.suppress(ReplicatorError):
            self.engine.manifests.update(self.manifest.project, self.manifest.run_id, release,
                                         self.engine.clock.now())


__all__ = ["IN_SYNC", "WORKING", "EngineOptions", "ReplicationEngine", "RunStart", "TickReport"]

"""The durable-run executor: runs of any kind executed in slices, fenced and claimed.

A run is executed in slices: each `advance` does one bounded piece of the current step (through the
run kind's step machine), checkpoints the manifest, and hands the next slice to the scheduler with a
delay. Nothing here knows which run kinds exist (`shared.runs.kinds`) or about Azure Functions.

Fencing: the manifest holds `fence`; a step message carries the fence it was scheduled with. A slice
claims the manifest (owner + time, ETag-conditional) before working, so a duplicate delivery of the
same message backs off; every slice ends by bumping the fence, so an older message is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.clock import Clock, utc_iso
from shared.errors import ConcurrentUpdate, InvalidRequest, ReplicatorError, RunConflict
from shared.language.retry import RetryLater
from shared.runs.kinds import RunKinds
from shared.runs.lock import RunLock, stalled
from shared.runs.manifest import (
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
)
from shared.runs.scheduler.base import Scheduler
from shared.runs.scheduler.messages import StepMessage
from shared.runs.steps import StepFailed, retire_job

logger = logging.getLogger(__name__)

CrashHook = Callable[[str, StepRecord], None]


class ClaimLost(Exception):
    """Someone else (cancel, a takeover, another delivery) changed the run under this slice."""


class RunExecutor:
    def __init__(self, manifests: ManifestStore, lock: RunLock, scheduler: Scheduler, clock: Clock,
                 kinds: RunKinds, *, slice_lease: timedelta, stall_timeout: timedelta) -> None:
        self.manifests = manifests
        self.lock = lock
        self.scheduler = scheduler
        self.clock = clock
        self.kinds = kinds
        # How long a slice's claim keeps a duplicate delivery of the same message at bay.
        self.slice_lease = slice_lease
        self.stall_timeout = stall_timeout
        # Test seam: called at every step boundary; raising from it simulates a crash there.
        self.crash_hook: CrashHook | None = None
        # Told of every run that fails (the webhook notifier); their errors never reach the run.
        self.run_failed_listeners: list[Callable[[RunManifest], None]] = []
        # Told of every run that succeeded, once its lock is released (orchestrations waiting for it).
        self.run_succeeded_listeners: list[Callable[[RunManifest], object]] = []

    def launch(self, manifest: RunManifest) -> None:
        """Store a new run (of any kind) whose run lock the caller holds, and schedule its first slice."""
        self.send(self.manifests.create(manifest), timedelta(0))

    def send(self, stored: StoredManifest, delay: timedelta) -> None:
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
        self._run_slice(stored, owner)

    def run_step_now(self, project: str, run_id: str, step: str) -> RunManifest:
        """Execute one slice of `step` in the caller's request, as the queue trigger would.

        The same claim, fence and run lock as a queued delivery, so a queued message for the same slice
        and this request never both work: whoever claims first does, the other is dropped (stale fence)
        or refused. A failed run is re-driven from that step first. The slice ends like any other, by
        handing the next slice to the queue, which stays the durable driver. A slice is bounded (one
        submit or one poll; retry sleeps capped at seconds), well under the HTTP limit of 230 s.
        """
        manifest = self.get_run(project, run_id)
        record = manifest.step(step)
        if record.done:
            return manifest
        if not self.kinds.of(manifest).fits_a_request(record):
            raise InvalidRequest(f"a slice of step {step} can take longer than a request may wait; "
                                 "re-drive it through the queue (without run=now)")
        if not manifest.active:
            manifest = self.redrive_step(project, run_id, step)   # refuses a cancelled run
        current = manifest.current_step()
        if current is None or current.name != step:
            raise RunConflict(f"step {step} of run {run_id} is not the run's current step "
                              f"({current.name if current else 'finish'}); re-drive that one", run_id)
        owner = os.urandom(6).hex()
        message = StepMessage(run_id, manifest.project, manifest.target, step, manifest.fence)
        stored = self._claim(message, owner, waiting=True)
        if stored is not None:
            self._run_slice(stored, owner)
        return self.get_run(project, run_id)

    def _run_slice(self, stored: StoredManifest, owner: str) -> None:
        slice_ = Slice(self, stored, owner)
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
            delay = self.kinds.of(manifest).machine(manifest).run(slice_, step)
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

    def _claim(self, message: StepMessage, owner: str, *, waiting: bool = False) -> StoredManifest | None:
        """Claim the message's slice; None when it is stale or another delivery holds the claim.

        `waiting`: a caller is waiting (HTTP `?run=now`): a claim held by another slice is a RunConflict
        naming that slice, instead of looking again later.
        """
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
                    self.send(stored, timedelta(0))
                return None
            claimed_for = now - manifest.claim_at if manifest.claim_at else None
            if manifest.claim_owner and claimed_for is not None and claimed_for < self.slice_lease:
                if waiting:
                    since = utc_iso(manifest.claim_at) if manifest.claim_at else "?"
                    raise RunConflict(f"step {message.step} of run {message.run_id} is being executed by "
                                      f"another slice ({manifest.claim_owner}, since {since}); "
                                      "its new state is on the run", message.run_id)
                # Another delivery of this message is working; look again once its claim would lapse.
                self.scheduler.schedule(message, self.slice_lease - claimed_for)
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

    def _next(self, slice_: Slice, delay: timedelta, step: StepRecord) -> None:
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
        self.send(slice_.stored, delay)

    def _fail_step(self, slice_: Slice, step: StepRecord, code: str, message: str,
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

    def _finish(self, slice_: Slice) -> None:
        manifest = slice_.manifest
        self.kinds.of(manifest).finish(manifest)
        manifest.status = SUCCEEDED
        manifest.finished_at = self.clock.now()
        manifest.fence += 1
        manifest.claim_owner = manifest.claim_at = None
        slice_.save()
        self.lock.release(manifest.target, manifest.project, manifest.run_id)
        logger.info("run %s succeeded (%s -> %s)", manifest.run_id, manifest.project, manifest.target)
        for listener in self.run_succeeded_listeners:
            try:
                listener(manifest)
            except Exception:  # the run is done and recorded: what follows it must not undo that
                logger.exception("a run-succeeded listener failed for run %s", manifest.run_id)

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

    def resume_stalled(self) -> list[str]:
        """Re-send the current slice of every active run that has shown no progress for the stall timeout."""
        resumed = []
        now = self.clock.now()
        for project in self.manifests.projects():
            for manifest in self.manifests.recent(project, limit=5):
                if stalled(manifest, now, self.stall_timeout) and self._resend(manifest):
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
        self.send(stored, timedelta(0))
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
        self.send(stored, timedelta(0))
        return stored.manifest

    def cancel_run(self, project: str, run_id: str) -> RunManifest:
        check_name("project", project)
        check_run_id(run_id)
        now = self.clock.now()
        running_jobs: list[StepRecord] = []

        def cancel(manifest: RunManifest) -> bool:
            if not manifest.active:
                return False
            manifest.status = CANCELLED
            manifest.finished_at = now
            manifest.error = {"code": "Cancelled", "message": "cancelled by an operator"}
            manifest.fence += 1
            manifest.claim_owner = manifest.claim_at = None
            running_jobs.clear()
            running_jobs.extend(s for s in manifest.steps if s.job_url and s.status == RUNNING)
            return True

        manifest = self.manifests.update(project, run_id, cancel, now)
        for step in running_jobs:
            try:
                self.kinds.of(manifest).cancel_job(manifest, step)
            except ReplicatorError as error:
                logger.warning("could not cancel the job of step %s of run %s: %s", step.name, run_id, error)
        if manifest.status == CANCELLED:
            self.lock.release(manifest.target, project, run_id)
        return manifest


class Slice:
    """The running slice's view of its manifest (SliceHandle for the step machine)."""

    def __init__(self, executor: RunExecutor, stored: StoredManifest, owner: str) -> None:
        self.executor = executor
        self.stored = stored
        self.owner = owner

    @property
    def manifest(self) -> RunManifest:
        return self.stored.manifest

    def save(self) -> None:
        try:
            self.stored = self.executor.manifests.save(self.stored, self.executor.clock.now())
        except ConcurrentUpdate as error:
            raise ClaimLost() from error

    def checkpoint(self) -> None:
        self.manifest.progress_at = self.executor.clock.now()
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

            self.executor.manifests.update(self.manifest.project, self.manifest.run_id, keep,
                                         self.executor.clock.now())
            raise

    def hook(self, point: str, step: StepRecord) -> None:
        if self.executor.crash_hook is not None:
            self.executor.crash_hook(point, step)

    def release_claim(self) -> None:
        def release(manifest: RunManifest) -> bool:
            if manifest.claim_owner != self.owner:
                return False
            manifest.claim_owner = manifest.claim_at = None
            return True

        with contextlib.suppress(ReplicatorError):
            self.executor.manifests.update(self.manifest.project, self.manifest.run_id, release,
                                         self.executor.clock.now())


__all__ = ["ClaimLost", "CrashHook", "RunExecutor", "Slice"]

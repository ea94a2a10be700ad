"""Fail back: once the original primary answers, bring the outage's work home and return to normal.

Per promoted project, the one verdict (shared.replication.verdict.failback_change) decides from both
directions, each compared with its sync record as `classify` always does:

- unchanged: back to normal direction, with no import and no training;
- changed on the acting primary only: both sides are snapshotted (reason `pre-failback`), then a
  durable run of kind `failback` replicates the acting primary to the original one. It is the
  replication run with the direction reversed (shared.replication.run: the same planner, the same step
  machine, so the same backup-first, intent checkpoints, no duplicate training and verify); when it
  finishes, the forward sync record is rewritten from both sides and the project is returned;
- changed on the original primary only (its edits not yet replicated when the outage began, the
  recovery-point window): returned, and a forward run brings them to the acting primary (backing it up);
- changed on both: both are snapshotted and their diff is reported; nothing is written until the
  operator chooses `prefer="acting"` (forced failback run) or `prefer="original"` (forced forward run).

When every promoted project is returned, the promotion record is deleted: normal direction again.

Orchestrations fail back after the CLU projects they route to, as they replicate (ADR 0012, the same
`replication_order` and `gate` of shared.replication.dependencies, read from the acting primary): an
orchestration whose CLU project is still promoted or failing back waits, and the CLU project's
successful failback run starts it (`start_dependants`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from azure.core.exceptions import AzureError

from shared.errors import InvalidRequest, ReplicatorError
from shared.language.retry import RetryLater
from shared.outage.host import FailoverHost
from shared.outage.promote import ORIGINAL, PRE_FAILBACK, snapshot_project
from shared.recovery.catalogue import SnapshotCatalogue
from shared.replication.dependencies import DependencyState, DependencyStatus, Readiness, replication_order
from shared.replication.drift import export_content_hash
from shared.replication.orchestration import Dependencies, DependencyReader, RoutingReader, export_project
from shared.replication.plan import documents_container, fingerprint_of, observe
from shared.replication.promotion import FAILING_BACK, Promotion
from shared.replication.run import ReplicationRun, RunStart, TargetClients
from shared.replication.step_kinds import cancellable, fits_a_request
from shared.replication.steps import StepMachine
from shared.replication.verdict import (
    FailbackChange,
    deployment_records,
    failback_change,
    ignoring_target_edits,
    settle,
)
from shared.runs.kinds import RUN_KIND_KEY, kind_name
from shared.runs.manifest import SUCCEEDED, RunManifest, StepRecord, check_name

logger = logging.getLogger(__name__)

FAILBACK_KIND = "failback"
ACTING_KEY = "actingPrimary"   # the manifest context's name of the acting primary a failback run reads
PREFER = ("acting", "original")


class OriginalPrimaryDown(ReplicatorError):
    """The original primary does not answer yet: failing back must wait."""


@dataclass
class FailbackEntry:
    project: str
    change: FailbackChange | None      # None: it could not be decided (see action)
    reasons: tuple[str, ...] = ()
    action: str = ""
    run: RunStart | None = None
    backups: list[str] = field(default_factory=list)
    diff: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "change": self.change.value if self.change else None,
                "reasons": list(self.reasons),
                "action": self.action, "run": self.run.to_json() if self.run else None,
                "backups": self.backups, "diff": self.diff}


_CHANGE_TEXT = {
    FailbackChange.NONE: "unchanged on both sides",
    FailbackChange.ACTING: "changed on the acting primary",
    FailbackChange.ORIGINAL: "changed on the original primary",
    FailbackChange.BOTH: "changed on both sides",
}


@dataclass
class FailbackReport:
    acting: str
    entries: list[FailbackEntry] = field(default_factory=list)
    normal_direction: bool = False
    dry_run: bool = False

    @property
    def needs_choice(self) -> list[str]:
        return [e.project for e in self.entries if e.action == "needs-choice"]

    def to_json(self) -> dict[str, Any]:
        return {"actingPrimary": self.acting, "projects": [e.to_json() for e in self.entries],
                "needsChoice": self.needs_choice, "normalDirection": self.normal_direction,
                "dryRun": self.dry_run}

    def to_text(self) -> str:
        lines = [f"Failback from acting primary {self.acting!r}" + (" (dry run)" if self.dry_run else "")]
        for entry in self.entries:
            change = _CHANGE_TEXT[entry.change] if entry.change else "not compared"
            lines.append(f"  {entry.project}: {change} -> {entry.action}")
            lines += [f"      {reason}" for reason in entry.reasons]
            lines += [f"      backup {name}" for name in entry.backups]
            if entry.diff is not None:
                lines.append(f"      diff (original -> acting): {entry.diff.get('summary', '')}")
        if self.needs_choice:
            lines.append("Changed on both sides: choose with --prefer acting|original (the other side is "
                         "kept as a snapshot).")
        lines.append("Normal direction restored." if self.normal_direction
                     else "Still promoted until every project is returned.")
        return "\n".join(lines)


class _ReverseReplication(ReplicationRun):
    name = FAILBACK_KIND
    # Whether a project is still served by the acting primary (its failback has not finished).
    still_promoted: Callable[[str], bool] = staticmethod(lambda project: False)

    def _dependency_status(self, project: str, target: str,
                           starts: Mapping[tuple[str, str], RunStart]) -> DependencyStatus:
        """A CLU project is back on the original primary once the promotion no longer covers it: a
        reverse sync record may be missing (returned unchanged) or left from an earlier outage."""
        status = super()._dependency_status(project, target, starts)
        if (project, target) in starts or status.state not in (DependencyState.REPLICATED,
                                                                DependencyState.NOT_YET):
            return status
        if self.still_promoted(project):
            return DependencyStatus(DependencyState.NOT_YET, "it is still promoted: fail it back first")
        return DependencyStatus(DependencyState.REPLICATED)


class FailbackRun:
    """The "failback" run kind: replication from the acting primary to the original one."""

    name = FAILBACK_KIND

    def __init__(self, host: FailoverHost) -> None:
        self.host = host
        # The acting primary's orchestrations and the CLU projects they route to (a test may stand in).
        self.dependency_reader: Callable[[str], DependencyReader] = self._acting_dependencies
        # Told, in this process, of what a successful failback run started for the orchestrations routing
        # to its project (the engine shares replication's list, so a following CLI hears both kinds).
        self.dependant_start_listeners: list[Callable[[RunManifest, Sequence[RunStart]], None]] = []

    def _acting_dependencies(self, acting: str) -> DependencyReader:
        # Not cached: the routing cache describes the primary's projects, and failback is rare.
        authoring = self.host.targets[acting].authoring
        return DependencyReader(authoring.list_projects,
                                RoutingReader(lambda name: export_project(authoring, name)))

    def reverse(self, acting: str) -> ReplicationRun:
        host = self.host
        clients = host.targets[acting]
        original = TargetClients(ORIGINAL, host.primary, host.primary_runtime, host.primary_documents)
        run = _ReverseReplication(
            host.settings, primary=clients.authoring, primary_runtime=clients.runtime,
            primary_documents=clients.documents, targets={ORIGINAL: original}, manifests=host.manifests,
            lock=host.lock, executor=host.executor, snapshots=host.snapshots, trainings=host.trainings,
            sync_records=host.sync_records, clock=host.clock, step_options=host.step_options,
            dependencies=self.dependency_reader(acting))
        run.extra_context = {RUN_KIND_KEY: FAILBACK_KIND, ACTING_KEY: acting}

        def still_promoted(project: str) -> bool:
            promotion = host.promotions.get()
            return promotion is not None and promotion.covers(acting, project)

        run.still_promoted = still_promoted
        return run

    def start_dependants(self, manifest: RunManifest) -> list[FailbackEntry]:
        """After a failback run succeeded (its project returned): fail back the still-promoted
        orchestrations routing to that project, which waited for it (after its lock is released)."""
        if kind_name(manifest) != FAILBACK_KIND:
            return []
        acting = str(manifest.context[ACTING_KEY])
        promotion = self.host.promotions.get()
        if promotion is None or promotion.target != acting:
            return []
        graph = self.reverse(acting).dependencies().graph
        waiting = [name for name in graph.dependants(manifest.project) if promotion.covers(acting, name)]
        if not waiting:
            return []
        logger.info("%s failed back: failing back the orchestrations routing to it: %s", manifest.project,
                    ", ".join(waiting))
        entries = FailbackService(self.host, self).failback(projects=waiting).entries
        starts = [entry.run or _no_run(entry) for entry in entries]
        for listener in self.dependant_start_listeners:
            listener(manifest, starts)
        return entries

    def machine(self, manifest: RunManifest) -> StepMachine:
        return self.reverse(str(manifest.context[ACTING_KEY])).machine(manifest)

    def finish(self, manifest: RunManifest) -> None:
        acting = str(manifest.context[ACTING_KEY])
        self.reverse(acting).finish(manifest)
        working = manifest.step("export:working")
        content_hash = str(working.detail.get("contentHash", "")) if working.status == SUCCEEDED else None
        return_project(self.host, acting, manifest.project, content_hash=content_hash, run_id=manifest.run_id)

    def fits_a_request(self, step: StepRecord) -> bool:
        return fits_a_request(step.kind)

    def cancel_job(self, manifest: RunManifest, step: StepRecord) -> None:
        if cancellable(step.kind) and step.job_url:
            self.host.primary.cancel_training(step.job_url)


def _no_run(entry: FailbackEntry) -> RunStart:
    """An entry that started no run (returned unchanged, needs a choice, or failed), as a start says it."""
    status = "in_sync" if entry.action == "return" else entry.action
    return RunStart(entry.project, ORIGINAL, None, status, plan={"reasons": list(entry.reasons)})


def active_failback_run(host: FailoverHost, project: str) -> str | None:
    """The failback run under way for `project` (its lock held, or its latest run not finished), if any:
    its imports may already have reached the original primary, so the sides are not compared meanwhile."""
    holder = host.lock.holder(ORIGINAL, project)
    if holder is not None:
        return holder
    latest = host.manifests.recent(project, ORIGINAL, limit=1)
    return latest[0].run_id if latest and latest[0].active else None


def return_project(host: FailoverHost, acting: str, project: str, *, content_hash: str | None = None,
                   run_id: str = "") -> Promotion | None:
    """Normal direction for `project`: the forward sync record describes both sides as they are now
    (the original primary, and the acting primary as the replica), and the promotion no longer covers it.
    Only called when both sides hold the same content (a verified failback run, or nothing changed)."""
    forward = host.sync_records.get(acting, project)
    original = host.primary.get_project(project)
    replica = host.targets[acting].authoring.get_project(project)
    if forward is not None and original is not None and replica is not None:
        models = host.primary.list_models(project)
        container = documents_container(host.primary_documents, original)
        host.sync_records.put(replace(
            forward, primary_last_modified=str(original.get("lastModifiedDateTime")),
            deployments=deployment_records(host.primary.list_deployments(project), models),
            content_hash=content_hash or forward.content_hash,
            documents_fingerprint=fingerprint_of(container),
            secondary_last_modified=str(replica.get("lastModifiedDateTime")), synced_at=host.clock.now(),
            run_id=run_id or forward.run_id,
            trained_labels={str(m["label"]): str(m.get("lastTrainedDateTime")) for m in models}))
    updated = host.promotions.update(state=FAILING_BACK, returned=[project])
    if updated is not None and not _still_promoted(host, updated):
        host.promotions.clear()
        logger.info("failback finished: %s is a replica again", acting)
        return None
    return updated


def _still_promoted(host: FailoverHost, promotion: Promotion) -> list[str]:
    return [record.project for record in host.sync_records.all(promotion.target)
            if promotion.covers(promotion.target, record.project)]


class FailbackService:
    def __init__(self, host: FailoverHost, kind: FailbackRun) -> None:
        self.host = host
        self.kind = kind
        self.catalogue = SnapshotCatalogue(host.snapshots)

    def failback(self, *, projects: Sequence[str] | None = None, prefer: str | None = None,
                 dry_run: bool = False) -> FailbackReport:
        host = self.host
        if prefer is not None and prefer not in PREFER:
            raise InvalidRequest(f"prefer must be one of {', '.join(PREFER)}")
        promotion = host.promotions.get()
        if promotion is None:
            raise InvalidRequest("nothing is promoted: the primary is the primary")
        acting = promotion.target
        try:
            next(iter(host.primary.list_projects()), None)
        except (ReplicatorError, requests.RequestException) as error:
            reason = error.message if isinstance(error, ReplicatorError) else type(error).__name__
            raise OriginalPrimaryDown(f"the original primary does not answer yet ({reason}): fail back once "
                                      "it does; the acting primary keeps serving") from error
        covered = _still_promoted(host, promotion)
        names = [check_name("project", name) for name in projects or covered]
        for name in names:
            if name not in covered:
                raise InvalidRequest(f"project {name!r} is not promoted (promoted: {covered})")
        report = FailbackReport(acting, dry_run=dry_run)
        dependencies = self._dependencies(acting)
        for project in replication_order(names, dependencies.graph if dependencies else Dependencies().graph):
            try:
                entry = self._project(acting, project, prefer=prefer, dry_run=dry_run,
                                      dependencies=dependencies)
            except (ReplicatorError, requests.RequestException, AzureError) as error:
                # One project's trouble must not hold back the others: reported, still promoted.
                reason = error.message if isinstance(error, ReplicatorError) else type(error).__name__
                entry = FailbackEntry(project, None, (reason,), action="error: still promoted")
            report.entries.append(entry)
        report.normal_direction = not dry_run and host.promotions.get() is None
        return report

    def decide(self, acting: str, project: str) -> tuple[FailbackChange, tuple[str, ...]]:
        """Which side changed: each direction observed and settled as the daily check does, each with the
        other side's edits masked, and the one verdict decides."""
        host = self.host
        clients = host.targets[acting]
        forward_record = host.sync_records.get(acting, project)
        reverse_record = host.sync_records.get(ORIGINAL, project)
        replica = clients.authoring.get_project(project)
        if replica is None:
            raise InvalidRequest(f"the acting primary has no project {project!r}")
        original = host.primary.get_project(project)
        if original is None:
            return FailbackChange.ACTING, ("original primary: the project is missing",)
        forward = observe(project, acting, host.primary, clients.authoring,
                          documents_container(host.primary_documents, original), forward_record)
        reverse = observe(project, ORIGINAL, clients.authoring, host.primary,
                          documents_container(clients.documents, replica, clients.container_for),
                          reverse_record)
        forward_settled = settle(ignoring_target_edits(forward.observation()),
                                 lambda name: export_content_hash(host.primary, name))
        reverse_settled = settle(ignoring_target_edits(reverse.observation()),
                                 lambda name: export_content_hash(clients.authoring, name))
        return failback_change(forward_settled, reverse_settled)

    def _dependencies(self, acting: str) -> Dependencies | None:
        """Read once per failback; None when they cannot be read (each reverse start then says why)."""
        try:
            return self.kind.reverse(acting).dependencies()
        except ReplicatorError as error:
            logger.warning("orchestration dependencies on the acting primary not read: %s", error.message)
            return None

    def _project(self, acting: str, project: str, *, prefer: str | None, dry_run: bool,
                 dependencies: Dependencies | None = None) -> FailbackEntry:
        host = self.host
        under_way = active_failback_run(host, project)
        if under_way is not None:
            # Half applied: comparing now would see both sides changed. Follow the run instead.
            # (A failback run is started only for a change on the acting side: ACTING is what it found.)
            return FailbackEntry(project, FailbackChange.ACTING, (f"failback run {under_way} is under way",),
                                 action=f"under way: run {under_way}",
                                 run=RunStart(project, ORIGINAL, None, "already_active", under_way))
        change, reasons = self.decide(acting, project)
        entry = FailbackEntry(project, change, reasons)
        if change in (FailbackChange.NONE, FailbackChange.ORIGINAL):
            entry.action = ("return" if change is FailbackChange.NONE
                            else "return, then replicate the original")
            if dry_run:
                return entry
            if change is FailbackChange.NONE:
                return_project(host, acting, project)
                return entry
            # The acting primary's content is what we replicated (a save without changes at most).
            self._acknowledge_replica(acting, project)
            host.promotions.update(state=FAILING_BACK, returned=[project])
            entry.run = self._forward(acting, project, force=False)
            self._clear_when_done(acting)
            return entry
        if change is FailbackChange.BOTH and prefer is None:
            entry.action = "needs-choice"
        elif change is FailbackChange.BOTH and prefer == "original":
            entry.action = "replicate the original to the acting primary (forced; it is backed up first)"
        else:
            entry.action = "replicate the acting primary to the original (it is backed up first)"
        if dry_run:
            return entry
        entry.backups = [snapshot_project(host.primary, host.snapshots, project, PRE_FAILBACK).name,
                         snapshot_project(host.targets[acting].authoring, host.snapshots, project,
                                          PRE_FAILBACK).name]
        if change is FailbackChange.BOTH:
            entry.diff = self.catalogue.diff(entry.backups[0], entry.backups[1]).to_json()
        if entry.action == "needs-choice":
            return entry
        if change is FailbackChange.BOTH and prefer == "original":
            host.promotions.update(state=FAILING_BACK, returned=[project])
            entry.run = self._forward(acting, project, force=True)
            self._clear_when_done(acting)
            return entry
        host.promotions.update(state=FAILING_BACK)
        [entry.run] = self.kind.reverse(acting).start_runs(
            [project], force=change is FailbackChange.BOTH, trigger="failback", targets={ORIGINAL},
            dependencies=dependencies)
        if entry.run.status == "in_sync":
            return_project(host, acting, project)
        elif entry.run.status in (Readiness.WAITING, Readiness.BLOCKED):
            # An orchestration whose CLU project is not back yet: that project's failback run starts it.
            entry.action = f"{entry.run.status}: still promoted"
            entry.reasons += tuple((entry.run.plan or {}).get("reasons", ()))
        return entry

    def _acknowledge_replica(self, acting: str, project: str) -> None:
        forward = self.host.sync_records.get(acting, project)
        replica = self.host.targets[acting].authoring.get_project(project)
        if forward is not None and replica is not None:
            self.host.sync_records.put(replace(forward, secondary_last_modified=str(
                replica.get("lastModifiedDateTime")), synced_at=self.host.clock.now()))

    def _forward(self, acting: str, project: str, *, force: bool) -> RunStart:
        try:
            [start] = self.host.replication.start_runs([project], force=force, trigger="failback",
                                                       targets={acting})
        except RetryLater as later:
            return RunStart(project, acting, None, "error", None, {"error": later.message}, later.delay)
        return start

    def _clear_when_done(self, acting: str) -> None:
        promotion = self.host.promotions.get()
        if promotion is not None and promotion.target == acting and not _still_promoted(self.host, promotion):
            self.host.promotions.clear()


__all__ = ["ACTING_KEY", "FAILBACK_KIND", "PREFER", "FailbackEntry", "FailbackReport", "FailbackRun",
           "FailbackService", "OriginalPrimaryDown", "active_failback_run", "return_project"]

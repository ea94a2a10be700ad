"""Promote: declare a target the acting primary during an outage of the primary.

Promoting records the decision (who, when, why) in the routing container, cancels our runs still
writing to that target, and records, per project, what the acting primary holds at that moment: the
baseline failback compares against to find the edits made during the outage. From then on:

- the promoted target is classified `promoted` (shared.replication.verdict) by the daily check, drift,
  the planner and every start, and nothing is written to it until failback;
- the other targets are untouched by the promotion: they stay replicas of the original primary, and
  are replicated from it as usual whenever it answers (never from the acting primary);
- the acting primary's projects are snapshotted (reason `acting-primary`) at promotion and whenever
  their lastModifiedDateTime has moved since (the daily timer checks), so work done during the outage
  is backed up like the primary's;
- failover clients configured with `from_settings()` prefer the acting primary (they read the record).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConcurrentUpdate, InvalidRequest, UnknownProject
from shared.language.authoring import AuthoringClient
from shared.outage.host import FailoverHost
from shared.redaction import redact
from shared.replication.plan import documents_container, fingerprint_of
from shared.replication.promotion import Promotion
from shared.replication.run import TargetClients
from shared.replication.sync_record import SyncRecord
from shared.replication.verdict import deployment_records
from shared.runs.manifest import check_name
from shared.storage.snapshots import SnapshotInfo, SnapshotStore

logger = logging.getLogger(__name__)

ORIGINAL = "primary"                 # the original primary: the target of the reverse direction
ACTING_SNAPSHOT = "acting-primary"   # snapshots of the acting primary's projects during a promotion
PRE_FAILBACK = "pre-failback"        # snapshots of both sides taken before failback writes anything


@dataclass
class PromoteReport:
    promotion: Promotion
    projects: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    cancelled_runs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"promotion": self.promotion.to_json(), "projects": self.projects, "skipped": self.skipped,
                "snapshots": self.snapshots, "cancelledRuns": self.cancelled_runs}

    def to_text(self) -> str:
        p = self.promotion
        lines = [f"Promoted target {p.target!r} to acting primary at {p.to_json()['promotedAt']} "
                 f"by {p.promoted_by}: {p.reason}"]
        lines += [f"  {project}: nothing will be written to it until failback" for project in self.projects]
        lines += [f"  {project}: not covered ({why})" for project, why in sorted(self.skipped.items())]
        lines += [f"  cancelled run {run}" for run in self.cancelled_runs]
        lines += [f"  snapshot {name}" for name in self.snapshots]
        return "\n".join(lines)


def snapshot_project(client: AuthoringClient, snapshots: SnapshotStore, project: str, reason: str, *,
                     poll_interval: float = 2.0, timeout: float = 300.0) -> SnapshotInfo:
    """Export `project` now and keep it as a snapshot (blocking: an export takes seconds; not billed)."""
    metadata = client.get_project(project)
    last_modified = str(metadata.get("lastModifiedDateTime")) if metadata else None
    status = client.wait(client.start_export(project), poll_interval=poll_interval, deadline=timeout)
    status.raise_for_failure()
    if not status.result_url:
        raise InvalidRequest(f"the export of {project!r} succeeded but named no result")
    with client.open_export_result(status.result_url) as stream:
        return snapshots.save_stream(project, stream, source_endpoint=client.endpoint, reason=reason,
                                     last_modified=last_modified)


class PromoteService:
    def __init__(self, host: FailoverHost) -> None:
        self.host = host

    def acting_target(self, target: str | None) -> str:
        """The named target, or the only one configured."""
        names = list(self.host.targets)
        if target is None:
            if len(names) != 1:
                raise InvalidRequest(f"name the target to promote: one of {names}")
            return names[0]
        if target not in self.host.targets:
            raise InvalidRequest(f"unknown target {target!r}; configured: {names}")
        return target

    def promote(self, *, target: str | None = None, projects: Sequence[str] | None = None, by: str,
                reason: str) -> PromoteReport:
        host = self.host
        acting = self.acting_target(target)
        if not reason.strip():
            raise InvalidRequest("say why the target is promoted (the reason is recorded)")
        names = [check_name("project", name) for name in projects or ()]
        for name in names:
            if not host.settings.is_replicated(name):
                raise UnknownProject(name)
        existing = host.promotions.get()
        if existing is not None:
            raise InvalidRequest(f"target {existing.target!r} is already the acting primary (promoted by "
                                 f"{existing.promoted_by}): fail back before promoting again")
        # The primary is usually down: the projects are those we replicated to the target.
        replicated = sorted(record.project for record in host.sync_records.all(acting))
        clients = host.targets[acting]
        covered: list[str] = []
        skipped: dict[str, str] = {}
        for project in names or replicated:
            why = self._record_baseline(acting, clients, project)
            if why:
                skipped[project] = why
            else:
                covered.append(project)
        # Callers read the record: the operator's words go through the same redaction as any message.
        promotion = Promotion(target=acting, endpoint=host.settings.target(acting).language.endpoint,
                              projects=tuple(names) or None, promoted_at=host.clock.now(),
                              promoted_by=redact(by.strip()[:80]) or "unknown",
                              reason=redact(reason.strip()[:500]),
                              returned=tuple(skipped))  # never replicated there: nothing to fail back
        report = PromoteReport(promotion, covered, skipped)
        try:
            host.promotions.create(promotion)
        except ConcurrentUpdate:
            raise InvalidRequest("another promotion was recorded at the same moment") from None
        for project in report.projects:
            for run in host.executor.active_runs(project):
                if run.target == acting:
                    host.executor.cancel_run(project, run.run_id)
                    report.cancelled_runs.append(run.run_id)
        report.snapshots = [info.name for info in self.snapshot_acting()]
        logger.info("target %s promoted to acting primary by %s", acting, promotion.promoted_by)
        return report

    def _record_baseline(self, acting: str, clients: TargetClients, project: str) -> str | None:
        """What the acting primary holds now, as the reverse direction's sync record (target `primary`):
        failback classifies the acting primary's later edits against it, with the same `classify`."""
        host = self.host
        forward = host.sync_records.get(acting, project)
        if forward is None:
            return "never replicated to this target"
        metadata = clients.authoring.get_project(project)
        if metadata is None:
            return "the target has no such project"
        models = clients.authoring.list_models(project)
        deployments = clients.authoring.list_deployments(project)
        container = documents_container(clients.documents, metadata, clients.container_for)
        host.sync_records.put(SyncRecord(
            target=ORIGINAL, project=project, project_kind=forward.project_kind,
            # Our own import's timestamp: an edit made on the target before the promotion counts too.
            primary_last_modified=(forward.secondary_last_modified
                                   or str(metadata.get("lastModifiedDateTime"))),
            deployments=deployment_records(deployments, models), content_hash=forward.content_hash,
            documents_fingerprint=fingerprint_of(container),
            secondary_last_modified=forward.primary_last_modified, snapshots=(), synced_at=host.clock.now(),
            label_hashes=dict(forward.label_hashes),
            trained_labels={str(m["label"]): str(m.get("lastTrainedDateTime")) for m in models}))
        return None

    def snapshot_acting(self) -> list[SnapshotInfo]:
        """Snapshot each promoted project whose lastModifiedDateTime moved since its last such snapshot."""
        host = self.host
        promotion = host.promotions.get()
        if promotion is None:
            return []
        clients = host.targets.get(promotion.target)
        if clients is None:
            return []
        taken = []
        for record in host.sync_records.all(promotion.target):
            project = record.project
            if not promotion.covers(promotion.target, project):
                continue
            metadata = clients.authoring.get_project(project)
            if metadata is None:
                continue
            latest = host.snapshots.latest(project, reason=ACTING_SNAPSHOT)
            if (latest is not None and latest.created >= promotion.promoted_at.replace(microsecond=0)
                    and latest.last_modified == str(metadata.get("lastModifiedDateTime"))):
                continue
            taken.append(snapshot_project(clients.authoring, host.snapshots, project, ACTING_SNAPSHOT))
        return taken


__all__ = ["ACTING_SNAPSHOT", "ORIGINAL", "PRE_FAILBACK", "PromoteReport", "PromoteService",
           "snapshot_project"]

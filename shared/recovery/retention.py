"""Snapshot retention: keep the newest N and/or the last N days per project, delete the rest.

A snapshot survives when any rule keeps it: within SNAPSHOT_RETENTION_COUNT newest, younger than
SNAPSHOT_RETENTION_DAYS, a live deployment was trained from it (the label snapshots our last sync of
each target recorded, and snapshots a successful restore trained), or it is the latest good one (the
newest export of the primary that still verifies). With neither setting, nothing is deleted. Deletion
goes through these rules only; blob soft delete and versioning (infra) keep a mistake recoverable.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from shared.errors import ReplicatorError
from shared.replication.sync_record import SyncRecord
from shared.runs.manifest import SUCCEEDED, ManifestStore
from shared.storage.snapshots import SnapshotInfo, SnapshotStore

logger = logging.getLogger(__name__)

BACKUP_REASON_PREFIX = "backup"


@dataclass(frozen=True)
class RetentionPolicy:
    keep_count: int | None = None
    keep_days: int | None = None

    @property
    def enabled(self) -> bool:
        return self.keep_count is not None or self.keep_days is not None

    def describe(self) -> str:
        rules = []
        if self.keep_count is not None:
            rules.append(f"the newest {self.keep_count}")
        if self.keep_days is not None:
            rules.append(f"the last {self.keep_days} day(s)")
        return " and ".join(rules) if rules else "every snapshot (no retention setting)"


@dataclass
class RetentionReport:
    policy: str
    dry_run: bool = False
    removed: list[dict[str, Any]] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)             # project -> snapshots kept
    protected: list[dict[str, str]] = field(default_factory=list)  # kept only because of a protection
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "dryRun": self.dry_run, "removed": self.removed, "kept": self.kept,
                "protected": self.protected, "errors": self.errors}

    def to_text(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"retention keeps {self.policy}: {verb} {len(self.removed)} snapshot(s)"]
        lines += [f"  - {item['name']} ({item['why']})" for item in self.removed]
        lines += [f"  = {item['name']} kept: {item['why']}" for item in self.protected]
        lines += [f"  ! {item['project']}: {item['message']}" for item in self.errors]
        return "\n".join(lines)


class RetentionSweep:
    def __init__(self, container: ContainerClient, store: SnapshotStore, manifests: ManifestStore,
                 sync_records: Iterable[SyncRecord]) -> None:
        self.container = container
        self.store = store
        self.manifests = manifests
        self.sync_records = list(sync_records)

    def projects(self) -> list[str]:
        try:
            return sorted(str(item.name).rstrip("/") for item in self.container.walk_blobs(delimiter="/")
                          if str(item.name).endswith("/"))
        except ResourceNotFoundError:
            return []

    def run(self, policy: RetentionPolicy, now: datetime, *, dry_run: bool = False) -> RetentionReport:
        report = RetentionReport(policy.describe(), dry_run)
        if not policy.enabled:
            return report
        for project in self.projects():
            try:
                self._sweep(project, policy, now, dry_run, report)
            except ReplicatorError as error:
                report.errors.append({"project": project, "message": error.message})
        if report.removed:
            logger.info("retention %s %d snapshot(s)", "would remove" if dry_run else "removed",
                        len(report.removed))
        return report

    def _sweep(self, project: str, policy: RetentionPolicy, now: datetime, dry_run: bool,
               report: RetentionReport) -> None:
        snapshots = self.store.list(project)   # newest first
        protections = self.protections(project, snapshots)
        kept = 0
        for index, info in enumerate(snapshots):
            by_count = policy.keep_count is not None and index < policy.keep_count
            by_age = policy.keep_days is not None and now - info.created < timedelta(days=policy.keep_days)
            if by_count or by_age:
                kept += 1
                continue
            if info.name in protections:
                kept += 1
                report.protected.append({"name": info.name, "why": protections[info.name]})
                continue
            why = _why_removed(policy, info, now)
            if not dry_run:
                with contextlib.suppress(ResourceNotFoundError):   # another sweep got there first
                    self.container.delete_blob(info.name)
            report.removed.append({"name": info.name, "project": project, "created": info.created.isoformat(),
                                   "size": info.size, "why": why})
        report.kept[project] = kept

    def protections(self, project: str, snapshots: list[SnapshotInfo]) -> dict[str, str]:
        """Snapshot name -> why it must stay whatever the rules say."""
        protected: dict[str, str] = {}
        for record in self.sync_records:
            if record.project != project:
                continue
            served = {deployment.label for deployment in record.deployments.values()}
            for label in sorted(served):
                wanted = record.label_hashes.get(label)
                match = next((s for s in snapshots
                              if s.reason == f"model:{label}" and s.content_hash == wanted), None)
                if match is not None:
                    protected.setdefault(match.name, f"deployment(s) on {record.target} serve model {label} "
                                                     "trained from it")
        for run in self.manifests.recent(project, limit=20):
            result = run.context.get("result") or {}
            if run.context.get("runKind") == "restore" and run.status == SUCCEEDED and result.get("trained"):
                protected.setdefault(str(result["restored"]),
                                     f"run {run.run_id} restored and trained {run.target} from it")
        for info in snapshots:
            if info.reason.startswith(BACKUP_REASON_PREFIX):
                continue
            try:
                self.store.validate(info.name)
            except ReplicatorError:
                continue   # a damaged one is not "good"; look further back
            protected.setdefault(info.name, "the latest good snapshot of the project")
            break
        return protected


def _why_removed(policy: RetentionPolicy, info: SnapshotInfo, now: datetime) -> str:
    reasons = []
    if policy.keep_count is not None:
        reasons.append(f"beyond the newest {policy.keep_count}")
    if policy.keep_days is not None:
        reasons.append(f"{(now - info.created).days} day(s) old")
    return ", ".join(reasons)

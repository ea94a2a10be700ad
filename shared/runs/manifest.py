"""The run manifest: the durable record of one replication run, and its store.

A run is a list of steps; each step records its intent before any POST and the job URL after the 202,
so a crashed slice can be reconciled instead of repeated. The manifest also carries the fence: the
token the next step message must carry, so stale and duplicate deliveries are dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import parse_iso, utc_iso
from shared.errors import ConcurrentUpdate, InvalidRequest, UnknownRun
from shared.names import check_name as check_name  # its home; re-exported for run code
from shared.redaction import redact_all
from shared.storage.json_blobs import JsonBlobs

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
SKIPPED = "skipped"

RUN_ACTIVE = frozenset({PENDING, RUNNING})
RUN_TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
STEP_DONE = frozenset({SUCCEEDED, SKIPPED})

_RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")


def new_run_id(now: datetime) -> str:
    """Sortable by start time, unique across instances."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(4).hex()


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise InvalidRequest(f"{run_id!r} is not a run id")
    return run_id


def _time(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) and value else None


def _stamp(value: datetime | None) -> str | None:
    return utc_iso(value) if value is not None else None


@dataclass
class StepRecord:
    name: str                      # unique in the run, e.g. "train:model1"
    kind: str                      # backup | export | documents | import | train | deploy | verify
    label: str | None = None       # model label ("" for the working copy) or deployment name
    status: str = PENDING
    attempts: int = 0              # POSTs this step has submitted (a billed job is at most one)
    polls: int = 0
    intent_at: datetime | None = None
    job_url: str | None = None
    job_state: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in STEP_DONE

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("intent_at", "started_at", "finished_at"):
            data[key] = _stamp(getattr(self, key))
        # Errors and warnings quote the service and the SDK, which can quote a key or a SAS: a manifest
        # is stored, answered over HTTP and printed, so what it says is redacted once, here.
        data["errors"], data["warnings"] = redact_all(self.errors), redact_all(self.warnings)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRecord:
        values = dict(data)
        for key in ("intent_at", "started_at", "finished_at"):
            values[key] = _time(values.get(key))
        values["errors"] = redact_all(list(values.get("errors", [])))
        values["warnings"] = redact_all(list(values.get("warnings", [])))
        return cls(**values)


@dataclass
class RunManifest:
    run_id: str
    project: str
    target: str
    trigger: str
    force: bool
    created_at: datetime
    updated_at: datetime
    status: str = PENDING
    steps: list[StepRecord] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)      # why the run started (drift signals)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    finished_at: datetime | None = None
    # Fencing: the step message for the next slice must carry this value.
    fence: int = 0
    # A slice in progress: who, since when. Another delivery of the same fence backs off while it is fresh.
    claim_owner: str | None = None
    claim_at: datetime | None = None
    # False between bumping the fence and handing the message for it to the scheduler.
    next_message_sent: bool = True
    next_due_at: datetime | None = None
    progress_at: datetime | None = None                     # last time any step moved: stall detection
    context: dict[str, Any] = field(default_factory=dict)   # facts learned while planning and running

    @property
    def active(self) -> bool:
        return self.status in RUN_ACTIVE

    def step(self, name: str) -> StepRecord:
        for step in self.steps:
            if step.name == name:
                return step
        raise InvalidRequest(f"run {self.run_id} has no step {name!r}; steps: "
                             + ", ".join(s.name for s in self.steps))

    def current_step(self) -> StepRecord | None:
        return next((step for step in self.steps if not step.done), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id, "project": self.project, "target": self.target, "trigger": self.trigger,
            "force": self.force, "status": self.status, "createdAt": _stamp(self.created_at),
            "updatedAt": _stamp(self.updated_at), "finishedAt": _stamp(self.finished_at),
            # Redacted like each step's errors (a manifest written before this rule is redacted on reading).
            "reasons": redact_all(self.reasons), "warnings": redact_all(self.warnings),
            "error": redact_all(self.error), "steps": [step.to_json() for step in self.steps],
            "fence": self.fence,
            "claimOwner": self.claim_owner, "claimAt": _stamp(self.claim_at),
            "nextMessageSent": self.next_message_sent, "nextDueAt": _stamp(self.next_due_at),
            "progressAt": _stamp(self.progress_at), "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunManifest:
        created = _time(data.get("createdAt"))
        updated = _time(data.get("updatedAt"))
        if created is None or updated is None:
            raise ValueError("manifest lacks createdAt/updatedAt")
        return cls(
            run_id=data["runId"], project=data["project"], target=data["target"], trigger=data["trigger"],
            force=bool(data["force"]), created_at=created, updated_at=updated, status=data["status"],
            steps=[StepRecord.from_json(step) for step in data.get("steps", [])],
            reasons=redact_all(list(data.get("reasons", []))),
            warnings=redact_all(list(data.get("warnings", []))),
            error=redact_all(data.get("error")), finished_at=_time(data.get("finishedAt")),
            fence=int(data.get("fence", 0)),
            claim_owner=data.get("claimOwner"), claim_at=_time(data.get("claimAt")),
            next_message_sent=bool(data.get("nextMessageSent", True)),
            next_due_at=_time(data.get("nextDueAt")),
            progress_at=_time(data.get("progressAt")), context=dict(data.get("context", {})),
        )


@dataclass
class StoredManifest:
    manifest: RunManifest
    etag: str


class ManifestStore:
    """One blob per run: runs/{project}/{run_id}.json. Every write is ETag-conditional."""

    def __init__(self, blobs: JsonBlobs) -> None:
        self.blobs = blobs

    @staticmethod
    def blob_name(project: str, run_id: str) -> str:
        return f"runs/{project}/{run_id}.json"

    def create(self, manifest: RunManifest) -> StoredManifest:
        etag = self.blobs.create(self.blob_name(manifest.project, manifest.run_id), manifest.to_json())
        return StoredManifest(manifest, etag)

    def load(self, project: str, run_id: str) -> StoredManifest:
        check_run_id(run_id)
        found = self.blobs.read(self.blob_name(project, run_id))
        if found is None:
            raise UnknownRun(project, run_id)
        return StoredManifest(RunManifest.from_json(found.data), found.etag)

    def save(self, stored: StoredManifest, now: datetime) -> StoredManifest:
        """Write back what we read and changed; ConcurrentUpdate if it changed meanwhile."""
        stored.manifest.updated_at = now
        etag = self.blobs.replace(self.blob_name(stored.manifest.project, stored.manifest.run_id),
                                  stored.manifest.to_json(), stored.etag)
        return StoredManifest(stored.manifest, etag)

    def update(self, project: str, run_id: str, change: Callable[[RunManifest], bool], now: datetime,
               attempts: int = 8) -> RunManifest:
        """Read, apply `change` (returns False to leave it as is), write; re-read on a lost race."""
        for _ in range(attempts):
            stored = self.load(project, run_id)
            if not change(stored.manifest):
                return stored.manifest
            try:
                return self.save(stored, now).manifest
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"run {run_id} kept changing; gave up after {attempts} attempts")

    def recent(self, project: str, target: str | None = None, limit: int = 20) -> list[RunManifest]:
        names = sorted(self.blobs.names(f"runs/{project}/"), reverse=True)  # run ids sort by start time
        runs: list[RunManifest] = []
        for name in names:
            found = self.blobs.read(name)
            if found is None:
                continue
            manifest = RunManifest.from_json(found.data)
            if target is None or manifest.target == target:
                runs.append(manifest)
            if len(runs) >= limit:
                break
        return runs

    def projects(self) -> list[str]:
        return sorted({name.split("/")[1] for name in self.blobs.names("runs/")})

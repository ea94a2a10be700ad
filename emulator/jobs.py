"""Authoring jobs (long-running operations) whose progress is a function of time.

A job is created with a duration; its status at any moment follows from `created` and
the clock: notStarted for the first slice, running until the end, then the outcome that
`LanguageResource.settle` recorded when it applied the job's effect. Nothing runs in the
background, so jobs in flight survive a restart and finish by the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emulator.timefmt import format_datetime, parse_datetime

NOT_STARTED = "notStarted"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
CANCELLING = "cancelling"
FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})

JOB_RETENTION = timedelta(days=7)
# The share of a job's duration spent queued before it starts running.
QUEUED_SHARE = 0.05
# Of a training job, the share spent training; the rest is evaluation.
TRAINING_SHARE = 0.8


@dataclass
class Job:
    job_id: str
    kind: str  # import, export, train, deploy, delete-deployment, swap, delete-project, ...
    project: str
    created: datetime
    duration: timedelta
    api_version: str
    params: dict[str, Any] = field(default_factory=dict)
    injected_error: dict[str, Any] | None = None  # from fault injection: the job fails with this error
    cancel_requested: datetime | None = None
    cancel_duration: timedelta = timedelta(0)
    outcome: str | None = None  # set once settled: succeeded | failed | cancelled
    settled_at: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> datetime:
        return self.created + self.duration * QUEUED_SHARE

    @property
    def ends(self) -> datetime:
        return self.created + self.duration

    @property
    def expires(self) -> datetime:
        return self.created + JOB_RETENTION

    def cancel_effective(self) -> datetime | None:
        if self.cancel_requested is None:
            return None
        return self.cancel_requested + self.cancel_duration

    def due(self, now: datetime) -> datetime | None:
        """When this job must be settled, if it is not settled yet and that moment has come."""
        if self.outcome is not None:
            return None
        cancel_at = self.cancel_effective()
        moment = min(cancel_at, self.ends) if cancel_at is not None else self.ends
        return moment if moment <= now else None

    def status(self, now: datetime) -> str:
        if self.outcome is not None:
            return self.outcome
        if self.cancel_requested is not None:
            return CANCELLING
        if now < self.started:
            return NOT_STARTED
        return RUNNING

    def last_updated(self, now: datetime) -> datetime:
        if self.settled_at is not None:
            return self.settled_at
        if self.cancel_requested is not None:
            return self.cancel_requested
        return self.started if now >= self.started else self.created

    def progress(self, now: datetime) -> float:
        """Fraction of the running phase done, 0..1."""
        span = (self.ends - self.started).total_seconds()
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (now - self.started).total_seconds() / span))

    def state_body(self, now: datetime) -> dict[str, Any]:
        """The common `JobState` body."""
        return {
            "jobId": self.job_id,
            "createdDateTime": format_datetime(self.created),
            "lastUpdatedDateTime": format_datetime(self.last_updated(now)),
            "expirationDateTime": format_datetime(self.expires),
            "status": self.status(now),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "kind": self.kind,
            "project": self.project,
            "created": format_datetime(self.created),
            "durationSeconds": self.duration.total_seconds(),
            "apiVersion": self.api_version,
            "params": self.params,
            "injectedError": self.injected_error,
            "cancelRequested": format_datetime(self.cancel_requested) if self.cancel_requested else None,
            "cancelDurationSeconds": self.cancel_duration.total_seconds(),
            "outcome": self.outcome,
            "settledAt": format_datetime(self.settled_at) if self.settled_at else None,
            "errors": self.errors,
            "warnings": self.warnings,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            job_id=data["jobId"],
            kind=data["kind"],
            project=data["project"],
            created=parse_datetime(data["created"]),
            duration=timedelta(seconds=data["durationSeconds"]),
            api_version=data["apiVersion"],
            params=data.get("params") or {},
            injected_error=data.get("injectedError"),
            cancel_requested=parse_datetime(data["cancelRequested"]) if data.get("cancelRequested") else None,
            cancel_duration=timedelta(seconds=data.get("cancelDurationSeconds", 0.0)),
            outcome=data.get("outcome"),
            settled_at=parse_datetime(data["settledAt"]) if data.get("settledAt") else None,
            errors=data.get("errors") or [],
            warnings=data.get("warnings") or [],
            result=data.get("result") or {},
        )

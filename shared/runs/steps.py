"""What every step of every run kind shares: the slice it runs in, how it fails, its job bookkeeping.

A run kind's step machine (`StepRunner`) executes one bounded slice of a step and says when to come
back; the executor (`shared.runs.executor`) claims, fences and checkpoints around it. Nothing here
knows which kinds of steps or runs exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from shared.errors import ReplicatorError
from shared.runs.manifest import RunManifest, StepRecord


class StepFailed(ReplicatorError):
    """The step cannot succeed as things are; the run fails with this reason."""

    code = "StepFailed"

    def __init__(self, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or []


class SliceHandle(Protocol):
    """What a step may ask of the slice running it."""

    @property
    def manifest(self) -> RunManifest: ...

    def checkpoint(self) -> None:
        """Persist the manifest now (ETag-conditional)."""
        ...

    def record_job_url(self, step: StepRecord, url: str) -> None:
        """Persist a job URL even if the manifest changed meanwhile: a job we started is never lost."""
        ...

    def hook(self, point: str, step: StepRecord) -> None:
        """Test seam: a crash injected at a step boundary."""
        ...


class StepRunner(Protocol):
    """A run kind's step machine: one bounded slice of `step`; the delay before the next, or None."""

    def run(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None: ...


def retire_job(step: StepRecord) -> None:
    """Forget a step's ended job so the step can submit a new one; reconciling never adopts it again."""
    if step.job_url:
        job_id = step.job_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        known = set(step.detail.get("jobsBefore", []))
        step.detail["jobsBefore"] = sorted(known | {job_id})
    step.intent_at = None
    step.job_url = None
    step.job_state = None


__all__ = ["SliceHandle", "StepFailed", "StepRunner", "retire_job"]

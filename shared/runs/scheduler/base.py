"""The scheduler port: hand the next slice of a run to whoever executes slices, after a delay."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from shared.runs.scheduler.messages import StepMessage


class Scheduler(Protocol):
    def schedule(self, message: StepMessage, delay: timedelta) -> None:
        """Deliver `message` once `delay` has passed (at least once; duplicates are possible)."""
        ...

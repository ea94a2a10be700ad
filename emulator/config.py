"""Settings of one emulated Language resource (one process = one resource in one region)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

# Realistic durations of each kind of job on the real service, in seconds, before --time-scale.
# Training is by far the longest; the rest take seconds to a minute.
DEFAULT_JOB_SECONDS: dict[str, float] = {
    "import": 10.0,
    "export": 6.0,
    "train": 600.0,
    "deploy": 60.0,
    "delete-deployment": 30.0,
    "swap": 40.0,
    "delete-project": 10.0,
    "load-snapshot": 10.0,
    "cancel": 5.0,
    "runtime": 5.0,
}

DEFAULT_POST_PER_MINUTE = 10
DEFAULT_GET_PER_MINUTE = 100
DEFAULT_RUNTIME_PER_MINUTE = 1000


@dataclass
class EmulatorConfig:
    key: str
    storage_connection_string: str
    secondary_key: str | None = None
    region: str = "eastus"
    time_scale: float = 1.0
    state_dir: Path | None = None
    job_seconds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_JOB_SECONDS))
    post_per_minute: int = DEFAULT_POST_PER_MINUTE
    get_per_minute: int = DEFAULT_GET_PER_MINUTE
    runtime_per_minute: int = DEFAULT_RUNTIME_PER_MINUTE
    token_secret: str | None = None
    # The switches this resource starts with (and returns to on /_emulator/reset); the list is in
    # docs/reference/emulator-fidelity.md.
    behaviour: dict[str, Any] = field(default_factory=dict)
    # Seeds the draw of each training's percentage split (None: a new draw from the OS each time),
    # so tests can reproduce the service's "a new random split per training".
    split_seed: int | None = None

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in (self.key, self.secondary_key) if k)

    def job_duration(self, kind: str) -> timedelta:
        """How long a job of this kind takes here: the realistic duration times --time-scale."""
        return timedelta(seconds=self.job_seconds.get(kind, 10.0) * self.time_scale)

    def throttle_window(self) -> timedelta:
        return timedelta(seconds=60.0 * self.time_scale)

"""The step message: a reference to one slice of one run, never the run's data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from shared.errors import InvalidRequest

QUEUE_NAME = "replication-steps"
# The host moves a message that failed maxDequeueCount times to "<queue>-poison".
POISON_QUEUE_NAME = f"{QUEUE_NAME}-poison"


@dataclass(frozen=True)
class StepMessage:
    run_id: str
    project: str
    target: str
    step: str
    # The manifest's fence when this message was scheduled; a message whose fence is behind is stale.
    fence: int

    def to_text(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_text(cls, text: str | bytes) -> StepMessage:
        try:
            raw: Any = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidRequest(f"step message is not JSON: {error}") from error
        if not isinstance(raw, dict):
            raise InvalidRequest("step message must be a JSON object")
        try:
            fence = raw["fence"]
            strings = {name: raw[name] for name in ("run_id", "project", "target", "step")}
        except KeyError as error:
            raise InvalidRequest(f"step message lacks {error.args[0]!r}") from error
        if not isinstance(fence, int) or isinstance(fence, bool) or fence < 0:
            raise InvalidRequest("step message fence must be a non-negative integer")
        for name, value in strings.items():
            if not isinstance(value, str) or not value:
                raise InvalidRequest(f"step message {name} must be a non-empty string")
        return cls(fence=fence, **strings)

"""A conversation project's trainingMode (standard, free; advanced, billed): which kinds have one, where
the primary's is seen, and which one the target is trained with.

The service records a model's trainingMode only in its training job, and jobs expire after 7 days; so the
mode is recorded whenever a run sees a job (the observation, then the sync record), and when it was
never seen the target is trained with CLU_DEFAULT_TRAINING_MODE, which the run and the drift report say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shared.language.project_kinds import ANALYZE_CONVERSATIONS, ProjectKind, project_kind

# The kinds served by the analyze-conversations family (CLU, orchestration): trained with a mode.
CONVERSATION_KINDS = frozenset(kind for kind in ProjectKind if kind.routes is ANALYZE_CONVERSATIONS)


class TrainingJobs(Protocol):
    def list_training_jobs(self, project: str) -> list[dict[str, Any]]: ...


def has_training_modes(kind: str) -> bool:
    known = project_kind(kind)
    return known is not None and known in CONVERSATION_KINDS


def seen_training_modes(client: TrainingJobs, project: str) -> dict[str, str]:
    """label -> trainingMode of the newest of the project's unexpired training jobs for that label."""
    newest: dict[str, tuple[str, str]] = {}
    for job in client.list_training_jobs(project):
        result = job.get("result") or {}
        label, mode = result.get("modelLabel"), result.get("trainingMode")
        created = str(job.get("createdDateTime") or "")
        if isinstance(label, str) and isinstance(mode, str) and created >= newest.get(label, ("", ""))[0]:
            newest[label] = (created, mode)
    return {label: mode for label, (_, mode) in newest.items()}


@dataclass(frozen=True)
class ChosenMode:
    mode: str
    known: bool   # False: the primary's was never seen; `mode` is the configured default

    def warning(self, label: str) -> str | None:
        if self.known:
            return None
        return (f"the primary's trainingMode of model {label} is unknown (its training jobs expired): "
                "trained with the mode CLU_DEFAULT_TRAINING_MODE sets")


def training_mode_for(label: str, seen: Mapping[str, str], recorded: Mapping[str, str], default: str
                      ) -> ChosenMode:
    """The mode seen in this run's observation, else the one recorded at an earlier sync, else `default`."""
    mode = seen.get(label) or recorded.get(label)
    return ChosenMode(mode, True) if mode else ChosenMode(default, False)


__all__ = ["CONVERSATION_KINDS", "ChosenMode", "has_training_modes", "seen_training_modes",
           "training_mode_for"]

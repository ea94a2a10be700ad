"""Run kinds beside replication: durable runs that reuse the engine's manifest, lock, fencing and scheduler.

A run's kind is `manifest.context["runKind"]` (absent: replication). A kind brings its own step machine
and its own finish; everything else (claiming, fencing, retries, cancel, re-drive, stall takeover) is
the engine's. Kinds are looked up lazily by name, so a queue worker that never imported the module of a
kind still executes its runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine
    from shared.replication.steps import StepMachine
    from shared.runs.manifest import RunManifest

RUN_KIND_KEY = "runKind"

# name -> (module, attribute) of the RunKind object
_KINDS: dict[str, tuple[str, str]] = {
    "restore": ("shared.recovery.restore", "RESTORE_RUN"),
}


class RunKind(Protocol):
    def machine(self, engine: ReplicationEngine, manifest: RunManifest) -> StepMachine:
        """The step machine executing this run's steps."""
        ...

    def finish(self, engine: ReplicationEngine, manifest: RunManifest) -> None:
        """Record what the finished run achieved (in `manifest.context`; the engine saves it)."""
        ...


def run_kind(manifest: RunManifest) -> RunKind | None:
    """The manifest's kind, or None for a replication run."""
    name = manifest.context.get(RUN_KIND_KEY)
    if not name:
        return None
    module, attribute = _KINDS[str(name)]
    kind: RunKind = getattr(importlib.import_module(module), attribute)
    return kind

"""Run kinds: what a durable run does, beside how it is executed (`shared.runs.executor`).

A run's kind is `manifest.context["runKind"]` (absent: replication, the first kind, so older manifests
keep working). A kind brings its own step machine, its own finish and the cancelling of its jobs;
claiming, fencing, retries, cancel, re-drive and stall takeover are the executor's. Kinds are objects
bound to their clients and registered with the executor by the facade (`shared.engine`), so the
executor imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from shared.runs.manifest import RunManifest, StepRecord
from shared.runs.steps import StepRunner

RUN_KIND_KEY = "runKind"
REPLICATION_KIND = "replication"   # the kind of a manifest without RUN_KIND_KEY


class RunKind(Protocol):
    @property
    def name(self) -> str:
        """The kind's name in `manifest.context["runKind"]`."""
        ...

    def machine(self, manifest: RunManifest) -> StepRunner:
        """The step machine executing this run's steps."""
        ...

    def finish(self, manifest: RunManifest) -> None:
        """Record what the finished run achieved (in `manifest.context`; the executor saves it)."""
        ...

    def fits_a_request(self, step: StepRecord) -> bool:
        """Whether one slice of `step` is short enough to execute while an HTTP caller waits."""
        ...

    def cancel_job(self, manifest: RunManifest, step: StepRecord) -> None:
        """Cancel the job a step of this (now cancelled) run still has running, if it can be cancelled."""
        ...


def kind_name(manifest: RunManifest) -> str:
    return str(manifest.context.get(RUN_KIND_KEY) or REPLICATION_KIND)


class RunKinds:
    """The registered kinds, by name."""

    def __init__(self, kinds: Iterable[RunKind] = ()) -> None:
        self._kinds: dict[str, RunKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: RunKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"run kind {kind.name!r} is registered twice")
        self._kinds[kind.name] = kind

    def of(self, manifest: RunManifest) -> RunKind:
        """The manifest's kind; a kind this deployment does not know fails the run, not the process."""
        name = kind_name(manifest)
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownRunKind(name, sorted(self._kinds)) from None

    def names(self) -> list[str]:
        return sorted(self._kinds)


class UnknownRunKind(Exception):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown run kind {name!r}; this deployment knows {', '.join(known) or 'none'}")
        self.name = name


__all__ = ["REPLICATION_KIND", "RUN_KIND_KEY", "RunKind", "RunKinds", "UnknownRunKind", "kind_name"]

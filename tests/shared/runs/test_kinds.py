"""Run kinds are registered objects: a manifest names its kind, an unknown or doubled kind is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.runs.kinds import REPLICATION_KIND, RUN_KIND_KEY, RunKinds, UnknownRunKind, kind_name
from shared.runs.manifest import PENDING, RunManifest, StepRecord
from shared.runs.steps import SliceHandle


class Kind:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return None

    def machine(self, manifest: RunManifest) -> Kind:
        return self

    def finish(self, manifest: RunManifest) -> None:
        pass

    def cancel_job(self, manifest: RunManifest, job_url: str) -> None:
        pass


def manifest(**context: str) -> RunManifest:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return RunManifest(run_id="r", project="p", target="t", trigger="manual", force=False, created_at=now,
                       updated_at=now, status=PENDING, steps=[], reasons=[], context=dict(context))


def test_a_manifest_without_a_kind_is_a_replication_run() -> None:
    replication, restore = Kind(REPLICATION_KIND), Kind("restore")
    kinds = RunKinds([replication, restore])
    assert kind_name(manifest()) == REPLICATION_KIND
    assert kinds.of(manifest()) is replication
    assert kinds.of(manifest(**{RUN_KIND_KEY: "restore"})) is restore


def test_an_unknown_kind_is_named_with_the_known_ones() -> None:
    kinds = RunKinds([Kind(REPLICATION_KIND)])
    with pytest.raises(UnknownRunKind, match=r"'failback'.*replication"):
        kinds.of(manifest(**{RUN_KIND_KEY: "failback"}))


def test_a_kind_registers_once() -> None:
    kinds = RunKinds([Kind("restore")])
    with pytest.raises(ValueError, match="twice"):
        kinds.register(Kind("restore"))

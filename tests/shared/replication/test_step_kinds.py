"""Step kinds are registered classes: every kind has its class in its machine, a new kind is one class,
a duplicate name is refused, and a stored unknown kind fails the step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.recovery.restore import RestoreMachine
from shared.replication.step_kinds import StepAction, StepKind, registered_kinds, step_action
from shared.replication.steps import StepMachine, Train
from shared.runs.manifest import StepRecord

RESTORE_ONLY = {StepKind.CHECK_SNAPSHOT, StepKind.RESTORE_DOCUMENTS, StepKind.RESTORE_IMPORT,
                StepKind.LOAD_SNAPSHOT}


def test_every_step_kind_has_a_class_in_its_machine() -> None:
    replication = StepMachine.__new__(StepMachine)   # kinds() needs no clients
    restore = RestoreMachine.__new__(RestoreMachine)
    assert set(StepKind) <= set(registered_kinds())
    assert replication.kinds() & set(StepKind) == set(StepKind) - RESTORE_ONLY
    assert restore.kinds() & set(StepKind) == set(StepKind)


def test_only_a_training_can_be_cancelled() -> None:
    assert [kind for kind in StepKind if kind.cancellable] == [StepKind.TRAIN]
    assert [kind for kind in StepKind if not kind.fits_a_request] == [StepKind.DOCUMENTS,
                                                                      StepKind.RESTORE_DOCUMENTS]
    assert StepKind("restore-import") is StepKind.RESTORE_IMPORT   # as a manifest stores it


class _Handle:
    def checkpoint(self) -> None:
        pass


def test_a_new_kind_is_one_class_and_a_duplicate_name_is_refused() -> None:
    ran: list[str] = []

    class Wave(StepAction[StepMachine]):
        kind = "test-wave"
        machine = StepMachine

        @classmethod
        def run(cls, machine: StepMachine, slice_: Any, step: StepRecord) -> timedelta | None:
            ran.append(step.name)
            return None

    try:
        assert step_action("test-wave") is Wave
        machine = StepMachine.__new__(StepMachine)
        assert "test-wave" in machine.kinds()
        machine.clock = type("Now", (), {"now": staticmethod(lambda: None)})()  # type: ignore[assignment]
        step = StepRecord("wave", Wave.kind)
        assert machine.run(_Handle(), step) is None  # type: ignore[arg-type]
        assert ran == ["wave"] and step.status == "succeeded"

        with pytest.raises(TypeError, match="already defined"):
            class Again(StepAction[StepMachine]):
                kind = "test-wave"
                machine = StepMachine
        with pytest.raises(TypeError, match="already defined"):
            class Shadow(StepAction[StepMachine]):
                kind = StepKind.TRAIN
                machine = StepMachine
        assert step_action(StepKind.TRAIN) is Train   # the first definition stays
    finally:
        from shared.replication import step_kinds
        step_kinds._REGISTRY.pop("test-wave", None)


def test_a_stored_unknown_kind_fails_its_step_clearly() -> None:
    from shared.runs.steps import StepFailed

    machine = StepMachine.__new__(StepMachine)
    machine.clock = type("Now", (), {"now": staticmethod(lambda: None)})()  # type: ignore[assignment]
    for kind in ("no-such-kind", StepKind.CHECK_SNAPSHOT):   # unknown; another machine's kind
        with pytest.raises(StepFailed) as failed:
            machine.run(_Handle(), StepRecord("odd", kind))  # type: ignore[arg-type]
        assert failed.value.code == "UnknownStepKind"


def test_every_step_the_product_plans_names_its_kind_through_step_kind() -> None:
    """A bare string kind would only fail when a run reaches it; through StepKind a typo fails mypy."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "shared"
    bare = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "StepRecord":
                kind = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "kind"), None)
                named = (isinstance(kind, ast.Attribute) and isinstance(kind.value, ast.Name)
                         and (kind.value.id == "StepKind" or kind.attr == "kind"))
                if not named:
                    bare.append(f"{path.relative_to(root)}:{node.lineno}")
    assert bare == []

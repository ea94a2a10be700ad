"""Step kinds are named values: every kind has its action, and a stored unknown kind fails the step."""

from __future__ import annotations

from shared.recovery.restore import RestoreMachine
from shared.replication.step_kinds import StepKind
from shared.replication.steps import StepMachine

RESTORE_ONLY = {StepKind.CHECK_SNAPSHOT, StepKind.RESTORE_DOCUMENTS, StepKind.RESTORE_IMPORT,
                StepKind.LOAD_SNAPSHOT}


def test_every_step_kind_has_an_action_in_its_machine() -> None:
    replication = StepMachine.__new__(StepMachine)   # actions() needs no clients
    restore = RestoreMachine.__new__(RestoreMachine)
    assert set(replication.actions()) == set(StepKind) - RESTORE_ONLY
    assert set(restore.actions()) == set(StepKind)


def test_only_a_training_can_be_cancelled() -> None:
    assert [kind for kind in StepKind if kind.cancellable] == [StepKind.TRAIN]
    assert StepKind("restore-import") is StepKind.RESTORE_IMPORT   # as a manifest stores it


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
                         and kind.value.id == "StepKind")
                if not named:
                    bare.append(f"{path.relative_to(root)}:{node.lineno}")
    assert bare == []

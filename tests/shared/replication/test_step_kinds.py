"""Step kinds are named values: every kind has its action, and a stored unknown kind fails the step."""

from __future__ import annotations

from shared.recovery.restore import RestoreMachine
from shared.replication.step_kinds import StepKind
from shared.replication.steps import StepMachine

RESTORE_ONLY = {StepKind.CHECK_SNAPSHOT, StepKind.RESTORE_DOCUMENTS, StepKind.RESTORE_IMPORT}


def test_every_step_kind_has_an_action_in_its_machine() -> None:
    replication = StepMachine.__new__(StepMachine)   # actions() needs no clients
    restore = RestoreMachine.__new__(RestoreMachine)
    assert set(replication.actions()) == set(StepKind) - RESTORE_ONLY
    assert set(restore.actions()) == set(StepKind)


def test_only_a_training_can_be_cancelled() -> None:
    assert [kind for kind in StepKind if kind.cancellable] == [StepKind.TRAIN]
    assert StepKind("restore-import") is StepKind.RESTORE_IMPORT   # as a manifest stores it

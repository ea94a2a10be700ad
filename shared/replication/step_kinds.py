"""Step kinds: every kind of step a run holds is one registered class.

A step kind is a subclass of `StepAction`: its `kind` (the string a manifest stores), whether one slice
`fits_a_request`, whether its job is `cancellable`, the step machine it runs on (`machine`) and `run`
(one slice; it may delegate to the machine's shared helpers: `_submit`, `_poll`, ...). Defining the class
registers it (`__init_subclass__`); a second class with the same `kind` is refused at import.

Adding a step kind is: one class (beside the machine it runs on, e.g. `shared/replication/steps.py` or
`shared/recovery/restore.py`) and one plan line, `StepRecord(name, MyStep.kind, label)`. No enum, no
dict to edit: `StepMachine.run` finds the class by the stored kind, and a stored kind no registered
class (or none of this machine's) runs fails its step with `UnknownStepKind`, never a KeyError.

`StepKind` names the product's own kinds for the code that plans and inspects them, so a typo is a type
error (mypy); a test checks each of its names is a registered class.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from datetime import timedelta

    from shared.runs.manifest import StepRecord
    from shared.runs.steps import SliceHandle


class StepKind(StrEnum):
    BACKUP = "backup"                         # export the target's working copy to a snapshot
    EXPORT = "export"                         # export a model's data (or the working copy) from the primary
    DOCUMENTS = "documents"                   # copy the documents the export names
    IMPORT = "import"                         # import the export into the target
    TRAIN = "train"                           # train a model on the target
    DEPLOY = "deploy"                         # point a deployment at the trained model
    VERIFY = "verify"                         # compare predictions of primary and target
    CHECK_SNAPSHOT = "check-snapshot"         # restore: the snapshot is still intact
    RESTORE_DOCUMENTS = "restore-documents"   # restore: documents the snapshot names are in place
    RESTORE_IMPORT = "restore-import"         # restore: import the snapshot
    LOAD_SNAPSHOT = "load-snapshot"           # restore: the model's own snapshot becomes the working copy

    @property
    def fits_a_request(self) -> bool:
        """Whether one slice is request-sized (see `StepAction.fits_a_request`)."""
        return fits_a_request(self)

    @property
    def cancellable(self) -> bool:
        """Whether the service can cancel this step's running job (see `StepAction.cancellable`)."""
        return cancellable(self)


M = TypeVar("M")
_REGISTRY: dict[str, type[StepAction[Any]]] = {}


class StepAction(Generic[M]):
    """One kind of step. Subclasses set `kind` and `machine` and define `run`; defining one registers it."""

    kind: ClassVar[str]
    # The machine class whose runs hold this kind (its subclasses too).
    machine: ClassVar[type[Any]]
    # Whether one slice is request-sized (one submit or one poll and its transfer), so an HTTP caller may
    # wait for it; copying a project's documents is one slice of any length: queue only.
    fits_a_request: ClassVar[bool] = True
    # Whether the service can cancel this step's running job (only trainings can be cancelled).
    cancellable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = str(cls.__dict__.get("kind", ""))
        if not kind:
            raise TypeError(f"step kind {cls.__qualname__} names no kind")
        if kind in _REGISTRY:
            raise TypeError(f"step kind {kind!r} is already defined by {_REGISTRY[kind].__qualname__}; "
                            f"{cls.__qualname__} cannot define it again")
        _REGISTRY[kind] = cls

    @classmethod
    def run(cls, machine: M, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        """One slice of the step: the delay before the next slice, or None when the step is done."""
        raise NotImplementedError


def step_action(kind: str) -> type[StepAction[Any]] | None:
    """The class of a stored kind, or None when no class (of the modules imported) defines it."""
    return _REGISTRY.get(str(kind))


def registered_kinds() -> dict[str, type[StepAction[Any]]]:
    """Every registered kind -> its class."""
    return dict(_REGISTRY)


def fits_a_request(kind: str) -> bool:
    """Whether one slice of this kind is request-sized; an unknown kind is (its slice fails at once)."""
    action = step_action(kind)
    return action.fits_a_request if action is not None else True


def cancellable(kind: str) -> bool:
    """Whether the service can cancel a running job of this kind; an unknown kind's cannot."""
    action = step_action(kind)
    return action.cancellable if action is not None else False


__all__ = ["StepAction", "StepKind", "cancellable", "fits_a_request", "registered_kinds", "step_action"]

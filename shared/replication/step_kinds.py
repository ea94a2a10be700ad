"""Step kinds: every kind of step a replication or restore run holds, as named values.

A manifest stores a step's kind as its string value; code names it only through `StepKind`, so a typo
is a type error (mypy) or an AttributeError at import, never a KeyError in the middle of a run. Adding
a step kind is one member here, its action in the step machine (`actions()`, keyed by `StepKind`; a
test checks every kind has one) and its line in the plan.
"""

from __future__ import annotations

from enum import StrEnum


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
        """Whether one slice is request-sized (one submit or one poll and its transfer), so an HTTP
        caller may wait for it; copying a project's documents is one slice of any length: queue only."""
        return self not in (StepKind.DOCUMENTS, StepKind.RESTORE_DOCUMENTS)

    @property
    def cancellable(self) -> bool:
        """Whether the service can cancel this step's running job (only trainings can be cancelled)."""
        return self is StepKind.TRAIN


__all__ = ["StepKind"]

"""The one verdict for the whole estate, read in a second at the top of the status page.

Each replica's protection is decided by shared.replication.verdict.protection; this rolls them up:

- not protected: no drift check recorded yet, nothing replicated, or some project has no replica that
  could serve it (every target missing or never synced);
- at risk: some replica is not protected (drifted, diverged, promoted, error, over its recovery point
  objective, missing on one of several targets), or the last drift check is overdue for DRIFT_SCHEDULE
  (shared.schedule.check_overdue, the one rule);
- all protected: otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from shared.replication.drift import format_age
from shared.replication.verdict import Protection
from shared.schedule import DEFAULT_SCHEDULE, OVERDUE, check_overdue

NAMED = 5   # projects named in a reason before "and N more"


class EstateVerdict(StrEnum):
    ALL_PROTECTED = "all_protected"
    AT_RISK = "at_risk"
    NOT_PROTECTED = "not_protected"

    @property
    def label(self) -> str:
        return {"all_protected": "All protected", "at_risk": "At risk",
                "not_protected": "Not protected"}[self.value]


def estate_verdict(replicas: Iterable[tuple[str, Protection]], checked_at: datetime | None,
                   now: datetime, schedule: str = DEFAULT_SCHEDULE) -> tuple[EstateVerdict, tuple[str, ...]]:
    """`replicas`: (project, protection) per (project, target) of the last drift check; `schedule`:
    DRIFT_SCHEDULE, which says how old that check may be."""
    if checked_at is None:
        return EstateVerdict.NOT_PROTECTED, ("no drift check has been recorded yet: protection is unknown",)
    by_project: dict[str, list[Protection]] = defaultdict(list)
    for project, protected in replicas:
        by_project[project].append(protected)
    if not by_project:
        return EstateVerdict.NOT_PROTECTED, ("the last drift check found no replicated project",)
    unprotected = sorted(project for project, states in by_project.items()
                         if all(state is Protection.NOT_PROTECTED for state in states))
    if unprotected:
        return EstateVerdict.NOT_PROTECTED, (
            f"{len(unprotected)} project(s) have no replica that could serve them: {_names(unprotected)}",)
    reasons = []
    at_risk = sorted({project for project, states in by_project.items()
                      if any(state is not Protection.PROTECTED for state in states)})
    if at_risk:
        reasons.append(f"{len(at_risk)} project(s) have a replica at risk: {_names(at_risk)}")
    if check_overdue(schedule, checked_at, now):
        reasons.append(f"the last drift check is {format_age(now - checked_at)} old, {OVERDUE}")
    if reasons:
        return EstateVerdict.AT_RISK, tuple(reasons)
    return EstateVerdict.ALL_PROTECTED, (
        f"every project has a replica in sync within its recovery point objective ({len(by_project)} "
        "project(s))",)


def _names(projects: list[str]) -> str:
    shown = ", ".join(projects[:NAMED])
    return shown if len(projects) <= NAMED else f"{shown} and {len(projects) - NAMED} more"

"""The drift history: every drift check appends (time, target, project, state, recovery point age).

Sync records keep only the latest sync, so "how old was what the secondary would serve, over the last
month?" needs its own record. Each check appends one point per (target, project) to the day's blob
(`drift-history/YYYY-MM-DD.json` in the state container) and replaces `drift-history/latest.json` with
the whole report, so the status page can be drawn from storage alone: it must still answer while the
primary's region (and its Language resource) is down. Days older than HISTORY_DAYS are pruned by the
check that follows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.clock import parse_iso, utc_iso
from shared.errors import ConcurrentUpdate
from shared.replication.drift import DriftReport, DriftState, ProjectDrift
from shared.storage.json_blobs import JsonBlobs, UnreadableState, Versioned

log = logging.getLogger(__name__)

PREFIX = "drift-history/"
LATEST_BLOB = f"{PREFIX}latest.json"
# Kept at least this long (the page draws 30 days; a quarter is what an incident review asks for).
HISTORY_DAYS = 90
WRITE_ATTEMPTS = 8


@dataclass(frozen=True)
class HistoryPoint:
    at: datetime
    target: str
    project: str
    state: DriftState
    age: timedelta | None          # the recovery point age the check found; None: never synced

    def to_json(self) -> dict[str, Any]:
        return {"at": utc_iso(self.at), "target": self.target, "project": self.project,
                "state": self.state.value,
                "ageSeconds": None if self.age is None else int(self.age.total_seconds())}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryPoint:
        seconds = data.get("ageSeconds")
        return cls(parse_iso(str(data["at"])), str(data["target"]), str(data["project"]),
                   DriftState(str(data["state"])),
                   None if seconds is None else timedelta(seconds=int(seconds)))


def day_blob(day: date) -> str:
    return f"{PREFIX}{day.isoformat()}.json"


class DriftHistory:
    def __init__(self, blobs: JsonBlobs) -> None:
        self.blobs = blobs

    def record(self, report: DriftReport, *, partial: bool = False) -> None:
        """Append the report's points to its day, keep it as the latest report, prune old days.

        `partial`: the check covered only some projects; the latest report keeps the others' entries.
        """
        points = [HistoryPoint(report.checked_at, entry.target, entry.project, entry.state,
                               entry.recovery_point_age) for entry in report.projects]
        day = report.checked_at.date()
        self._update(day_blob(day), lambda data: {
            "day": day.isoformat(), "points": [*data.get("points", []), *(p.to_json() for p in points)]})
        latest = report.to_json()
        if partial:
            def merged(data: dict[str, Any]) -> dict[str, Any]:
                fresh = {(entry.target, entry.project) for entry in report.projects}
                kept = [entry for entry in data.get("projects", [])
                        if (entry.get("target"), entry.get("project")) not in fresh]
                return {**latest, "projects": [*kept, *latest["projects"]]}

            self._update(LATEST_BLOB, merged)
        else:
            self._update(LATEST_BLOB, lambda data: latest)
        self.prune(day)

    def latest(self) -> DriftReport | None:
        """The last recorded drift report (merged over partial checks), or None before the first check.
        UnreadableState if the blob is damaged: readers say so; the next check's record replaces it."""
        found = self.blobs.read(LATEST_BLOB)
        return None if found is None else report_from_json(found.data)

    def points(self, since: datetime, until: datetime) -> list[HistoryPoint]:
        """Every point recorded from `since` to `until`, oldest first."""
        points: list[HistoryPoint] = []
        for day in _days(since.date(), until.date()):
            try:
                found = self.blobs.read(day_blob(day))
            except UnreadableState:
                log.warning("drift history: %s is unreadable; its points are left out", day_blob(day))
                continue
            if found is not None:
                points += [point for point in map(HistoryPoint.from_json, found.data.get("points", []))
                           if since <= point.at <= until]
        return sorted(points, key=lambda point: point.at)

    def prune(self, today: date) -> list[str]:
        """Delete day blobs older than HISTORY_DAYS before `today`; returns their names."""
        oldest_kept = today - timedelta(days=HISTORY_DAYS)
        removed = []
        for name in list(self.blobs.names(PREFIX)):
            day = _blob_day(name)
            if day is None or day >= oldest_kept:
                continue
            found = self.blobs.read(name)
            if found is not None and self.blobs.delete(name, found.etag):
                removed.append(name)
        return removed

    def _update(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Read, change, write under the ETag; two checks at once both land (re-read on a lost race)."""
        for _ in range(WRITE_ATTEMPTS):
            try:
                found = self.blobs.read(name)
            except UnreadableState as unreadable:
                # A derived record: a damaged blob must not stop every later check. This one replaces it.
                log.warning("drift history: %s was unreadable and is replaced", name)
                found = Versioned({}, unreadable.etag)
            data = change({} if found is None else found.data)
            try:
                if found is None:
                    self.blobs.create(name, data)
                else:
                    self.blobs.replace(name, data, found.etag)
                return
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"{name} kept changing; gave up after {WRITE_ATTEMPTS} attempts")


def report_from_json(data: dict[str, Any]) -> DriftReport:
    """A DriftReport read back from its `to_json` form (as the latest report is stored)."""
    return DriftReport(
        checked_at=parse_iso(str(data["checkedAt"])),
        projects=tuple(_entry_from_json(entry) for entry in data.get("projects", [])),
        requests={str(k): dict(v) for k, v in dict(data.get("requests") or {}).items()},
        warnings=tuple(str(warning) for warning in data.get("warnings", [])))


def _entry_from_json(data: dict[str, Any]) -> ProjectDrift:
    seconds = data.get("recoveryPointAgeSeconds")
    synced = data.get("lastSyncedAt")
    return ProjectDrift(
        target=str(data["target"]), project=str(data["project"]), state=DriftState(str(data["state"])),
        reasons=tuple(data.get("reasons", [])), risks=tuple(data.get("risks", [])),
        recovery_point_age=None if seconds is None else timedelta(seconds=int(seconds)),
        last_synced_at=parse_iso(synced) if synced else None, last_run_id=data.get("lastRunId"),
        primary_last_modified=data.get("primaryLastModifiedDateTime"),
        target_last_modified=data.get("targetLastModifiedDateTime"),
        export_checked=bool(data.get("exportChecked")), evaluation=dict(data.get("evaluation") or {}),
        unreplicated_dependencies=tuple(map(str, data.get("unreplicatedDependencies") or ())))


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _blob_day(name: str) -> date | None:
    stem = name[len(PREFIX):].removesuffix(".json")
    try:
        return date.fromisoformat(stem)
    except ValueError:
        return None   # latest.json and anything else that is not a day


__all__ = ["HISTORY_DAYS", "DriftHistory", "HistoryPoint", "report_from_json"]

"""When the drift check last observed each replica project by project (its "full pass") and found it in sync.

Between full passes the daily check reads only the resources' project lists (shared.replication.drift):
a replica whose timestamps have not moved since our last sync costs no request of its own. Some
changes move no timestamp (a deleted deployment or model), so every replica is observed in full again
once its last in-sync full observation is DRIFT_FULL_CHECK_DAYS old. One small state blob holds the times.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import parse_iso, utc_iso
from shared.errors import ConcurrentUpdate
from shared.storage.json_blobs import JsonBlobs

BLOB_NAME = "drift-full-passes.json"
# The timer fires at the same time each day, give or take a few seconds: without this margin a full pass
# due "7 days after the last" would slip to the 8th day whenever today's tick came a second early.
SCHEDULE_SLACK = timedelta(hours=1)


class FullPassLog:
    """Per (target, project): when it was last observed in full. `always`: True forces a full pass,
    False forbids one (only moved timestamps lead to per-project reads), None follows the schedule."""

    def __init__(self, blobs: JsonBlobs, every: timedelta, *, always: bool | None = None) -> None:
        self.blobs = blobs
        self.every = every
        self.always = always
        self._last: dict[str, datetime] | None = None
        self._observed: dict[str, datetime] = {}

    @staticmethod
    def key(target: str, project: str) -> str:
        return f"{target}/{project}"

    def last(self, target: str, project: str) -> datetime | None:
        return self._observed.get(self.key(target, project)) or self._stored().get(self.key(target, project))

    def due(self, target: str, project: str, now: datetime) -> bool:
        if self.always is not None:
            return self.always
        last = self.last(target, project)
        return last is None or now - last >= self.every - SCHEDULE_SLACK

    def observed(self, target: str, project: str, now: datetime) -> None:
        self._observed[self.key(target, project)] = now

    def save(self) -> None:
        """Merge this check's full observations into the blob (the newer time wins per replica)."""
        if not self._observed:
            return
        for _ in range(5):
            found = self.blobs.read(BLOB_NAME)
            stored = _parse(found.data) if found else {}
            merged = dict(stored)
            for key, when in self._observed.items():
                merged[key] = max(when, stored.get(key, when))
            data = {"lastFullPass": {key: utc_iso(when) for key, when in sorted(merged.items())}}
            try:
                if found is None:
                    self.blobs.create(BLOB_NAME, data)
                else:
                    self.blobs.replace(BLOB_NAME, data, found.etag)
            except ConcurrentUpdate:
                continue  # another check wrote in between: merge again
            self._last, self._observed = merged, {}
            return
        raise ConcurrentUpdate(f"{BLOB_NAME} kept changing")

    def _stored(self) -> dict[str, datetime]:
        if self._last is None:
            found = self.blobs.read(BLOB_NAME)
            self._last = _parse(found.data) if found else {}
        return self._last


def _parse(data: dict[str, object]) -> dict[str, datetime]:
    passes = data.get("lastFullPass")
    if not isinstance(passes, dict):
        return {}
    return {str(key): parse_iso(str(when)) for key, when in passes.items()}

"""The bill guard: at most N trainings per (target, project) per UTC day, across every instance.

One small blob per day holds the steps that spent a training; the count is updated under an ETag, and
spending is idempotent per step, so a redelivered slice never counts twice.
"""

from __future__ import annotations

from datetime import datetime

from shared.errors import ConcurrentUpdate
from shared.storage.json_blobs import JsonBlobs


class TrainingBudget:
    def __init__(self, blobs: JsonBlobs, per_day: int) -> None:
        self.blobs = blobs
        self.per_day = per_day

    @staticmethod
    def blob_name(target: str, project: str, day: datetime) -> str:
        return f"trainings/{target}/{project}/{day.strftime('%Y-%m-%d')}.json"

    def used(self, target: str, project: str, day: datetime) -> list[str]:
        found = self.blobs.read(self.blob_name(target, project, day))
        return list(found.data.get("spentBy", [])) if found else []

    def spend(self, target: str, project: str, day: datetime, spender: str) -> bool:
        """Count one training for `spender` (e.g. "run:step"); False when today's cap is reached."""
        name = self.blob_name(target, project, day)
        for _ in range(10):
            found = self.blobs.read(name)
            spent = list(found.data.get("spentBy", [])) if found else []
            if spender in spent:
                return True
            if len(spent) >= self.per_day:
                return False
            body = {"spentBy": [*spent, spender], "limit": self.per_day}
            try:
                if found is None:
                    self.blobs.create(name, body)
                else:
                    self.blobs.replace(name, body, found.etag)
                return True
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"training budget {name} kept changing")

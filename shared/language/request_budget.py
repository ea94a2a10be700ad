"""A per-resource request budget shared by every run and every Functions instance.

The authoring API allows 10 POST and 100 GET per minute per resource. Each request first asks the
budget; the answer is how many seconds to wait (0 = go, and the request is counted). The window is
sliding (the last 60 s), so bursts at a minute boundary cannot double the rate.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from shared.clock import Clock
from shared.storage.json_blobs import ContainerOnFirstWrite

WINDOW = timedelta(minutes=1)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestBudget(Protocol):
    def acquire(self, resource_key: str, method: str) -> float:
        """Seconds to wait before trying again; 0 means go (the request has been counted)."""
        ...


@dataclass(frozen=True)
class BudgetLimits:
    reads_per_minute: int = 100
    writes_per_minute: int = 10

    def limit(self, kind: str) -> int:
        return self.reads_per_minute if kind == "read" else self.writes_per_minute


def request_kind(method: str) -> str:
    """GETs count against the read limit; every other method against the (POST) write limit."""
    return "read" if method.upper() in READ_METHODS else "write"


def _decide(stamps: list[datetime], now: datetime, limit: int) -> tuple[list[datetime], float]:
    """Drop stamps older than the window; go (append now) if under the limit, else the wait."""
    recent = sorted(stamp for stamp in stamps if now - stamp < WINDOW)
    if len(recent) < limit:
        return [*recent, now], 0.0
    wait = (recent[len(recent) - limit] + WINDOW - now).total_seconds()
    return recent, max(wait, 0.001)


class InMemoryRequestBudget:
    """One process's budget (tests, the CLI with a single runner)."""

    def __init__(self, clock: Clock, limits: BudgetLimits | None = None) -> None:
        self._clock = clock
        self._limits = limits or BudgetLimits()
        self._stamps: dict[tuple[str, str], list[datetime]] = defaultdict(list)
        self._lock = threading.Lock()

    def acquire(self, resource_key: str, method: str) -> float:
        kind = request_kind(method)
        with self._lock:
            stamps, wait = _decide(
                self._stamps[(resource_key, kind)], self._clock.now(), self._limits.limit(kind)
            )
            self._stamps[(resource_key, kind)] = stamps
            return wait


class BlobRequestBudget:
    """The budget in one small blob per (resource, kind), updated only under ETag conditions."""

    def __init__(
        self,
        container_client: ContainerClient,
        clock: Clock,
        limits: BudgetLimits | None = None,
        *,
        prefix: str = "request-budget/",
        max_conflicts: int = 20,
    ) -> None:
        self._container = container_client
        self._clock = clock
        self._limits = limits or BudgetLimits()
        self._prefix = prefix
        self._max_conflicts = max_conflicts
        self._created = ContainerOnFirstWrite(container_client)

    def blob_name(self, resource_key: str, kind: str) -> str:
        safe = re.sub(r"[^A-Za-z0-9.-]", "-", resource_key.lower()) or "resource"
        return f"{self._prefix}{safe}/{kind}.json"

    def acquire(self, resource_key: str, method: str) -> float:
        kind = request_kind(method)
        blob = self._container.get_blob_client(self.blob_name(resource_key, kind))
        limit = self._limits.limit(kind)
        for _ in range(self._max_conflicts):
            now = self._clock.now()
            try:
                downloader = blob.download_blob()
            except ResourceNotFoundError:
                self._created.ensure()
                try:
                    blob.upload_blob(_encode([now]), overwrite=False)
                except ResourceExistsError:
                    continue  # someone else created it first: count against theirs
                return 0.0
            etag = downloader.properties.etag
            stamps, wait = _decide(_decode(downloader.readall()), now, limit)
            if wait > 0:
                return wait
            try:
                blob.upload_blob(
                    _encode(stamps), overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except (ResourceModifiedError, ResourceExistsError):
                continue
            return 0.0
        # Heavy contention: back off briefly rather than spin on the blob.
        return 0.2



def _encode(stamps: list[datetime]) -> bytes:
    return json.dumps({"requests": [stamp.isoformat() for stamp in stamps]}).encode()


def _decode(data: bytes) -> list[datetime]:
    try:
        return [datetime.fromisoformat(text) for text in json.loads(data)["requests"]]
    except (ValueError, KeyError, TypeError):
        return []  # a damaged counter only costs one minute of accuracy

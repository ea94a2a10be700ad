"""The request budget kept in blob storage, so every run and every Functions instance shares it.

The rule (sliding window, read and write limits) is `shared.language.request_budget`'s; this module
only stores its timestamps, one small blob per (resource, kind), updated under ETag conditions.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from shared.clock import Clock
from shared.language.request_budget import BudgetLimits, decide, request_kind
from shared.storage.json_blobs import ContainerOnFirstWrite


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
            stamps, wait = decide(_decode(downloader.readall()), now, limit)
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

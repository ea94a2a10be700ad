"""The resource's linked storage account: projects read their documents from one container each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient


@dataclass
class DocumentBatch:
    texts: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


class LinkedStorage:
    def __init__(self, connection_string: str) -> None:
        # Few retries: a missing container or blob is an answer, not a transient fault.
        self._service = BlobServiceClient.from_connection_string(
            connection_string, retry_total=2, connection_timeout=5, read_timeout=30
        )

    def container_exists(self, container: str) -> bool:
        try:
            return bool(self._service.get_container_client(container).exists())
        except HttpResponseError:
            # An invalid container name is answered with 400 by storage: no such container either.
            return False

    def read(self, container: str, locations: Iterable[str]) -> DocumentBatch:
        """Each document's bytes decoded as UTF-8, exactly (no newline or BOM normalisation)."""
        batch = DocumentBatch()
        client = self._service.get_container_client(container)
        for location in locations:
            try:
                data = client.download_blob(location).readall()
            except ResourceNotFoundError:
                batch.missing.append(location)
                continue
            if not data:
                batch.empty.append(location)
                continue
            batch.texts[location] = data.decode("utf-8", errors="replace")
        return batch

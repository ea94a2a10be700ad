"""JSON documents in blob storage with optimistic concurrency: every write is conditional on an ETag.

The engine's durable state (run manifests, run locks, sync records) lives in one container of the
snapshot storage account; each write either creates a blob that must not exist (If-None-Match: *) or
replaces the exact version we read (If-Match: etag). A lost race raises ConcurrentUpdate.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobLeaseClient, ContainerClient, ContentSettings

from shared.errors import ConcurrentUpdate

STATE_CONTAINER = "replication-state"
_JSON = ContentSettings(content_type="application/json")


class ContainerOnFirstWrite:
    """A container created on the first write that needs it (once per instance); one that exists is fine.

    Reads never create it: a missing container reads as missing blobs.
    """

    def __init__(self, container: ContainerClient) -> None:
        self.client = container
        self._ready = False

    def ensure(self) -> None:
        if not self._ready:
            with contextlib.suppress(ResourceExistsError):
                self.client.create_container()
            self._ready = True


@dataclass(frozen=True)
class Versioned:
    data: dict[str, Any]
    etag: str


class UnreadableState(ValueError):
    """A state blob that does not hold a JSON object (truncated, edited by hand). Its ETag lets a writer of
    a derived record replace it instead of failing on it forever."""

    def __init__(self, name: str, etag: str) -> None:
        super().__init__(f"state blob {name} does not hold a JSON object")
        self.name = name
        self.etag = etag


class JsonBlobs:
    def __init__(self, container: ContainerClient) -> None:
        self.container = container
        self._created = ContainerOnFirstWrite(container)

    def read(self, name: str) -> Versioned | None:
        try:
            downloader = self.container.get_blob_client(name).download_blob()
        except ResourceNotFoundError:
            return None
        payload = downloader.readall()
        etag = downloader.properties.etag
        try:
            data: Any = json.loads(payload)
        except ValueError as error:
            raise UnreadableState(name, etag) from error
        if not isinstance(data, dict):
            raise UnreadableState(name, etag)
        return Versioned(data, etag)

    def create(self, name: str, data: dict[str, Any]) -> str:
        """Create `name`; ConcurrentUpdate if it already exists. Returns the new ETag."""
        self._created.ensure()
        try:
            result = self.container.get_blob_client(name).upload_blob(
                _encode(data), overwrite=False, content_settings=_JSON)
        except ResourceExistsError as error:
            raise ConcurrentUpdate(f"{name} already exists") from error
        return str(result["etag"])

    def replace(self, name: str, data: dict[str, Any], etag: str, *,
                lease: BlobLeaseClient | None = None) -> str:
        """Replace the version we read; ConcurrentUpdate if someone wrote in between."""
        try:
            result = self.container.get_blob_client(name).upload_blob(
                _encode(data), overwrite=True, content_settings=_JSON, etag=etag,
                match_condition=MatchConditions.IfNotModified, lease=lease)
        except (ResourceModifiedError, ResourceNotFoundError) as error:
            raise ConcurrentUpdate(f"{name} changed since it was read") from error
        except ResourceExistsError as error:  # a lease held by someone else
            raise ConcurrentUpdate(f"{name} is leased by another instance") from error
        return str(result["etag"])

    def delete(self, name: str, etag: str) -> bool:
        try:
            self.container.get_blob_client(name).delete_blob(
                etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceNotFoundError:
            return False
        except (ResourceModifiedError, ResourceExistsError) as error:
            raise ConcurrentUpdate(f"{name} changed since it was read") from error
        return True

    def names(self, prefix: str) -> Iterator[str]:
        try:
            for blob in self.container.list_blobs(name_starts_with=prefix):
                yield str(blob.name)
        except ResourceNotFoundError:
            return


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")

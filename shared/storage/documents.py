"""The documents behind a project: copied into the target's own storage account, checked, fingerprinted.

An export names its documents but carries none of their text, and a Language resource can read only
the storage account linked to it, so before any import the target's container must hold every
document the export names, byte for byte (offsets are UTF-16 code units over the exact bytes).

Copies go through this process one document at a time (a document is at most 128,000 characters,
so well under a megabyte in memory) rather than server-side: a server-side copy
across accounts needs a SAS on the source (a user-delegation key, i.e. an extra role on the primary's
account) and behaves differently on Azurite; documents are small, so copying through costs little and
works with every kind of credential.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobProperties, ContainerClient, ContentSettings

COPY_WORKERS = 4
# Copies handed to the pool at a time: a future per document of a 100,000-document project would cost
# more memory than the documents themselves.
COPY_BATCH = 64
# Blobs per listing request. A page is held parsed (its XML and the SDK's objects, about 11 KB a blob),
# so the service's default of 5,000 would cost some 55 MB at once. 250 keeps a page under 3 MB (at 1,000
# it was 11 of the 17.7 MiB a 1,000-document replication peaked at) for a listing request per 250 blobs,
# on storage, outside the Language request budget.
LISTING_PAGE = 250


# What a listing keeps of a blob (the SDK's BlobProperties is about 5 KB): its MD5 and size packed in 24
# bytes, or, for a blob stored without an MD5, "etag:{etag}:{size}".
BlobToken = bytes | str


@dataclass(frozen=True)
class CopyReport:
    copied: list[str] = field(default_factory=list)
    skipped_identical: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # named by the export, absent from the source

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "copied": len(self.copied),
            "skippedIdentical": len(self.skipped_identical),
            "missing": list(self.missing),
        }


def copy_documents(source: ContainerClient, target: ContainerClient, locations: Iterable[str]) -> CopyReport:
    """Copy the named documents that the target lacks or holds with other bytes; create the container."""
    wanted = _names(locations)
    with contextlib.suppress(ResourceExistsError):
        target.create_container()
    source_blobs = _listing(source, wanted)
    target_blobs = _listing(target, wanted)
    copied: list[str] = []
    skipped: list[str] = []
    missing: list[str] = []
    to_copy: list[str] = []
    for location in wanted:
        source_entry = source_blobs.get(location)
        if source_entry is None:
            missing.append(location)
        elif _identical(source_entry, target_blobs.get(location)):
            skipped.append(location)
        else:
            to_copy.append(location)
    with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
        for batch in _batches(to_copy, COPY_BATCH):
            for location, outcome in zip(
                batch, pool.map(lambda name: _copy_one(source, target, name), batch), strict=True
            ):
                (copied if outcome else missing).append(location)
    return CopyReport(copied=copied, skipped_identical=skipped, missing=missing)


def missing_documents(container: ContainerClient, locations: Iterable[str]) -> list[str]:
    """The locations with no blob in the container (one listing, not one request per document)."""
    wanted = _names(locations)
    present = _listing(container, wanted)
    return [location for location in wanted if location not in present]


def container_fingerprint(container: ContainerClient, locations: Sequence[str] | None = None) -> str:
    """A hash over names and contents (MD5, else ETag and size): editing a document's text changes it.

    With `locations`, only those documents count (a missing one counts as missing).
    """
    wanted = None if locations is None else _names(locations)
    listing = _listing(container, wanted)
    names = sorted(listing if wanted is None else wanted)
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode("utf-8"))
        digest.update(b"\0")
        digest.update(_content_token(listing.get(name)).encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def _names(locations: Iterable[str]) -> dict[str, str]:
    """Each location once, in order, mapped to itself: listings key their entries with these strings."""
    names: dict[str, str] = {}
    for location in locations:
        names.setdefault(location, location)
    return names


def _listing(container: ContainerClient, wanted: Mapping[str, str] | None = None) -> dict[str, BlobToken]:
    """The container's blobs (only those in `wanted`, when given), by name."""
    listing: dict[str, BlobToken] = {}
    try:
        for properties in container.list_blobs(results_per_page=LISTING_PAGE):
            name = properties.name if wanted is None else wanted.get(properties.name)
            if name is not None:  # keyed by the caller's string: the listing's own copy is not kept
                listing[name] = _token(properties)
    except ResourceNotFoundError:
        return {}
    return listing


def _token(properties: BlobProperties) -> BlobToken:
    md5 = properties.content_settings.content_md5
    if md5:
        return bytes(md5) + int(properties.size).to_bytes(8, "big")
    return f"etag:{properties.etag}:{properties.size}"


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _content_token(token: BlobToken | None) -> str:
    if token is None:
        return "missing"
    if isinstance(token, bytes):
        return f"md5:{token[:-8].hex()}:{int.from_bytes(token[-8:], 'big')}"
    return token


def _identical(source: BlobToken, target: BlobToken | None) -> bool:
    # Same MD5 and size. Without an MD5 on both sides we cannot tell: copy again rather than keep stale text.
    return isinstance(source, bytes) and source == target


def _copy_one(source: ContainerClient, target: ContainerClient, location: str) -> bool:
    """Stream one blob across; False if it vanished from the source meanwhile."""
    try:
        downloader = source.get_blob_client(location).download_blob()
    except ResourceNotFoundError:
        return False
    digest = hashlib.md5(usedforsecurity=False)
    parts: list[bytes] = []
    for chunk in downloader.chunks():
        digest.update(chunk)
        parts.append(chunk)
    data = b"".join(parts)
    settings = downloader.properties.content_settings
    target.get_blob_client(location).upload_blob(
        data,
        overwrite=True,
        content_settings=ContentSettings(
            content_type=settings.content_type or "text/plain",
            content_encoding=settings.content_encoding,
            content_language=settings.content_language,
            content_md5=bytearray(digest.digest()),
        ),
    )
    return True

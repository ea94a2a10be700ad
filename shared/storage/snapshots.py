"""Write-once snapshots of exported projects in blob storage.

A snapshot is named `{project}/{YYYYMMDDTHHMMSSZ}-{hash12}.json` (UTC time, content hash) and
committed with `If-None-Match: *`, so nothing ever overwrites one. Two exports of the same content with
different bytes in the same second (the service's export carries volatile fields) would share that name,
so the second one gets the bytes' sha256 appended: `{...}-{hash12}-{sha12}.json`.

The export is streamed through: it is spooled (bounded memory, then a temporary file) while its sha256
is computed, parsed and validated, then staged to blob in blocks. Reading a snapshot back checks the
sha256 before handing over the last bytes, so a damaged snapshot can never be imported whole.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobProperties, ContainerClient, ContentSettings

from shared.clock import Clock, utc_iso
from shared.errors import ReplicatorError
from shared.language.export_format import ExportedProject, UnsafeExport, parse_export
from shared.language.export_stream import ExportSummary, summarise_export
from shared.names import check_name
from shared.storage.json_blobs import ContainerOnFirstWrite

BLOCK_SIZE = 4 * 1024 * 1024
SPOOL_IN_MEMORY = 1024 * 1024  # beyond it a temporary file: memory must not grow with the export
TIME_FORMAT = "%Y%m%dT%H%M%SZ"


class SnapshotNotFound(ReplicatorError):
    code = "SnapshotNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"no snapshot {name!r}")
        self.name = name


class SnapshotCorrupt(ReplicatorError):
    """The stored bytes do not match the sha256 or size recorded when the snapshot was written."""

    code = "SnapshotCorrupt"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"snapshot {name!r} is damaged: {reason}")
        self.name = name
        self.reason = reason


class SnapshotExists(ReplicatorError):
    """Both names for these bytes are taken by other bytes (write-once refused the write)."""

    code = "SnapshotExists"


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    project: str
    created: datetime
    content_hash: str
    sha256: str
    size: int
    project_kind: str
    source_endpoint: str
    reason: str
    last_modified: str | None = None  # the source project's lastModifiedDateTime at export
    trained_model_label: str | None = None
    documents: int = 0
    labels: int = 0
    # The modelId of the trained model whose data this is, on the resource it was exported from.
    model_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "project": self.project,
            "created": utc_iso(self.created),
            "contentHash": self.content_hash,
            "sha256": self.sha256,
            "size": self.size,
            "projectKind": self.project_kind,
            "sourceEndpoint": self.source_endpoint,
            "reason": self.reason,
            "lastModifiedDateTime": self.last_modified,
            "trainedModelLabel": self.trained_model_label,
            "documents": self.documents,
            "labels": self.labels,
            "modelId": self.model_id,
        }

    def metadata(self) -> dict[str, str]:
        """Blob metadata (names must be C# identifiers; values ASCII)."""
        values = {
            "project": self.project,
            "created": utc_iso(self.created),
            "content_hash": self.content_hash,
            "sha256": self.sha256,
            "size": str(self.size),
            "project_kind": self.project_kind,
            "source_endpoint": self.source_endpoint,
            "reason": self.reason,
            "last_modified": self.last_modified or "",
            "trained_model_label": self.trained_model_label or "",
            "documents": str(self.documents),
            "labels": str(self.labels),
            "model_id": self.model_id or "",
        }
        return {key: value.encode("ascii", "replace").decode() for key, value in values.items()}

    @classmethod
    def from_properties(cls, properties: BlobProperties) -> SnapshotInfo:
        meta = {key.lower(): value for key, value in (properties.metadata or {}).items()}
        return cls(
            name=properties.name,
            project=meta.get("project", properties.name.split("/", 1)[0]),
            created=datetime.fromisoformat(meta["created"].replace("Z", "+00:00")),
            content_hash=meta["content_hash"],
            sha256=meta["sha256"],
            size=int(meta.get("size") or properties.size),
            project_kind=meta.get("project_kind", ""),
            source_endpoint=meta.get("source_endpoint", ""),
            reason=meta.get("reason", ""),
            last_modified=meta.get("last_modified") or None,
            trained_model_label=meta.get("trained_model_label") or None,
            documents=int(meta.get("documents") or 0),
            labels=int(meta.get("labels") or 0),
            model_id=meta.get("model_id") or None,
        )


class SnapshotStore:
    def __init__(self, container_client: ContainerClient, clock: Clock) -> None:
        self._container = container_client
        self._clock = clock
        self._created = ContainerOnFirstWrite(container_client)

    def save_stream(
        self,
        project: str,
        stream: IO[bytes] | Iterable[bytes],
        *,
        source_endpoint: str,
        reason: str,
        last_modified: str | None = None,
        trained_model_label: str | None = None,
        model_id: str | None = None,
    ) -> SnapshotInfo:
        """Validate and store one export; raises `UnsafeExport` (nothing stored) for a bad one.

        Saving the same bytes twice in the same second returns the existing snapshot (a redelivered
        step is harmless); other bytes of the same content in the same second are stored under a name
        that adds their sha256.
        """
        check_name("project", project)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            digest = hashlib.sha256()
            size = 0
            for chunk in _chunks(stream):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            export = summarise_export(spool)  # UnsafeExport propagates: unsafe bytes are never stored
            content_hash = export.content_hash
            sha256 = digest.hexdigest()
            created = self._clock.now().astimezone(UTC).replace(microsecond=0)
            stem = f"{project}/{created.strftime(TIME_FORMAT)}-{content_hash[:12]}"
            info = SnapshotInfo(
                name=f"{stem}.json",
                project=project,
                created=created,
                content_hash=content_hash,
                sha256=sha256,
                size=size,
                project_kind=export.project_kind,
                source_endpoint=source_endpoint,
                reason=reason,
                last_modified=last_modified,
                trained_model_label=trained_model_label,
                model_id=model_id,
                documents=export.document_count,
                labels=export.label_count,
            )
            for name in (info.name, f"{stem}-{sha256[:12]}.json"):
                info = dataclasses.replace(info, name=name)
                spool.seek(0)
                if self._write_once(info, spool):
                    return info
        raise SnapshotExists(f"snapshot {info.name!r} already exists with other bytes")

    def save_bytes(self, project: str, data: bytes, **kwargs: Any) -> SnapshotInfo:
        return self.save_stream(project, io.BytesIO(data), **kwargs)

    def _write_once(self, info: SnapshotInfo, spool: IO[bytes]) -> bool:
        """Commit under `info.name` unless it exists; True when the blob now holds these bytes."""
        self._created.ensure()
        blob = self._container.get_blob_client(info.name)
        blocks: list[BlobBlock] = []
        prefix = uuid.uuid4().hex[:16]
        while chunk := spool.read(BLOCK_SIZE):
            block_id = base64.b64encode(f"{prefix}-{len(blocks):08d}".encode()).decode()
            blob.stage_block(block_id, chunk, length=len(chunk))
            blocks.append(BlobBlock(block_id=block_id))
        try:
            blob.commit_block_list(
                blocks,
                content_settings=ContentSettings(content_type="application/json"),
                metadata=info.metadata(),
                match_condition=MatchConditions.IfMissing,  # If-None-Match: *
            )
        except (ResourceExistsError, ResourceModifiedError):
            return self.get(info.name).sha256 == info.sha256
        return True

    def get(self, name: str) -> SnapshotInfo:
        try:
            properties = self._container.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError:
            raise SnapshotNotFound(name) from None
        try:
            return SnapshotInfo.from_properties(properties)
        except (KeyError, ValueError):
            raise SnapshotCorrupt(name, "its metadata is missing or unreadable") from None

    def list(self, project: str) -> list[SnapshotInfo]:
        """The project's snapshots, newest first."""
        check_name("project", project)
        try:
            blobs = list(self._container.list_blobs(name_starts_with=f"{project}/", include=["metadata"]))
        except ResourceNotFoundError:
            return []
        infos = []
        for properties in blobs:
            with contextlib.suppress(KeyError, ValueError):
                infos.append(SnapshotInfo.from_properties(properties))
        return sorted(infos, key=lambda info: info.name, reverse=True)

    def latest(self, project: str, *, reason: str | None = None) -> SnapshotInfo | None:
        for info in self.list(project):
            if reason is None or info.reason == reason:
                return info
        return None

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[VerifiedReader]:
        """The snapshot's bytes as a stream that raises `SnapshotCorrupt` instead of its last bytes
        when the sha256 or size differs. `len()` of the stream is its size (for Content-Length)."""
        info = self.get(name)
        try:
            downloader = self._container.get_blob_client(name).download_blob()
        except ResourceNotFoundError:
            raise SnapshotNotFound(name) from None
        reader = VerifiedReader(name, downloader.chunks(), info.size, info.sha256)
        try:
            yield reader
        finally:
            reader.close()

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as reader:
            return reader.read()

    def summarise(self, name: str) -> ExportSummary:
        """`validate` without holding the export: what the replication steps need from it, read in one
        pass (a 100,000-document export is never parsed whole)."""
        info = self.get(name)
        with self.open(name) as reader:
            try:
                summary = summarise_export(reader)
            except UnsafeExport as unsafe:
                raise SnapshotCorrupt(name, unsafe.reason) from None
        if summary.content_hash != info.content_hash:
            raise SnapshotCorrupt(name, "its content hash differs from the one recorded")
        return summary

    def validate(self, name: str) -> ExportedProject:
        """Check the bytes (sha256, size) and that they still parse as a safe export; return it."""
        info = self.get(name)
        with self.open(name) as reader:
            try:
                export = parse_export(reader)
            except UnsafeExport as unsafe:
                raise SnapshotCorrupt(name, unsafe.reason) from None
        if export.content_hash() != info.content_hash:
            raise SnapshotCorrupt(name, "its content hash differs from the one recorded")
        return export


class VerifiedReader(io.RawIOBase):
    """Reads chunks, hashing them; the final bytes are released only if the hash and size match."""

    def __init__(self, name: str, chunks: Iterator[bytes], size: int, sha256: str) -> None:
        self._name = name
        self._chunks = chunks
        self._size = size
        self._expected = sha256
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self._received = 0
        self._finished = False

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _fill(self, wanted: int) -> None:
        while not self._finished and (wanted < 0 or len(self._buffer) < wanted):
            chunk = next(self._chunks, None)
            if chunk is None:
                self._finished = True
                self._verify()
                break
            self._digest.update(chunk)
            self._received += len(chunk)
            if self._received > self._size:
                raise SnapshotCorrupt(self._name, "it is longer than recorded")
            self._buffer += chunk
            if self._received == self._size:
                # Check before the last bytes leave, so a consumer never sees a whole bad snapshot.
                self._finished = True
                self._verify()

    def _verify(self) -> None:
        if self._received != self._size:
            raise SnapshotCorrupt(self._name, f"{self._received} bytes read, {self._size} recorded")
        if self._digest.hexdigest() != self._expected:
            raise SnapshotCorrupt(self._name, "sha256 mismatch")

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None or size < 0 else size
        self._fill(wanted)
        if wanted < 0 or wanted >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:wanted])
            del self._buffer[:wanted]  # cheap at the front of a bytearray: no copy of the rest
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _chunks(stream: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(stream, "read"):
        reader: Any = stream
        while chunk := reader.read(BLOCK_SIZE):
            yield bytes(chunk)
    else:
        for chunk in stream:
            if chunk:
                yield bytes(chunk)

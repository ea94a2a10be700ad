"""Store a seed-era (2021-11-01-preview) export as a snapshot, so `restore` can use it like any other.

The file is converted (shared.language.legacy_format), validated like every export, and, when the
documents' container is reachable, every NER span is checked against the documents' texts (the old
format's offset unit is undocumented: a mismatch refuses the file, naming the document). The snapshot's
reason is `legacy-import`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from shared.language.export_format import UnsafeExport, to_bytes
from shared.language.legacy_format import check_spans, convert
from shared.names import check_name
from shared.storage.snapshots import SnapshotInfo, SnapshotStore

LEGACY_IMPORT = "legacy-import"


@dataclass(frozen=True)
class LegacyImport:
    snapshot: SnapshotInfo
    dropped: list[str] = field(default_factory=list)   # what the old file held that is not carried over
    spans_checked: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot.to_json(), "notCarriedOver": self.dropped,
                "spansChecked": self.spans_checked, "warnings": self.warnings}

    def to_text(self) -> str:
        info = self.snapshot
        lines = [f"stored {info.name} ({info.project_kind}, {info.documents} documents, "
                 f"{info.labels} labels; reason {info.reason})",
                 "spans checked against the documents" if self.spans_checked
                 else "spans NOT checked against the documents"]
        lines += [f"not carried over: {item}" for item in self.dropped]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines.append(f"restore it with: python -m shared restore {info.name}")
        return "\n".join(lines)


def import_legacy(data: bytes, *, project: str, source: str, snapshots: SnapshotStore,
                  documents: BlobServiceClient, container: str | None = None) -> LegacyImport:
    """Convert, validate and store one legacy export; raises `UnsafeExport` (nothing stored) when it
    cannot be carried over faithfully."""
    check_name("project", project)
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnsafeExport("the file is not a JSON export") from None
    conversion = convert(body, project=project, container=container)
    warnings: list[str] = []
    where = str(conversion.body["metadata"]["storageInputContainerName"])
    texts = _texts(documents.get_container_client(where), conversion.body) \
        if conversion.project_kind == "CustomEntityRecognition" else None
    if texts is not None:
        check_spans(conversion.body, texts)
    elif conversion.project_kind == "CustomEntityRecognition":
        warnings.append(f"the documents' container {where!r} is not reachable: the spans were not checked "
                        "against the texts (the old format's offset unit is undocumented)")
    info = snapshots.save_bytes(project, to_bytes(conversion.body), source_endpoint=source,
                                reason=LEGACY_IMPORT)
    return LegacyImport(info, conversion.dropped, texts is not None, warnings)


def _texts(container: ContainerClient, body: dict[str, Any]) -> dict[str, str] | None:
    """Each document's text, or None when the container cannot be read at all; a document missing from a
    readable container is left out (check_spans names it)."""
    try:
        if not container.exists():
            return None
    except AzureError:
        return None
    texts = {}
    for document in body["assets"]["documents"]:
        location = document["location"]
        try:
            raw = container.get_blob_client(location).download_blob().readall()
        except ResourceNotFoundError:
            continue
        texts[location] = raw.decode("utf-8")
    return texts


__all__ = ["LEGACY_IMPORT", "LegacyImport", "import_legacy"]

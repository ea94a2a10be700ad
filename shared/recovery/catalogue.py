"""The snapshot catalogue: list a project's snapshots, show one, diff two.

Listing reads blob metadata only (one paged LIST per project); showing and diffing read the snapshot
bytes through `SnapshotStore.validate`, so a damaged snapshot is reported as such, never diffed.
A snapshot is named by its blob name (`Project/20260101T030000Z-0123456789ab.json`) or by any unique
prefix of it, e.g. `Project/20260101T03`; `Project@latest` names the newest one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.errors import InvalidRequest
from shared.language.export_format import ExportedProject, category_keys_of
from shared.language.project_kinds import LabelShape, item_noun_of, project_kind
from shared.names import check_name
from shared.replication.drift import format_age
from shared.storage.snapshots import SnapshotInfo, SnapshotNotFound, SnapshotStore

LATEST = "latest"

# (category, offset, length) for NER, (category,) for classification: one label of one document.
Label = tuple[Any, ...]


@dataclass(frozen=True)
class DocumentChange:
    location: str
    labels_added: tuple[Label, ...] = ()
    labels_removed: tuple[Label, ...] = ()
    other: tuple[str, ...] = ()       # e.g. "dataset Train -> Test"

    def to_json(self) -> dict[str, Any]:
        return {"location": self.location, "labelsAdded": [list(label) for label in self.labels_added],
                "labelsRemoved": [list(label) for label in self.labels_removed], "other": list(self.other)}


@dataclass(frozen=True)
class SnapshotDiff:
    old: SnapshotInfo
    new: SnapshotInfo
    categories_added: tuple[str, ...] = ()
    categories_removed: tuple[str, ...] = ()
    documents_added: tuple[str, ...] = ()
    documents_removed: tuple[str, ...] = ()
    documents_changed: tuple[DocumentChange, ...] = ()
    labels_added: int = 0
    labels_removed: int = 0
    metadata_changed: tuple[str, ...] = field(default=())

    @property
    def identical(self) -> bool:
        return self.old.content_hash == self.new.content_hash

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old.name, "new": self.new.name, "identical": self.identical,
            "categoriesAdded": list(self.categories_added),
            "categoriesRemoved": list(self.categories_removed),
            "documentsAdded": list(self.documents_added), "documentsRemoved": list(self.documents_removed),
            "documentsChanged": [change.to_json() for change in self.documents_changed],
            "labelsAdded": self.labels_added, "labelsRemoved": self.labels_removed,
            "metadataChanged": list(self.metadata_changed),
        }

    def to_text(self) -> str:
        lines = [f"{self.old.name} -> {self.new.name}"]
        if self.identical:
            lines.append("  identical content")
            return "\n".join(lines)
        noun = item_noun_of(self.new.project_kind)   # a CLU project's items are utterances
        lines.append(f"  {noun}s: +{len(self.documents_added)} -{len(self.documents_removed)} "
                     f"~{len(self.documents_changed)}; labels: +{self.labels_added} -{self.labels_removed}")
        for name in self.categories_added:
            lines.append(f"  + category {name}")
        for name in self.categories_removed:
            lines.append(f"  - category {name}")
        for location in self.documents_added:
            lines.append(f"  + {noun} {location}")
        for location in self.documents_removed:
            lines.append(f"  - {noun} {location}")
        for change in self.documents_changed:
            lines.append(f"  ~ {noun} {change.location}")
            lines += [f"      + {_label_text(label)}" for label in change.labels_added]
            lines += [f"      - {_label_text(label)}" for label in change.labels_removed]
            lines += [f"      {text}" for text in change.other]
        for text in self.metadata_changed:
            lines.append(f"  ~ {text}")
        return "\n".join(lines)


class SnapshotCatalogue:
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store

    def list(self, project: str) -> list[SnapshotInfo]:
        """Newest first."""
        return self.store.list(check_name("project", project))

    def resolve(self, reference: str) -> SnapshotInfo:
        """A blob name, a unique prefix of one, or `Project@latest`."""
        reference = reference.strip()
        if "/" not in reference and "@" not in reference:
            raise InvalidRequest(f"{reference[:80]!r} names no snapshot: use Project/<time>-<hash>.json, "
                                 "a unique prefix of it, or Project@latest")
        if reference.endswith(f"@{LATEST}"):
            project = reference[: -len(LATEST) - 1]
            snapshots = self.list(project)
            if not snapshots:
                raise SnapshotNotFound(reference)
            return snapshots[0]
        project = reference.split("/", 1)[0]
        check_name("project", project)
        with_suffix = reference if reference.endswith(".json") else None
        if with_suffix is not None:
            try:
                return self.store.get(with_suffix)
            except SnapshotNotFound:
                pass
        matches = [info for info in self.list(project) if info.name.startswith(reference)]
        if not matches:
            raise SnapshotNotFound(reference)
        if len(matches) > 1:
            raise InvalidRequest(f"{reference!r} matches {len(matches)} snapshots; give more of the name "
                                 f"(e.g. {matches[0].name})")
        return matches[0]

    def show(self, reference: str) -> dict[str, Any]:
        """Everything known about one snapshot; reads and verifies its bytes."""
        info = self.resolve(reference)
        export = self.store.validate(info.name)
        return {**info.to_json(), **export.counts(), "verified": True,
                "categoryNames": sorted(export.categories), "language": export.language,
                "storageInputContainerName": export.container, "datasetSplit": export.has_dataset_split()}

    def diff(self, old_reference: str, new_reference: str) -> SnapshotDiff:
        old_info, new_info = self.resolve(old_reference), self.resolve(new_reference)
        return diff_exports(old_info, self.store.validate(old_info.name),
                            new_info, self.store.validate(new_info.name))


def diff_exports(old_info: SnapshotInfo, old: ExportedProject, new_info: SnapshotInfo,
                 new: ExportedProject) -> SnapshotDiff:
    """What changed from `old` to `new`: categories, documents and their labels, project settings."""
    old_docs = {old.location_of(d): d for d in old.documents}
    new_docs = {new.location_of(d): d for d in new.documents}
    changes = []
    added_labels = removed_labels = 0
    for location in sorted(set(old_docs) & set(new_docs)):
        before, after = _labels(old, old_docs[location]), _labels(new, new_docs[location])
        was, now = old_docs[location], new_docs[location]
        other = [f"{key} {was.get(key)} -> {now.get(key)}"
                 for key in ("dataset", "language") if was.get(key) != now.get(key)]
        if before != after or other:
            change = DocumentChange(location, tuple(sorted(after - before, key=repr)),
                                    tuple(sorted(before - after, key=repr)), tuple(other))
            added_labels += len(change.labels_added)
            removed_labels += len(change.labels_removed)
            changes.append(change)
    for location in set(new_docs) - set(old_docs):
        added_labels += len(_labels(new, new_docs[location]))
    for location in set(old_docs) - set(new_docs):
        removed_labels += len(_labels(old, old_docs[location]))
    old_meta, new_meta = old.normalised()["metadata"], new.normalised()["metadata"]
    metadata = [f"{key}: {old_meta.get(key)!r} -> {new_meta.get(key)!r}"
                for key in sorted((set(old_meta) | set(new_meta)) - {"projectName"})
                if old_meta.get(key) != new_meta.get(key)]
    metadata += _definitions_changed(old, new)
    return SnapshotDiff(
        old=old_info, new=new_info,
        categories_added=tuple(sorted(set(new.categories) - set(old.categories))),
        categories_removed=tuple(sorted(set(old.categories) - set(new.categories))),
        documents_added=tuple(sorted(set(new_docs) - set(old_docs))),
        documents_removed=tuple(sorted(set(old_docs) - set(new_docs))),
        documents_changed=tuple(changes), labels_added=added_labels, labels_removed=removed_labels,
        metadata_changed=tuple(metadata),
    )


def _definitions_changed(old: ExportedProject, new: ExportedProject) -> list[str]:
    """Categories in both whose definition changed: a conversation entity's components (list, prebuilt,
    regex, required components, composition) or an orchestration intent's target."""
    changed = []
    old_assets, new_assets = old.normalised()["assets"], new.normalised()["assets"]
    for key in category_keys_of(new.project_kind):
        before = {str(item["category"]): item for item in old_assets.get(key) or []}
        after = {str(item["category"]): item for item in new_assets.get(key) or []}
        changed += [f"{key} {name}: definition changed" for name in sorted(set(before) & set(after))
                    if before[name] != after[name]]
    return changed


def _labels(export: ExportedProject, document: dict[str, Any]) -> set[Label]:
    kind = project_kind(export.project_kind)
    if kind is not None and kind.labels is LabelShape.UTTERANCES:
        return {("intent", str(document.get("intent"))), *(
            (str(e["category"]), int(e["offset"]), int(e["length"])) for e in document.get("entities") or [])}
    if kind is not None and kind.labels is LabelShape.SPANS:
        return {(str(label["category"]), int(label["offset"]), int(label["length"]))
                for region in document.get("entities") or [] for label in region.get("labels") or []}
    single = document.get("class")
    if isinstance(single, dict):
        return {(str(single.get("category")),)}
    return {(str(item.get("category")),) for item in document.get("classes") or []}


def _label_text(label: Label) -> str:
    if len(label) == 3:
        return f"{label[0]} at {label[1]}+{label[2]}"
    if len(label) == 2:
        return f"{label[0]} {label[1]}"
    return f"class {label[0]}"


def snapshots_text(snapshots: Iterable[SnapshotInfo], now: datetime | None = None) -> str:
    """A table for people: newest first. One project's snapshots share a kind: it names the count column."""
    snapshots = list(snapshots)
    nouns = {item_noun_of(info.project_kind) for info in snapshots}
    items = f"{nouns.pop()}s".upper() if len(nouns) == 1 else "ITEMS"
    rows = [("NAME", "AGE" if now is not None else "CREATED", "SIZE", items, "LABELS", "MODEL", "SOURCE",
             "REASON", "SHA256")]
    for info in snapshots:
        when = format_age(now - info.created) if now is not None else info.created.isoformat()
        rows.append((info.name, when, str(info.size), str(info.documents), str(info.labels),
                     info.trained_model_label or "-", info.source_endpoint, info.reason, info.sha256[:12]))
    if len(rows) == 1:
        return "no snapshots"
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)

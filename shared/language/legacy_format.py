"""Seed-era exports: the retired 2021-11-01-preview project format, converted to the current one.

People who followed the 2022 backup recipe by hand kept exports in this format (`metadata.name`,
`modelType`, `assets.extractors`/`classifiers`, `extractorName`/`classifierName`); its api-version is
retired, so no service imports them today. The rules, and what cannot be carried over, are in
docs/how-to/import-legacy-exports.md. The old format's offset unit is undocumented: `check_spans`
validates every span against the documents' texts and refuses on any doubt, naming the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.language.export_format import UnsafeExport, validate_export

LEGACY_API_VERSION = "2021-11-01-preview"
PROJECT_FILE_VERSION = "2022-05-01"
STRING_INDEX_TYPE = "Utf16CodeUnit"
# modelType (compared without letter case) -> the current projectKind.
MODEL_TYPES: dict[str, str] = {
    "extraction": "CustomEntityRecognition",
    "singleclassification": "CustomSingleLabelClassification",
    "multiclassification": "CustomMultiLabelClassification",
}
_METADATA_KEYS = {"name", "multiLingual", "description", "modelType", "language",
                  "storageInputContainerName", "settings"}
_DOCUMENT_KEYS = {"location", "language", "dataset", "extractors", "classifiers"}


@dataclass
class Conversion:
    """The current-format body, and what the old file held that it does not carry over."""

    body: dict[str, Any]
    dropped: list[str] = field(default_factory=list)

    @property
    def project_kind(self) -> str:
        return str(self.body["metadata"]["projectKind"])


def is_legacy(body: Any) -> bool:
    """A 2021-11-01-preview export: `metadata.modelType`, no `projectFileVersion`."""
    return (isinstance(body, dict) and "projectFileVersion" not in body
            and isinstance(body.get("metadata"), dict) and "modelType" in body["metadata"])


def convert(body: Any, *, project: str, container: str | None = None) -> Conversion:
    """The current-format export of a legacy one, under `project` (and `container` when given);
    raises `UnsafeExport` for what cannot be converted faithfully."""
    if not is_legacy(body):
        raise UnsafeExport(f"not a {LEGACY_API_VERSION} export (metadata.modelType is missing)")
    metadata, assets = body["metadata"], body.get("assets")
    kind = MODEL_TYPES.get(str(metadata.get("modelType", "")).lower())
    if kind is None:
        raise UnsafeExport(f"metadata.modelType {metadata.get('modelType')!r} is not Extraction, "
                           "singleClassification or multiClassification")
    if not isinstance(assets, dict):
        raise UnsafeExport("the export has no assets (nothing to import)")
    dropped = [f"{key} (top level)" for key in sorted(set(body) - {"metadata", "assets", "api-version"})]
    dropped += [f"metadata.{key}" for key in sorted(set(metadata) - _METADATA_KEYS)]
    if metadata.get("settings"):
        dropped.append("metadata.settings (the old project's settings have no current equivalent)")
    language = str(metadata.get("language") or "en")
    where = container or metadata.get("storageInputContainerName")
    if not isinstance(where, str) or not where:
        raise UnsafeExport("metadata.storageInputContainerName is missing: give --container")
    entity = kind == "CustomEntityRecognition"
    categories_key, label_key = (("extractors", "extractorName") if entity
                                 else ("classifiers", "classifierName"))
    categories = [_name(item, f"assets.{categories_key}") for item in assets.get(categories_key) or []]
    dropped += [f"assets.{key}" for key in sorted(set(assets) - {categories_key, "documents"})]
    documents = []
    for index, document in enumerate(assets.get("documents") or []):
        if not isinstance(document, dict):
            raise UnsafeExport(f"assets.documents[{index}] is not an object")
        location = str(document.get("location", ""))
        converted: dict[str, Any] = {"location": location,
                                     "language": str(document.get("language") or language)}
        dataset = _dataset(document.get("dataset"), location)
        if dataset:
            converted["dataset"] = dataset
        dropped += [f"document {location}: {key}" for key in sorted(set(document) - _DOCUMENT_KEYS)]
        if entity:
            converted["entities"] = [_region(region, location) for region in document.get("extractors") or []]
        else:
            names = [_label(item, label_key, location) for item in document.get("classifiers") or []]
            if kind == "CustomSingleLabelClassification":
                if len(names) > 1:
                    raise UnsafeExport(
                        f"document {location!r} has {len(names)} classes in a single-label project")
                if names:
                    converted["class"] = {"category": names[0]}
            else:
                converted["classes"] = [{"category": name} for name in names]
        documents.append(converted)
    current = {
        "projectFileVersion": PROJECT_FILE_VERSION,
        "stringIndexType": STRING_INDEX_TYPE,
        "metadata": {
            "projectKind": kind, "storageInputContainerName": where, "settings": {},
            "projectName": project, "multilingual": bool(metadata.get("multiLingual", False)),
            "description": str(metadata.get("description") or ""), "language": language,
        },
        "assets": {"projectKind": kind, ("entities" if entity else "classes"):
                   [{"category": name} for name in categories], "documents": documents},
    }
    validate_export(current)
    return Conversion(current, dropped)


def check_spans(body: Mapping[str, Any], texts: Mapping[str, str]) -> None:
    """Every region and label of a converted NER export lies within its document, read in UTF-16 code
    units (the current format's unit). The old unit is undocumented, so where the two readings differ (a
    character outside the BMP comes earlier) a label must also read as UTF-16 plausibly: it may not cut
    a character in two, nor start or end with white space. Raises `UnsafeExport` naming the document."""
    for document in body["assets"]["documents"]:
        location = document["location"]
        if location not in texts:
            raise UnsafeExport(
                f"document {location!r} is not in the container: its offsets cannot be checked")
        units = texts[location].encode("utf-16-le")
        size = len(units) // 2
        for region in document.get("entities") or []:
            spans = [(region["regionOffset"], region["regionLength"], "region")]
            spans += [(label["offset"], label["length"], f"label {label['category']!r}")
                      for label in region["labels"]]
            for offset, length, what in spans:
                end = offset + length
                if offset < 0 or length < 0 or end > size:
                    raise UnsafeExport(f"document {location!r}: {what} at {offset}+{length} lies outside the "
                                       f"document ({size} UTF-16 code units): refusing to import")
                if what == "region":
                    continue
                try:
                    span = units[2 * offset:2 * end].decode("utf-16-le")
                except UnicodeDecodeError:
                    span = ""
                ambiguous = len(units[:2 * end].decode("utf-16-le", errors="replace")) != end
                if ambiguous and (not span or span != span.strip()):
                    raise UnsafeExport(
                        f"document {location!r}: {what} at {offset}+{length} does not read as a whole span "
                        "in UTF-16 code units after a character that counts twice there; the old format's "
                        "offset unit is undocumented, so it may mean code points: refusing to import")


def _name(item: Any, where: str) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise UnsafeExport(f"{where} has an item without a name")
    return str(item["name"])


def _label(item: Any, key: str, location: str) -> str:
    if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
        raise UnsafeExport(f"document {location!r}: a label has no {key}")
    return str(item[key])


def _dataset(value: Any, location: str) -> str | None:
    if value in (None, ""):
        return None
    named = {"train": "Train", "test": "Test"}.get(str(value).lower())
    if named is None:
        raise UnsafeExport(f"document {location!r} has dataset {value!r}, not Train or Test")
    return named


def _region(region: Any, location: str) -> dict[str, Any]:
    if not isinstance(region, dict):
        raise UnsafeExport(f"document {location!r}: a region is not an object")
    labels = []
    for label in region.get("labels") or []:
        if not (isinstance(label, dict) and _is_int(label.get("offset")) and _is_int(label.get("length"))):
            raise UnsafeExport(f"document {location!r}: a label has no integer offset and length")
        labels.append({"category": _label(label, "extractorName", location), "offset": label["offset"],
                       "length": label["length"]})
    offset, length = region.get("regionOffset", 0), region.get("regionLength")
    if not _is_int(offset) or not _is_int(length):
        raise UnsafeExport(f"document {location!r}: a region has no integer regionOffset and regionLength")
    return {"regionOffset": offset, "regionLength": length, "labels": labels}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["LEGACY_API_VERSION", "Conversion", "check_spans", "convert", "is_legacy"]

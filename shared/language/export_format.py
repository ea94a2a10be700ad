"""The exported-project format (`ExportedProject`): parse, check it is safe to import, and hash it.

An export names its documents but carries no text, so the content hash covers labels and metadata;
document text is tracked separately (shared.storage.documents.container_fingerprint).

Conversation projects (CLU, orchestration) carry their utterances inline in `assets.utterances` instead
of naming documents in a container: here an utterance plays a document's part (its text is its
"location", its identity), and `assets.intents` and `assets.entities` (with their components) are its
declared categories. They have no `storageInputContainerName`.

Project kinds are compared case-insensitively and normalised to the service's PascalCase: Microsoft's
own multi-label sample has `customMultiLabelClassification` in its assets, and refusing the official
sample would help nobody. Draft-era names (e.g. `customNamedEntityRecognition`) are still refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeGuard

from shared.errors import UnsafeImport
from shared.language.project_kinds import LabelShape, project_kind

STRING_INDEX_TYPE = "Utf16CodeUnit"
_REQUIRED_METADATA = ("projectKind", "projectName", "language")
CONTAINER_KEY = "storageInputContainerName"
HASH_SPOOL_IN_MEMORY = 1024 * 1024


class SupportsRead(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class UnsafeExport(UnsafeImport):
    """This export must not be imported anywhere; `reason` says why."""

    code = "UnsafeExport"

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsafe export: {reason}")
        self.reason = reason


def canonical_kind(kind: object) -> str | None:
    """The service's spelling of a project kind, or None when it is not one we replicate."""
    return project_kind(kind)


def _labels(kind: str) -> LabelShape | None:
    known = project_kind(kind)
    return known.labels if known is not None else None


def has_container(kind: str) -> bool:
    """Whether the kind's documents live in a blob container (conversation kinds carry utterances)."""
    known = project_kind(kind)
    return known.has_documents_container if known is not None else True


def documents_key_of(kind: str) -> str:
    """The assets key listing the kind's documents: `documents`, or `utterances` for conversations."""
    return "utterances" if _labels(kind) is LabelShape.UTTERANCES else "documents"


def location_of(kind: str, document: dict[str, Any]) -> str:
    """A document's identity: its blob name, or an utterance's text."""
    return str(document["text"] if _labels(kind) is LabelShape.UTTERANCES else document["location"])


@dataclass(frozen=True)
class ExportedProject:
    """A parsed, validated export. Build it with `parse_export`."""

    raw: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.raw["metadata"])

    @property
    def assets(self) -> dict[str, Any]:
        return dict(self.raw["assets"])

    @property
    def project_kind(self) -> str:
        kind = canonical_kind(self.raw["metadata"]["projectKind"])
        assert kind is not None
        return kind

    @property
    def project_name(self) -> str:
        return str(self.raw["metadata"]["projectName"])

    @property
    def container(self) -> str:
        """The documents container; "" for conversation projects (utterances travel inline)."""
        return str(self.raw["metadata"].get(CONTAINER_KEY) or "")

    @property
    def language(self) -> str:
        return str(self.raw["metadata"]["language"])

    @property
    def documents(self) -> list[dict[str, Any]]:
        """The documents, or a conversation project's utterances."""
        return list(self.raw["assets"][documents_key_of(self.project_kind)])

    def location_of(self, document: dict[str, Any]) -> str:
        return location_of(self.project_kind, document)

    def document_locations(self) -> list[str]:
        return [self.location_of(document) for document in self.documents]

    @property
    def document_count(self) -> int:
        return len(self.documents)

    @property
    def categories(self) -> list[str]:
        """Declared categories: entities or classes; a conversation project's intents, then entities."""
        return [str(item["category"]) for key in category_keys_of(self.project_kind)
                for item in self.raw["assets"].get(key) or []]

    @property
    def category_count(self) -> int:
        return len(self.categories)

    @property
    def label_count(self) -> int:
        """NER: labelled spans; classification: document-class assignments."""
        kind = self.project_kind
        return sum(document_label_count(kind, document) for document in self.documents)

    def has_dataset_split(self) -> bool:
        """Every document says Train or Test, so training can use a manual (deterministic) split."""
        return all(document.get("dataset") in ("Train", "Test") for document in self.documents)

    def counts(self) -> dict[str, int]:
        return {
            "documents": self.document_count,
            "labels": self.label_count,
            "categories": self.category_count,
        }

    def normalised(self) -> dict[str, Any]:
        """The content that matters, in a canonical order (what `content_hash` hashes)."""
        kind = self.project_kind
        return {
            "stringIndexType": STRING_INDEX_TYPE,
            "metadata": normalised_metadata(self.raw["metadata"], kind),
            "assets": {
                "projectKind": kind,
                **{key: normalised_categories(self.raw["assets"].get(key)) for key in category_keys_of(kind)},
                documents_key_of(kind): sorted(
                    (normalised_document(kind, document) for document in self.documents),
                    key=lambda document: location_of(kind, document),
                ),
            },
        }

    def content_hash(self) -> str:
        """sha256 (hex) over `normalised()`: equal for equal content, whatever the order or container."""
        kind = self.project_kind
        hasher = ContentHasher(kind, self.raw["metadata"], self.raw["assets"])
        for document in self.documents:
            hasher.add_document(document)
        return hasher.hexdigest()

    def with_container(self, container: str) -> bytes:
        """The import body for a target whose documents live in `container` (kinds in canonical case)."""
        body = copy.deepcopy(self.raw)
        if has_container(self.project_kind):
            body["metadata"][CONTAINER_KEY] = container
        body["metadata"]["projectKind"] = self.project_kind
        body["assets"]["projectKind"] = self.project_kind
        return to_bytes(body)

    def to_bytes(self) -> bytes:
        return to_bytes(self.raw)


def to_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_export(data: bytes | str | IO[bytes] | SupportsRead) -> ExportedProject:
    """Parse and validate an export; raises `UnsafeExport` with the first problem found."""
    if not isinstance(data, bytes | str):
        data = data.read()
    if isinstance(data, bytes):
        if not data.strip():
            raise UnsafeExport("the export is empty")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnsafeExport("the export is not UTF-8") from None
    else:
        text = data
    if not text.strip():
        raise UnsafeExport("the export is empty")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnsafeExport(f"the export is not valid JSON ({error.msg} at line {error.lineno})") from None
    validate_export(body)
    return ExportedProject(body)


def validate_export(body: Any) -> None:
    categories = check_header(body)
    kind = canonical_kind(body["metadata"]["projectKind"])
    assert kind is not None
    documents = body["assets"].get(documents_key_of(kind))
    if not isinstance(documents, list) or not documents:
        raise UnsafeExport(f"the export has no {documents_key_of(kind)}")
    seen: set[str] = set()
    for index, document in enumerate(documents):
        check_document(kind, document, index, categories, seen)


def check_header(body: Any) -> set[str]:
    """Everything but the documents (`assets.documents` is not looked at); returns the declared categories."""
    if not isinstance(body, dict):
        raise UnsafeExport("the export is not a JSON object")
    if "project-file-version" in body:
        raise UnsafeExport("draft-era format (project-file-version) is not an ExportedProject")
    if not isinstance(body.get("projectFileVersion"), str) or not body["projectFileVersion"]:
        raise UnsafeExport("projectFileVersion is missing")
    if body.get("stringIndexType") != STRING_INDEX_TYPE:
        raise UnsafeExport(
            f"stringIndexType is {body.get('stringIndexType')!r}, expected {STRING_INDEX_TYPE!r}"
        )
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise UnsafeExport("metadata is missing")
    for key in _REQUIRED_METADATA:
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise UnsafeExport(f"metadata.{key} is missing")
    kind = canonical_kind(metadata["projectKind"])
    if kind is None:
        raise UnsafeExport(
            f"metadata.projectKind {metadata['projectKind']!r} is not a supported project kind"
        )
    container = metadata.get(CONTAINER_KEY)
    if has_container(kind) and (not isinstance(container, str) or not container):
        raise UnsafeExport(f"metadata.{CONTAINER_KEY} is missing")
    assets = body.get("assets")
    if not isinstance(assets, dict):
        raise UnsafeExport("the export has no assets (nothing to import)")
    if canonical_kind(assets.get("projectKind")) != kind:
        raise UnsafeExport(
            f"project kind mismatch: metadata says {metadata['projectKind']!r}, "
            f"assets say {assets.get('projectKind')!r}"
        )
    declared: set[str] = set()
    for key in category_keys_of(kind):
        declared |= declared_categories(assets.get(key), key)
    return declared


def check_document(
    kind: str, document: Any, index: int, categories: set[str] | None, seen: set[str]
) -> set[str]:
    """Check one entry of `assets.documents` and add its location to `seen`. With `categories` None (not
    declared yet: an export that lists its documents first), the categories it uses are returned instead
    of checked."""
    if _labels(kind) is LabelShape.UTTERANCES:
        return _check_utterance(document, index, categories)
    where = f"assets.documents[{index}]"
    if not isinstance(document, dict):
        raise UnsafeExport(f"{where} is not an object")
    location = document.get("location")
    if not isinstance(location, str) or not location.strip():
        raise UnsafeExport(f"{where}.location is missing")
    if location.startswith("/") or ".." in location.split("/"):
        raise UnsafeExport(f"{where}.location {location!r} is not a blob name in the container")
    if location in seen:
        raise UnsafeExport(f"document {location!r} is listed twice")
    seen.add(location)
    if not isinstance(document.get("language"), str) or not document["language"]:
        raise UnsafeExport(f"{where} ({location}) has no language")
    if document.get("dataset") not in (None, "Train", "Test"):
        raise UnsafeExport(f"{where} ({location}) has dataset {document['dataset']!r}, not Train or Test")
    used: set[str] = set()
    _check_document_labels(kind, document, categories, location, used)
    return used


def _check_utterance(utterance: Any, index: int, categories: set[str] | None) -> set[str]:
    """One entry of a conversation project's `assets.utterances`: text, intent, dataset, entity spans."""
    where = f"assets.utterances[{index}]"
    if not isinstance(utterance, dict):
        raise UnsafeExport(f"{where} is not an object")
    text = utterance.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UnsafeExport(f"{where}.text is missing")
    if utterance.get("language") is not None and not isinstance(utterance["language"], str):
        raise UnsafeExport(f"{where}.language is not a string")
    if utterance.get("dataset") not in (None, "Train", "Test"):
        raise UnsafeExport(f"{where} has dataset {utterance['dataset']!r}, not Train or Test")
    used: set[str] = set()

    def check_category(category: Any) -> None:
        if not isinstance(category, str) or (categories is not None and category not in categories):
            raise UnsafeExport(f"{where} uses undeclared intent or entity {category!r}")
        used.add(category)

    check_category(utterance.get("intent"))
    entities = utterance.get("entities") or []
    if not isinstance(entities, list):
        raise UnsafeExport(f"{where}.entities is not a list")
    length_of_text = len(text.encode("utf-16-le")) // 2   # labels count UTF-16 code units
    for entity in entities:
        if not isinstance(entity, dict):
            raise UnsafeExport(f"{where}: an entity label is not an object")
        check_category(entity.get("category"))
        offset, length = entity.get("offset"), entity.get("length")
        if not (_is_int(offset) and _is_int(length) and offset >= 0 and length > 0
                and offset + length <= length_of_text):
            raise UnsafeExport(f"{where}: entity {entity.get('category')!r} has a bad span")
    return used if categories is None else set()


def undeclared_category(location: str, category: str) -> UnsafeExport:
    return UnsafeExport(f"document {location!r} uses undeclared category {category!r}")


def declared_categories(items: Any, key: str) -> set[str]:
    if items is None:
        return set()
    if not isinstance(items, list):
        raise UnsafeExport(f"assets.{key} is not a list")
    names: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("category"), str) or not item["category"]:
            raise UnsafeExport(f"assets.{key} has an item without a category")
        names.add(item["category"])
    return names


def _check_document_labels(
    kind: str, document: dict[str, Any], categories: set[str] | None, location: str, used: set[str]
) -> None:
    def check_category(category: Any) -> None:
        if not isinstance(category, str) or (categories is not None and category not in categories):
            raise undeclared_category(location, category)
        if categories is None:
            used.add(category)

    if _labels(kind) is LabelShape.SPANS:
        regions = document.get("entities") or []
        if not isinstance(regions, list):
            raise UnsafeExport(f"document {location!r}: entities is not a list")
        for region in regions:
            labels = region.get("labels") if isinstance(region, dict) else None
            if not isinstance(labels, list):
                raise UnsafeExport(f"document {location!r}: a region has no labels list")
            for label in labels:
                if not isinstance(label, dict):
                    raise UnsafeExport(f"document {location!r}: a label is not an object")
                check_category(label.get("category"))
                offset, length = label.get("offset"), label.get("length")
                if not (_is_int(offset) and _is_int(length) and offset >= 0 and length > 0):
                    raise UnsafeExport(
                        f"document {location!r}: label {label.get('category')!r} has a bad span"
                    )
    elif _labels(kind) is LabelShape.SINGLE_CLASS:
        label = document.get("class")
        if label is not None:
            if not isinstance(label, dict):
                raise UnsafeExport(f"document {location!r}: class is not an object")
            check_category(label.get("category"))
    else:
        labels = document.get("classes") or []
        if not isinstance(labels, list):
            raise UnsafeExport(f"document {location!r}: classes is not a list")
        for label in labels:
            check_category(label.get("category") if isinstance(label, dict) else None)


def category_key_of(kind: str) -> str:
    """The assets key of the kind's main categories (conversations: intents)."""
    return category_keys_of(kind)[0]


def category_keys_of(kind: str) -> tuple[str, ...]:
    """Every assets key declaring categories: conversation projects declare intents and entities."""
    labels = _labels(kind)
    if labels is LabelShape.UTTERANCES:
        return ("intents", "entities")
    return ("entities",) if labels is LabelShape.SPANS else ("classes",)


def document_label_count(kind: str, document: dict[str, Any]) -> int:
    """NER: labelled spans; classification: document-class assignments; an utterance: its intent and its
    entity spans."""
    if _labels(kind) is LabelShape.UTTERANCES:
        return (1 if document.get("intent") else 0) + len(document.get("entities") or [])
    if _labels(kind) is LabelShape.SPANS:
        return sum(len(region.get("labels") or []) for region in document.get("entities") or [])
    if _labels(kind) is LabelShape.SINGLE_CLASS:
        return 1 if isinstance(document.get("class"), dict) else 0
    return len(document.get("classes") or [])


def normalised_metadata(metadata: dict[str, Any], kind: str) -> dict[str, Any]:
    result = {k: v for k, v in metadata.items() if k != CONTAINER_KEY}
    result["projectKind"] = kind
    result.setdefault("multilingual", False)
    result.setdefault("description", "")
    result.setdefault("settings", {})
    return result


def normalised_categories(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return sorted((dict(item) for item in items or []), key=lambda item: str(item["category"]))


def normalised_document(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    result = dict(document)
    if _labels(kind) is LabelShape.UTTERANCES:
        result["entities"] = sorted(
            (dict(entity) for entity in document.get("entities") or []),
            key=lambda entity: (entity["offset"], entity["length"], str(entity["category"])),
        )
    elif _labels(kind) is LabelShape.SPANS:
        regions = []
        for region in document.get("entities") or []:
            labels = sorted(
                (dict(label) for label in region.get("labels") or []),
                key=lambda label: (label["offset"], label["length"], str(label["category"])),
            )
            regions.append({**region, "labels": labels})
        result["entities"] = sorted(
            regions, key=lambda r: (r.get("regionOffset", 0), r.get("regionLength", 0))
        )
    elif _labels(kind) is LabelShape.MULTI_CLASS:
        result["classes"] = sorted(
            (dict(item) for item in document.get("classes") or []), key=lambda item: str(item["category"])
        )
    return result


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ContentHasher:
    """The content hash of an export, fed one document at a time.

    The hash is sha256 over the canonical JSON of the normalised export, documents sorted by location.
    Documents arrive in the export's order, so each one's canonical JSON is spooled (memory up to a
    bound, then a temporary file) and the digest is taken in location order at the end: memory is a
    location and an offset per document, not a normalised copy of the export.
    """

    def __init__(self, kind: str, metadata: dict[str, Any], assets: dict[str, Any]) -> None:
        self.kind = kind
        self._metadata = normalised_metadata(metadata, kind)
        self._categories: dict[str, list[dict[str, Any]]] = {}
        self.set_categories(assets)
        self._spool = tempfile.SpooledTemporaryFile(max_size=HASH_SPOOL_IN_MEMORY)  # noqa: SIM115
        self._locations: list[str] = []
        self._ends = array("q")

    def set_categories(self, assets: dict[str, Any]) -> None:
        """The declared categories, from the export's assets (again, once they are all known)."""
        self._categories = {key: normalised_categories(assets.get(key) if isinstance(assets.get(key), list)
                                                       else None)
                            for key in category_keys_of(self.kind)}

    def add_document(self, document: dict[str, Any]) -> None:
        self._locations.append(location_of(self.kind, document))
        self._spool.write(canonical_json(normalised_document(self.kind, document)).encode("utf-8"))
        self._ends.append(self._spool.tell())

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        # Keys in sorted order, as json.dumps(sort_keys=True) would write the whole normalised export.
        documents = documents_key_of(self.kind)
        assets: dict[str, Any] = {"projectKind": self.kind, **self._categories, documents: None}
        digest.update(b'{"assets":{')
        for position, key in enumerate(sorted(assets)):
            digest.update(b"," if position else b"")
            digest.update(f"{canonical_json(key)}:".encode())
            if key == documents:
                self._update_with_documents(digest)
            else:
                digest.update(canonical_json(assets[key]).encode("utf-8"))
        digest.update(b'},"metadata":')
        digest.update(canonical_json(self._metadata).encode("utf-8"))
        digest.update(f',"stringIndexType":{canonical_json(STRING_INDEX_TYPE)}}}'.encode())
        self._spool.close()
        return digest.hexdigest()

    def _update_with_documents(self, digest: Any) -> None:
        digest.update(b"[")
        order = sorted(range(len(self._locations)), key=self._locations.__getitem__)
        for position, index in enumerate(order):
            start = self._ends[index - 1] if index else 0
            self._spool.seek(start)
            digest.update(b"," if position else b"")
            digest.update(self._spool.read(self._ends[index] - start))
        digest.update(b"]")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def locations_of(projects: Iterable[ExportedProject]) -> list[str]:
    """Every document location named by several exports, each once, in first-seen order."""
    return list(dict.fromkeys(location for project in projects for location in project.document_locations()))

"""An export read as a stream: validated, counted and hashed, or rewritten for another container, in one
pass and without holding it.

A 100,000-document export is about 72 MiB of JSON and about five times that parsed whole, so the
replication steps never parse one whole: `summarise_export` keeps what they need (the header, each
document's location and language, the counts, the content hash) and `write_import_body` copies the
export to a file with its container replaced, one document at a time. Both give the same answers as
`parse_export` (the checks and the hash are shared with it), whatever order the export's keys come in:
the service writes `metadata` before `assets` and the categories before the documents, and when an
export does not, the documents seen before their project kind wait in memory until it is known.
"""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import IO, Any

import ijson  # type: ignore[import-untyped]
from ijson.common import ObjectBuilder  # type: ignore[import-untyped]

from shared.language.export_format import (
    CONTAINER_KEY,
    ContentHasher,
    SupportsRead,
    UnsafeExport,
    canonical_kind,
    category_keys_of,
    check_document,
    check_header,
    declared_categories,
    document_label_count,
    documents_key_of,
    has_container,
    location_of,
    undeclared_category,
)

_BOM = b"\xef\xbb\xbf"
# The C parser turns a whole read into events at once (about 16 times the bytes): reads stay small.
_READ_SIZE = 16 * 1024
_DOCUMENTS = object()  # stands in for assets.documents when the header is checked on its own
# The assets keys that list documents: text projects' documents, conversation projects' utterances.
_DOCUMENT_LISTS = ("documents", "utterances")


@dataclass(frozen=True)
class ExportSummary:
    """What the replication steps need from an export, without its documents' labels."""

    project_kind: str
    project_name: str
    container: str   # "" for conversation projects (their utterances travel inside the export)
    language: str
    metadata_kind: str  # projectKind as written in metadata and in assets (the case may differ)
    assets_kind: str
    categories: tuple[str, ...]
    label_count: int
    has_dataset_split: bool
    content_hash: str
    locations: list[str] = field(repr=False)   # blob names; a conversation project's utterance texts
    languages: list[str] = field(repr=False)  # each document's, in the order of `locations`

    @property
    def document_count(self) -> int:
        return len(self.locations)

    @property
    def category_count(self) -> int:
        return len(self.categories)

    def document_locations(self) -> list[str]:
        return list(self.locations)

    def counts(self) -> dict[str, int]:
        return {
            "documents": self.document_count,
            "labels": self.label_count,
            "categories": self.category_count,
        }

    def imports_as_is(self, container: str) -> bool:
        """True when the bytes can be imported into a target whose documents live in `container`."""
        same_place = self.container == container or not has_container(self.project_kind)
        return same_place and self.metadata_kind == self.assets_kind == self.project_kind


def summarise_export(data: bytes | IO[bytes] | SupportsRead) -> ExportSummary:
    """Validate, count and hash an export read once from `data`; raises `UnsafeExport` like `parse_export`."""
    scan = _Scan()
    for piece, key, value in _pieces(data):
        scan.take(piece, key, value)
    return scan.finish()


def write_import_body(data: bytes | IO[bytes] | SupportsRead, container: str, out: IO[bytes], *,
                      test_set: AbstractSet[str] | None = None) -> int:
    """Write the export to `out` with `storageInputContainerName` set to `container` and the project kind
    in the service's case, byte for byte what `ExportedProject.with_container` returns; the bytes written.

    With `test_set` (document locations), every document's `dataset` is rewritten: `Test` for those
    locations, `Train` for the rest, so a manual split reproduces a split drawn elsewhere."""
    written = 0

    def emit(text: str) -> None:
        nonlocal written
        chunk = text.encode("utf-8")
        out.write(chunk)
        written += len(chunk)

    first_key = first_asset = first_document = True
    for piece, key, value in _pieces(data):
        if piece == "root":
            raise UnsafeExport("the export is not a JSON object")
        if piece in ("top", "assets_start"):
            emit(("{" if first_key else ",") + _dumps(key) + ":")
            first_key = False
        if piece == "top":
            if key == "metadata" and isinstance(value, dict):
                kind = canonical_kind(value.get("projectKind"))
                if kind is None or has_container(kind):
                    value = {**value, CONTAINER_KEY: container}
                value = {**value, "projectKind": kind or value.get("projectKind")}
            emit(_dumps(value))
        elif piece == "assets_start":
            emit("{")
        elif piece in ("asset", "documents_start"):
            emit(("" if first_asset else ",") + _dumps(key) + ":")
            first_asset = False
            if piece == "asset":
                emit(_dumps(canonical_kind(value) or value if key == "projectKind" else value))
            else:
                emit("[")
        elif piece == "document":
            if test_set is not None and isinstance(value, dict):
                value = {**value, "dataset": "Test" if value.get("location") in test_set else "Train"}
            emit(("" if first_document else ",") + _dumps(value))
            first_document = False
        elif piece == "documents_end":
            emit("]")
        elif piece == "assets_end":
            emit("}")
    emit("{}" if first_key else "}")
    return written


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Scan:
    """Consumes the pieces of one export; `finish` checks the header first, as `validate_export` does."""

    def __init__(self) -> None:
        self.root: Any = None  # set when the export is JSON but not an object
        self.top: dict[str, Any] = {}
        self.assets: dict[str, Any] | None = None
        self.documents_listed = False
        self.documents_key = "documents"
        self.hasher: ContentHasher | None = None
        self.categories: set[str] | None = None
        self.language = ""  # the project's, for utterances that name none
        self.waiting: list[Any] = []  # documents seen before the project kind (not the service's order)
        self.used: dict[str, str] = {}  # category -> first location, while the categories are not known
        self.seen: set[str] = set()
        self.locations: list[str] = []
        self.languages: list[str] = []
        self.labels = 0
        self.split = True
        self.error: UnsafeExport | None = None  # the first document's problem, raised after the header's

    def take(self, piece: str, key: Any, value: Any) -> None:
        if piece == "root":
            self.root = value
        elif piece == "top":
            self.top[key] = value
        elif piece == "assets_start":
            self.assets = {}
        elif piece == "asset":
            assert self.assets is not None
            self.assets[key] = value
        elif piece == "documents_start":
            self.documents_listed = True
            self.documents_key = key
        elif piece == "document":
            if self._ready():
                self._document(value)
            else:
                self.waiting.append(value)

    def _kind(self) -> str | None:
        metadata = self.top.get("metadata")
        written = (self.assets or {}).get("projectKind")
        if written is None and isinstance(metadata, dict):
            written = metadata.get("projectKind")
        return canonical_kind(written)

    def _ready(self) -> bool:
        """Documents can be checked and hashed once the kind, metadata and categories are known."""
        if self.hasher is not None:
            return True
        kind = self._kind()
        metadata = self.top.get("metadata")
        if kind is None or not isinstance(metadata, dict) or self.assets is None:
            return False
        keys = category_keys_of(kind)
        if all(key in self.assets for key in keys):
            try:
                declared: set[str] = set()
                for key in keys:
                    declared |= declared_categories(self.assets.get(key), key)
                self.categories = declared
            except UnsafeExport:
                pass  # raised by the header check in finish()
        self.language = str(metadata.get("language") or "")
        # The categories are hashed in finish(), once every asset is known.
        self.hasher = ContentHasher(kind, metadata, {})
        for document in self.waiting:
            self._document(document)
        self.waiting.clear()
        return True

    def _document(self, document: Any) -> None:
        if self.error is not None:
            return
        assert self.hasher is not None
        kind = self.hasher.kind
        try:
            used = check_document(kind, document, len(self.locations), self.categories, self.seen)
        except UnsafeExport as unsafe:
            self.error = unsafe
            return
        location = location_of(kind, document)
        for category in used:
            self.used.setdefault(category, location)
        self.locations.append(location)
        # Few distinct values: interned, each document's costs a pointer. An utterance without a language
        # is in the project's.
        self.languages.append(sys.intern(str(document.get("language") or self.language)))
        self.labels += document_label_count(kind, document)
        self.split = self.split and document.get("dataset") in ("Train", "Test")
        self.hasher.add_document(document)

    def finish(self) -> ExportSummary:
        body: Any = dict(self.top) if self.root is None else self.root
        if self.assets is not None:
            body["assets"] = {**self.assets, self.documents_key: _DOCUMENTS}
        categories = check_header(body)
        self._ready()
        if self.error is not None:
            raise self.error
        assert self.hasher is not None
        expected = documents_key_of(self.hasher.kind)
        if not self.documents_listed or not self.locations or self.documents_key != expected:
            raise UnsafeExport(f"the export has no {expected}")
        for category, location in self.used.items():
            if category not in categories:
                raise undeclared_category(location, category)
        assert self.assets is not None
        # Whatever order they came in, the hash covers every declared category.
        self.hasher.set_categories(self.assets)
        metadata = body["metadata"]
        return ExportSummary(
            project_kind=self.hasher.kind,
            project_name=str(metadata["projectName"]),
            container=str(metadata.get(CONTAINER_KEY) or ""),
            language=str(metadata["language"]),
            metadata_kind=str(metadata["projectKind"]),
            assets_kind=str(self.assets["projectKind"]),
            categories=tuple(str(item["category"]) for key in category_keys_of(self.hasher.kind)
                             for item in self.assets.get(key) or []),
            label_count=self.labels,
            has_dataset_split=self.split,
            content_hash=self.hasher.hexdigest(),
            locations=self.locations,
            languages=self.languages,
        )


def _pieces(data: bytes | IO[bytes] | SupportsRead) -> Iterator[tuple[str, Any, Any]]:
    """The export as (piece, key, value): each top-level value but `assets` whole ("top"), and of
    `assets`, each value but `documents` whole ("asset") and each document whole ("document"), between
    "assets_start"/"assets_end" and "documents_start"/"documents_end". A root that is not an object is
    one "root" piece."""
    reader = _Reader(data)
    try:
        events = ijson.basic_parse(reader, use_float=True, buf_size=_READ_SIZE)
        first = next(events, None)
        if first is None:
            return
        if first[0] != "start_map":
            yield "root", "", _build(first, events)
            return
        for event, key in events:
            if event == "end_map":
                break
            start = next(events)
            if key != "assets" or start[0] != "start_map":
                yield "top", key, _build(start, events)
                continue
            yield "assets_start", key, None
            for asset_event, asset_key in events:
                if asset_event == "end_map":
                    break
                asset_start = next(events)
                if asset_key not in _DOCUMENT_LISTS or asset_start[0] != "start_array":
                    yield "asset", asset_key, _build(asset_start, events)
                    continue
                yield "documents_start", asset_key, None
                while (item := next(events))[0] != "end_array":
                    yield "document", None, _build(item, events)
                yield "documents_end", None, None
            yield "assets_end", None, None
        for _ in events:  # the parser rejects anything after the root object
            pass
    except ijson.JSONError as error:
        if not reader.saw_content:
            raise UnsafeExport("the export is empty") from None
        detail = error.args[0] if error.args else str(error)
        message = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        first_line = message.splitlines()[0] if message else "unreadable"
        raise UnsafeExport(f"the export is not valid JSON ({first_line.strip()})") from None
    except UnicodeDecodeError:
        raise UnsafeExport("the export is not UTF-8") from None


def _build(first: tuple[str, Any], events: Iterator[tuple[str, Any]]) -> Any:
    event, value = first
    if event not in ("start_map", "start_array"):
        return value
    builder = ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


class _Reader:
    """Bytes for the parser: drops a UTF-8 byte order mark, and notes whether anything but whitespace came."""

    def __init__(self, data: bytes | IO[bytes] | SupportsRead) -> None:
        self._stream = None if isinstance(data, bytes | bytearray) else data
        self._buffer = memoryview(data) if isinstance(data, bytes | bytearray) else memoryview(b"")
        self._started = False
        self._utf8 = codecs.getincrementaldecoder("utf-8")()  # the parser's own UTF-8 errors are vaguer
        self.saw_content = False

    def _next(self, wanted: int) -> bytes:
        if self._buffer:
            chunk, self._buffer = bytes(self._buffer[:wanted]), self._buffer[wanted:]
            return chunk
        return bytes(self._stream.read(wanted)) if self._stream is not None else b""

    def read(self, size: int = -1) -> bytes:
        wanted = _READ_SIZE if size is None or size < 0 else size
        if wanted == 0:
            return b""
        chunk = self._next(wanted)
        if not self._started and chunk:
            while len(chunk) < len(_BOM) and (more := self._next(len(_BOM) - len(chunk))):
                chunk += more
            self._started = True
            chunk = chunk.removeprefix(_BOM) or self._next(wanted)  # an empty read would mean the end
        if not self.saw_content and chunk.strip():
            self.saw_content = True
        self._utf8.decode(chunk, final=not chunk)
        return chunk

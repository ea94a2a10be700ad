"""Exports read as a stream: what parsing them whole gives, in any key order, without holding them."""

from __future__ import annotations

import copy
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from localdev.sample_project import multi_label_project, ner_project, single_label_project
from shared.language import export_format
from shared.language.export_format import UnsafeExport, parse_export
from shared.language.export_stream import ExportSummary, summarise_export, write_import_body
from tests.shared.language.test_export_format import encode, mutate

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read, so every boundary falls somewhere awkward."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._position = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._step if size is None or size < 0 else min(size, self._step)
        chunk = self._data[self._position:self._position + wanted]
        self._position += len(chunk)
        return chunk


def assert_same_as_parsed(summary: ExportSummary, data: bytes) -> None:
    export = parse_export(data)
    assert summary.content_hash == export.content_hash()
    assert summary.counts() == export.counts()
    assert summary.locations == export.document_locations()
    assert summary.languages == [d["language"] for d in export.documents]
    assert summary.has_dataset_split == export.has_dataset_split()
    assert summary.project_kind == export.project_kind
    assert list(summary.categories) == export.categories
    assert (summary.project_name, summary.container, summary.language) == (
        export.project_name, export.container, export.language)


def reordered(body: dict[str, Any]) -> dict[str, Any]:
    """The same export with assets before metadata and the documents before the kind and categories."""
    assets = body["assets"]
    category_key = "entities" if "entities" in assets else "classes"
    tail = {key: value for key, value in body.items() if key != "assets"}
    return {"assets": {"documents": assets["documents"], category_key: assets[category_key],
                       "projectKind": assets["projectKind"]}, **dict(reversed(tail.items()))}


@pytest.mark.parametrize("make", [ner_project, single_label_project, multi_label_project])
def test_a_summary_gives_what_parsing_whole_gives(make: Any) -> None:
    data = encode(make(documents=12).export)
    assert_same_as_parsed(summarise_export(io.BytesIO(data)), data)
    assert_same_as_parsed(summarise_export(data), data)


@pytest.mark.parametrize("make", [ner_project, single_label_project, multi_label_project])
def test_the_order_of_keys_changes_nothing(make: Any) -> None:
    body = make(documents=9).export
    data = encode(reordered(body))
    summary = summarise_export(Trickle(data, 5))
    assert_same_as_parsed(summary, data)
    assert summary.content_hash == summarise_export(encode(body)).content_hash


def test_a_byte_order_mark_is_skipped_even_split_across_reads() -> None:
    data = encode(ner_project(documents=3).export)
    summary = summarise_export(Trickle(b"\xef\xbb\xbf" + data, 1))
    assert summary.content_hash == parse_export(data).content_hash()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{not json", "not valid JSON"),
        (b"{} trailing", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "not a JSON object"),
        (encode(mutate("projectFileVersion", KeyError)), "projectFileVersion"),
        (encode(mutate("stringIndexType", "Utf8CodeUnit")), "stringIndexType"),
        (encode(mutate("metadata.language", KeyError)), "metadata.language"),
        (encode(mutate("metadata.projectKind", "customNamedEntityRecognition")), "not a supported"),
        (encode(mutate("assets.projectKind", "CustomSingleLabelClassification")), "kind mismatch"),
        (encode(mutate("assets", KeyError)), "no assets"),
        (encode(mutate("assets.documents", [])), "no documents"),
        (encode(mutate("assets.documents", {})), "no documents"),
        (encode(mutate("assets.entities", "Date")), "not a list"),
        (encode(mutate("assets.documents.0.location", "../escape.txt")), "not a blob name"),
        (encode(mutate("assets.documents.1", "text")), "not an object"),
        (encode(mutate("assets.documents.0.dataset", "Validation")), "not Train or Test"),
        (encode(mutate("assets.documents.0.entities.0.labels.0.category", "Nope")), "undeclared category"),
        (encode(mutate("assets.documents.0.entities.0.labels.0.length", 0)), "bad span"),
        (encode(reordered(mutate("assets.documents.2.entities.0.labels.0.category", "Nope"))),
         "undeclared category"),
        (encode(reordered(mutate("metadata.language", KeyError))), "metadata.language"),
    ],
)
def test_unsafe_exports_are_refused_with_the_reason_parsing_whole_gives(data: bytes, reason: str) -> None:
    with pytest.raises(UnsafeExport) as streamed:
        summarise_export(io.BytesIO(data))
    assert reason in streamed.value.reason
    with pytest.raises(UnsafeExport) as whole:
        parse_export(data)
    assert reason in whole.value.reason


def test_a_header_problem_is_reported_before_a_document_problem() -> None:
    body = mutate("stringIndexType", "Utf8CodeUnit")
    body["assets"]["documents"][0]["dataset"] = "Validation"
    with pytest.raises(UnsafeExport, match="stringIndexType"):
        summarise_export(encode(body))


def test_duplicate_locations_are_refused() -> None:
    body = ner_project(documents=3).export
    body["assets"]["documents"].append(copy.deepcopy(body["assets"]["documents"][0]))
    with pytest.raises(UnsafeExport, match="listed twice"):
        summarise_export(encode(body))


@pytest.mark.parametrize("make", [ner_project, single_label_project, multi_label_project])
@pytest.mark.parametrize("order", ["service", "reordered"])
def test_the_rewritten_import_body_is_byte_for_byte_with_container(make: Any, order: str) -> None:
    body = make(documents=7).export
    body["metadata"]["projectKind"] = body["metadata"]["projectKind"].lower()  # to the service's case
    body["metadata"]["description"] = "Zürich \u2014 ünïcödé, \"quoted\""
    data = encode(body if order == "service" else reordered(body))
    out = io.BytesIO()
    written = write_import_body(Trickle(data, 97), "replica-docs", out)
    assert out.getvalue() == parse_export(data).with_container("replica-docs")
    assert written == len(out.getvalue())
    assert json.loads(out.getvalue())["metadata"]["storageInputContainerName"] == "replica-docs"


def test_imports_as_is_only_when_the_container_and_the_kinds_case_match() -> None:
    body = single_label_project(documents=3).export
    summary = summarise_export(encode(body))
    assert summary.imports_as_is(body["metadata"]["storageInputContainerName"])
    assert not summary.imports_as_is("elsewhere")
    body["assets"]["projectKind"] = body["assets"]["projectKind"].lower()
    assert not summarise_export(encode(body)).imports_as_is(body["metadata"]["storageInputContainerName"])


def test_a_large_export_is_never_held_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # The documents' canonical form goes to a temporary file beyond this (1 MiB in production).
    monkeypatch.setattr(export_format, "HASH_SPOOL_IN_MEMORY", 64 * 1024)
    data = encode(ner_project(documents=1500).export)
    tracemalloc.start()
    try:
        summary = summarise_export(io.BytesIO(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.document_count == 1500
    # Parsed whole, the export takes about five times its size; streamed, a fraction of it.
    assert peak < len(data) / 2, f"{peak} bytes at peak for a {len(data)}-byte export"


@pytest.mark.reference_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize(
    ("folder", "labels"),
    [
        ("custom-ner-loan-agreements", "loanAgreementsLabels.json"),
        ("custom-single-class-web-of-science", "webOfScience_labelsFile.json"),
        ("custom-multi-class-movie-summaries", "movieLabels.json"),
    ],
)
def test_microsofts_samples_stream_like_they_parse(folder: str, labels: str) -> None:
    data = (SHARED_DATA / folder / labels).read_bytes()
    assert_same_as_parsed(summarise_export(io.BytesIO(data)), data)
    out = io.BytesIO()
    write_import_body(io.BytesIO(data), "copy", out)
    assert out.getvalue() == parse_export(data).with_container("copy")


def test_a_test_set_rewrites_every_documents_dataset_as_a_manual_split() -> None:
    body = ner_project(documents=5).export
    for document in body["assets"]["documents"]:
        document.pop("dataset", None)
    locations = [d["location"] for d in body["assets"]["documents"]]
    out = io.BytesIO()
    write_import_body(Trickle(encode(body), 97), "replica-docs", out, test_set=frozenset(locations[1:3]))
    written = json.loads(out.getvalue())
    datasets = [d["dataset"] for d in written["assets"]["documents"]]
    assert datasets == ["Train", "Test", "Test", "Train", "Train"]
    assert [d["location"] for d in written["assets"]["documents"]] == locations

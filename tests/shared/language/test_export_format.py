"""Exports: unsafe ones refused with a reason; the content hash ignores order and the container name."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from localdev.sample_project import multi_label_project, ner_project, single_label_project
from shared.language.export_format import ExportedProject, UnsafeExport, parse_export
from shared.language.project_kinds import ProjectKind

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize("make", [ner_project, single_label_project, multi_label_project])
def test_generated_samples_parse_with_their_counts(make: Any) -> None:
    sample = make()
    export = parse_export(encode(sample.export))
    assert export.project_kind == sample.kind
    assert export.project_name == sample.name
    assert export.container == sample.container
    assert sorted(export.document_locations()) == sorted(sample.documents)
    assert export.document_count == len(sample.documents)
    assert export.label_count > 0
    assert export.category_count == len(export.categories)
    assert export.has_dataset_split()


def test_ner_counts_are_exact() -> None:
    sample = ner_project(documents=5)
    export = parse_export(encode(sample.export))
    labels = sum(len(r["labels"]) for d in sample.export["assets"]["documents"] for r in d["entities"])
    assert export.counts() == {"documents": 5, "labels": labels, "categories": 12}


def test_hash_ignores_order_container_and_file_version() -> None:
    body = ner_project(documents=6).export
    shuffled = copy.deepcopy(body)
    shuffled["assets"]["documents"].reverse()
    shuffled["assets"]["entities"].reverse()
    for document in shuffled["assets"]["documents"]:
        for region in document["entities"]:
            region["labels"].reverse()
    shuffled["metadata"]["storageInputContainerName"] = "elsewhere"
    shuffled["projectFileVersion"] = "2023-04-01"
    assert parse_export(encode(body)).content_hash() == parse_export(encode(shuffled)).content_hash()


def test_hash_changes_with_any_label() -> None:
    body = ner_project(documents=6).export
    original = parse_export(encode(body)).content_hash()
    moved = copy.deepcopy(body)
    moved["assets"]["documents"][0]["entities"][0]["labels"][0]["offset"] += 1
    renamed = copy.deepcopy(body)
    renamed["assets"]["documents"][2]["entities"][0]["labels"][0]["category"] = "Interest"
    dataset = copy.deepcopy(body)
    dataset["assets"]["documents"][1]["dataset"] = (
        "Test" if body["assets"]["documents"][1]["dataset"] == "Train" else "Train"
    )
    description = copy.deepcopy(body)
    description["metadata"]["description"] = "changed"
    hashes = {parse_export(encode(b)).content_hash() for b in (moved, renamed, dataset, description)}
    assert original not in hashes and len(hashes) == 4


def test_multi_label_hash_ignores_class_order() -> None:
    body = multi_label_project(documents=8).export
    reordered = copy.deepcopy(body)
    for document in reordered["assets"]["documents"]:
        document["classes"].reverse()
    assert parse_export(encode(body)).content_hash() == parse_export(encode(reordered)).content_hash()


def test_with_container_rewrites_only_the_container() -> None:
    export = parse_export(encode(ner_project(documents=3).export))
    rewritten = parse_export(export.with_container("secondary-loans"))
    assert rewritten.container == "secondary-loans"
    assert rewritten.content_hash() == export.content_hash()
    assert rewritten.document_locations() == export.document_locations()


def test_kinds_are_compared_case_insensitively_and_normalised() -> None:
    body = multi_label_project(documents=4).export
    body["assets"]["projectKind"] = "customMultiLabelClassification"  # as in Microsoft's movie sample
    export = parse_export(encode(body))
    assert export.project_kind == "CustomMultiLabelClassification"
    assert json.loads(export.with_container("c"))["assets"]["projectKind"] == "CustomMultiLabelClassification"


def mutate(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(ner_project(documents=3).export)
    *parents, last = path.split(".")
    node: Any = body
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "not a JSON object"),
        (encode(mutate("projectFileVersion", KeyError)), "projectFileVersion"),
        (encode(mutate("stringIndexType", "Utf8CodeUnit")), "stringIndexType"),
        (encode(mutate("metadata.language", KeyError)), "metadata.language"),
        (
            encode(mutate("metadata.projectKind", "customNamedEntityRecognition")),
            "not a supported project kind",
        ),
        (encode(mutate("assets.projectKind", "CustomSingleLabelClassification")), "kind mismatch"),
        (encode(mutate("assets", KeyError)), "no assets"),
        (encode(mutate("assets.documents", [])), "no documents"),
        (encode(mutate("assets.documents.0.location", "../escape.txt")), "not a blob name"),
        (encode(mutate("assets.documents.0.dataset", "Validation")), "not Train or Test"),
        (encode(mutate("assets.documents.0.entities.0.labels.0.category", "Nope")), "undeclared category"),
        (encode(mutate("assets.documents.0.entities.0.labels.0.length", 0)), "bad span"),
    ],
)
def test_unsafe_exports_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnsafeExport) as caught:
        parse_export(data)
    assert reason in caught.value.reason


def test_duplicate_locations_are_refused() -> None:
    body = ner_project(documents=3).export
    body["assets"]["documents"].append(copy.deepcopy(body["assets"]["documents"][0]))
    with pytest.raises(UnsafeExport, match="listed twice"):
        parse_export(encode(body))


def test_parses_from_a_stream() -> None:
    export = parse_export(io.BytesIO(encode(single_label_project(documents=4).export)))
    assert isinstance(export, ExportedProject)
    assert export.document_count == 4


@pytest.mark.reference_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize(
    ("folder", "labels", "documents"),
    [
        ("custom-ner-loan-agreements", "loanAgreementsLabels.json", 20),
        ("custom-single-class-web-of-science", "webOfScience_labelsFile.json", 210),
        ("custom-multi-class-movie-summaries", "movieLabels.json", 210),
    ],
)
def test_microsofts_samples_parse(folder: str, labels: str, documents: int) -> None:
    export = parse_export((SHARED_DATA / folder / labels).read_bytes())
    assert export.document_count == documents
    if export.project_kind == ProjectKind.NER:
        assert export.label_count == 240

"""The generated sample projects: deterministic, in the export format, labels exact in UTF-16 units."""

from __future__ import annotations

import json

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import (
    NER_CATEGORIES,
    SampleProject,
    multi_label_project,
    ner_project,
    number_in_words,
    single_label_project,
    upload_documents,
    utf16_length,
)

ALL_PROJECTS = (ner_project, single_label_project, multi_label_project)


def utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le")


@pytest.mark.parametrize("factory", ALL_PROJECTS)
def test_same_arguments_give_identical_projects(factory) -> None:
    first, second = factory(), factory()
    assert json.dumps(first.export, sort_keys=True) == json.dumps(second.export, sort_keys=True)
    assert first.documents == second.documents


@pytest.mark.parametrize("factory", ALL_PROJECTS)
def test_another_seed_gives_other_text(factory) -> None:
    assert factory(seed=1).documents != factory(seed=2).documents


@pytest.mark.parametrize("factory", ALL_PROJECTS)
def test_export_has_the_real_shape(factory) -> None:
    project: SampleProject = factory()
    export = project.export
    assert export["projectFileVersion"] == "2022-05-01"
    assert export["stringIndexType"] == "Utf16CodeUnit"
    assert export["metadata"]["projectKind"] == export["assets"]["projectKind"] == project.kind
    assert {"projectName", "storageInputContainerName", "language", "multilingual", "settings"} <= set(
        export["metadata"]
    )
    locations = [document["location"] for document in export["assets"]["documents"]]
    assert locations == sorted(project.documents)
    datasets = {document["dataset"] for document in export["assets"]["documents"]}
    assert datasets == {"Train", "Test"}
    json.dumps(export)  # serialisable as an import body


def test_names_and_sizes_follow_the_arguments() -> None:
    project = ner_project(name="Loans2", container="c2", documents=7)
    assert (project.name, project.container, project.kind) == ("Loans2", "c2", "CustomEntityRecognition")
    assert len(project.documents) == 7


def test_ner_labels_cover_every_category_and_slice_to_clean_entities() -> None:
    project = ner_project()
    assert [entity["category"] for entity in project.export["assets"]["entities"]] == list(NER_CATEGORIES)
    for document in project.export["assets"]["documents"]:
        text = project.documents[document["location"]]
        (region,) = document["entities"]
        assert region["regionOffset"] == 0
        assert region["regionLength"] == utf16_length(text)
        labels = region["labels"]
        assert sorted(label["category"] for label in labels) == sorted(NER_CATEGORIES)
        for label in labels:
            span = utf16_slice(text, label["offset"], label["length"])
            assert span and span == span.strip(), (document["location"], label, span)
            assert "\n" not in span and "\r" not in span


def test_ner_texts_make_the_three_offset_modes_differ() -> None:
    project = ner_project()
    texts = list(project.documents.values())
    assert any("\r\n" in text for text in texts)
    assert any("\r" not in text for text in texts)
    assert any(any(ord(char) > 0xFFFF for char in text) for text in texts)  # astral plane
    assert any("\u200d" in text for text in texts)  # a ZWJ emoji sequence
    assert any(any(127 < ord(char) <= 0xFFFF for char in text) for text in texts)
    # Some label sits after an astral character, so its UTF-16 offset ≠ its code-point offset.
    shifted = 0
    for document in project.export["assets"]["documents"]:
        text = project.documents[document["location"]]
        for label in document["entities"][0]["labels"]:
            prefix = utf16_slice(text, 0, label["offset"])
            shifted += len(prefix) != label["offset"]
    assert shifted > 0


@pytest.mark.parametrize("factory", [single_label_project, multi_label_project])
def test_classification_covers_every_class_in_train_and_test(factory) -> None:
    project: SampleProject = factory()
    assets = project.export["assets"]
    classes = {item["category"] for item in assets["classes"]}
    seen: dict[str, set[str]] = {"Train": set(), "Test": set()}
    for document in assets["documents"]:
        if project.kind == "CustomSingleLabelClassification":
            labels = [document["class"]["category"]]
        else:
            labels = [item["category"] for item in document["classes"]]
            assert 1 <= len(labels) <= 3 and len(set(labels)) == len(labels)
        seen[document["dataset"]].update(labels)
    assert seen["Train"] == classes
    assert seen["Test"] == classes


def test_number_in_words() -> None:
    assert number_in_words(623_463) == "six hundred twenty-three thousand four hundred sixty-three"
    assert number_in_words(1_015) == "one thousand fifteen"
    assert number_in_words(90_000) == "ninety thousand"


def test_upload_documents_keeps_exact_bytes_and_tolerates_existing_container(azurite) -> None:
    project = ner_project(documents=6)
    service = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    container = service.get_container_client(project.container)
    upload_documents(container, project)
    upload_documents(container, project)  # the container exists now: no error, blobs overwritten
    for location, text in project.documents.items():
        assert container.download_blob(location).readall() == text.encode("utf-8")

"""Seed-era (2021-11-01-preview) exports converted to the current format, one test per project kind."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.language.export_format import UnsafeExport, parse_export, to_bytes
from shared.language.legacy_format import check_spans, convert, is_legacy

# The example import body of Microsoft's 2022 recipe (api-version 2021-11-01-preview), as published.
SEED_ARTICLE_BODY: dict[str, Any] = {
    "api-version": "2021-11-01-preview",
    "metadata": {
        "name": "myProject", "multiLingual": True, "description": "Trying out custom NER",
        "modelType": "Extraction", "language": "en-us", "storageInputContainerName": "YOUR-CONTAINER-NAME",
        "settings": {},
    },
    "assets": {
        "extractors": [{"name": "Entity1"}, {"name": "Entity2"}],
        "documents": [
            {"location": "doc1.txt", "language": "en-us", "extractors": [{
                "regionOffset": 0, "regionLength": 500, "labels": [
                    {"extractorName": "Entity1", "offset": 25, "length": 10},
                    {"extractorName": "Entity2", "offset": 120, "length": 8}]}]},
            {"location": "doc2.txt", "language": "en-us", "extractors": [{
                "regionOffset": 0, "regionLength": 100, "labels": [
                    {"extractorName": "Entity2", "offset": 20, "length": 5}]}]},
        ],
    },
}


def classification(model_type: str, classes: list[list[str]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "tickets", "multiLingual": False, "description": "", "modelType": model_type,
                     "language": "en", "storageInputContainerName": "tickets", "settings": {}},
        "assets": {"classifiers": [{"name": "Billing"}, {"name": "Outage"}],
                   "documents": [{"location": f"t{i}.txt", "language": "en",
                                  "dataset": "Train" if i else "Test",
                                  "classifiers": [{"classifierName": name} for name in names]}
                                 for i, names in enumerate(classes)]},
    }


def test_the_seed_articles_own_ner_example_converts_to_the_current_format() -> None:
    assert is_legacy(SEED_ARTICLE_BODY)
    converted = convert(SEED_ARTICLE_BODY, project="Loans", container="loans")
    body = converted.body
    assert body["projectFileVersion"] == "2022-05-01" and body["stringIndexType"] == "Utf16CodeUnit"
    assert body["metadata"] == {
        "projectKind": "CustomEntityRecognition", "storageInputContainerName": "loans", "settings": {},
        "projectName": "Loans", "multilingual": True, "description": "Trying out custom NER",
        "language": "en-us"}
    assert body["assets"]["entities"] == [{"category": "Entity1"}, {"category": "Entity2"}]
    assert body["assets"]["documents"][0] == {
        "location": "doc1.txt", "language": "en-us", "entities": [{
            "regionOffset": 0, "regionLength": 500, "labels": [
                {"category": "Entity1", "offset": 25, "length": 10},
                {"category": "Entity2", "offset": 120, "length": 8}]}]}
    assert parse_export(to_bytes(body)).raw == body   # a valid current export
    assert converted.dropped == []                     # everything of it is carried over
    # The file's own container is kept when none is given.
    assert convert(SEED_ARTICLE_BODY, project="Loans").body["metadata"]["storageInputContainerName"] == \
        "YOUR-CONTAINER-NAME"


def test_a_single_label_classification_export_converts() -> None:
    body = convert(classification("singleClassification", [["Billing"], ["Outage"], []]), project="T").body
    assert body["metadata"]["projectKind"] == "CustomSingleLabelClassification"
    assert body["assets"]["projectKind"] == "CustomSingleLabelClassification"
    assert body["assets"]["classes"] == [{"category": "Billing"}, {"category": "Outage"}]
    assert [d.get("class") for d in body["assets"]["documents"]] == [
        {"category": "Billing"}, {"category": "Outage"}, None]
    assert [d["dataset"] for d in body["assets"]["documents"]] == ["Test", "Train", "Train"]
    with pytest.raises(UnsafeExport, match=r"t0\.txt.*2 classes"):
        convert(classification("singleClassification", [["Billing", "Outage"]]), project="T")


def test_a_multi_label_classification_export_converts() -> None:
    body = convert(classification("MultiClassification", [["Billing", "Outage"], []]), project="T").body
    assert body["metadata"]["projectKind"] == "CustomMultiLabelClassification"
    assert [d["classes"] for d in body["assets"]["documents"]] == [
        [{"category": "Billing"}, {"category": "Outage"}], []]


def test_what_cannot_be_carried_over_is_listed_and_what_is_wrong_is_refused() -> None:
    old = copy.deepcopy(SEED_ARTICLE_BODY)
    old["metadata"]["settings"] = {"confidence": 0.5}
    old["assets"]["documents"][0]["comment"] = "x"
    dropped = convert(old, project="Loans").dropped
    assert dropped == ["metadata.settings (the old project's settings have no current equivalent)",
                       "document doc1.txt: comment"]
    for change, message in [({"modelType": "Conversation"}, "not Extraction"),
                            ({"storageInputContainerName": ""}, "give --container")]:
        broken = copy.deepcopy(SEED_ARTICLE_BODY)
        broken["metadata"].update(change)
        with pytest.raises(UnsafeExport, match=message):
            convert(broken, project="Loans")
    undeclared = copy.deepcopy(SEED_ARTICLE_BODY)
    undeclared["assets"]["extractors"] = [{"name": "Entity1"}]
    with pytest.raises(UnsafeExport, match="undeclared category 'Entity2'"):
        convert(undeclared, project="Loans")
    with pytest.raises(UnsafeExport, match="not a 2021-11-01-preview export"):
        convert({"projectFileVersion": "2022-05-01", "metadata": {}}, project="Loans")


def test_every_span_is_checked_against_the_documents_naming_the_one_that_does_not_fit() -> None:
    body = convert(SEED_ARTICLE_BODY, project="Loans").body
    texts = {"doc1.txt": "x" * 500, "doc2.txt": "y" * 100}
    check_spans(body, texts)
    with pytest.raises(UnsafeExport, match=r"'doc2\.txt': region at 0\+100 lies outside the document"):
        check_spans(body, {**texts, "doc2.txt": "y" * 99})
    with pytest.raises(UnsafeExport, match=r"'doc2\.txt' is not in the container"):
        check_spans(body, {"doc1.txt": texts["doc1.txt"]})
    # An emoji counts twice in UTF-16, once in code points: after one, a span must read whole in UTF-16.
    check_spans(body, {**texts, "doc1.txt": "\U0001F600" + "x" * 498})
    code_points = "\U0001F600" + "y" * 18 + " hello" + "y" * 74   # "hello" is at 20+5 in code points only
    with pytest.raises(UnsafeExport, match=r"'doc2\.txt': label 'Entity2' at 20\+5 .*undocumented"):
        check_spans(body, {**texts, "doc2.txt": code_points})

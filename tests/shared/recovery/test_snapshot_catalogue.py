"""The snapshot catalogue against Azurite: list, show, resolve references, diff two snapshots."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.conversation_samples import clu_project
from localdev.sample_project import ner_project, single_label_project
from localdev.services import Azurite
from shared.clock import FakeClock
from shared.errors import InvalidRequest
from shared.recovery.catalogue import SnapshotCatalogue, snapshots_text
from shared.storage.snapshots import SnapshotCorrupt, SnapshotNotFound, SnapshotStore

ENDPOINT = "https://primary.cognitiveservices.azure.com"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


@pytest.fixture
def store(azurite: Azurite, clock: FakeClock) -> SnapshotStore:
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    return SnapshotStore(service.get_container_client("snapshots"), clock)


def save(store: SnapshotStore, export: dict[str, Any], **kwargs: Any) -> str:
    reason = kwargs.pop("reason", "working-copy")
    return store.save_bytes(str(export["metadata"]["projectName"]), json.dumps(export).encode(),
                            source_endpoint=ENDPOINT, reason=reason, **kwargs).name


def edited(export: dict[str, Any]) -> dict[str, Any]:
    """Remove the last document, add a label to the first, move the second to Test, add a category."""
    new = copy.deepcopy(export)
    documents = new["assets"]["documents"]
    removed = documents.pop()
    documents[0]["entities"][0]["labels"].append({"category": "Interest", "offset": 0, "length": 4})
    documents[1]["dataset"] = "Test"
    documents.append({**copy.deepcopy(removed), "location": "agreement-new.txt"})
    new["assets"]["entities"].append({"category": "Collateral"})
    return new


def test_list_show_and_diff(store: SnapshotStore, clock: FakeClock) -> None:
    project = ner_project(documents=4)
    first = save(store, project.export, trained_model_label="v1", reason="model:v1")
    clock.advance(timedelta(hours=1))
    second = save(store, edited(project.export))
    catalogue = SnapshotCatalogue(store)

    listed = catalogue.list("LoanAgreements")
    assert [info.name for info in listed] == [second, first]   # newest first
    assert listed[1].trained_model_label == "v1" and listed[1].documents == 4
    assert listed[1].labels == sum(len(r["labels"]) for d in project.export["assets"]["documents"]
                                   for r in d["entities"])
    table = snapshots_text(listed, clock.now())
    assert first in table and "v1" in table and "1h 0m" in table and "DOCUMENTS" in table.splitlines()[0]

    shown = catalogue.show(first)
    assert shown["verified"] is True and shown["documents"] == 4 and "Interest" in shown["categoryNames"]
    assert catalogue.resolve("LoanAgreements@latest").name == second
    assert catalogue.resolve(first[: len("LoanAgreements/20260304T05")]).name == first

    diff = catalogue.diff(first, second)
    assert not diff.identical
    assert diff.documents_added == ("agreement-new.txt",)
    assert diff.documents_removed == (project.export["assets"]["documents"][-1]["location"],)
    assert diff.categories_added == ("Collateral",)
    [first_doc, second_doc] = diff.documents_changed
    assert first_doc.labels_added == (("Interest", 0, 4),) and not first_doc.labels_removed
    assert second_doc.other == ("dataset Train -> Test",)
    removed_doc = project.export["assets"]["documents"][-1]
    removed_labels = sum(len(r["labels"]) for r in removed_doc["entities"])
    assert diff.labels_added == 1 + removed_labels and diff.labels_removed == removed_labels
    text = diff.to_text()
    assert "+ document agreement-new.txt" in text and "+ Interest at 0+4" in text
    assert json.loads(json.dumps(diff.to_json()))["documentsAdded"] == ["agreement-new.txt"]
    assert catalogue.diff(first, first).identical


def test_classification_labels_are_compared_by_class(store: SnapshotStore, clock: FakeClock) -> None:
    project = single_label_project(documents=6)
    first = save(store, project.export)
    changed = copy.deepcopy(project.export)
    document = changed["assets"]["documents"][0]
    old_class = document["class"]["category"]
    other = next(c["category"] for c in changed["assets"]["classes"] if c["category"] != old_class)
    document["class"] = {"category": other}
    clock.advance(timedelta(seconds=5))
    second = save(store, changed)
    [change] = SnapshotCatalogue(store).diff(first, second).documents_changed
    assert change.labels_added == ((other,),) and change.labels_removed == ((old_class,),)


def test_a_clu_projects_snapshots_count_and_diff_utterances(store: SnapshotStore, clock: FakeClock) -> None:
    export = clu_project()
    first = save(store, export)
    changed = copy.deepcopy(export)
    added = {**changed["assets"]["utterances"][0], "text": "one small mocha to go", "entities": []}
    changed["assets"]["utterances"].append(added)
    clock.advance(timedelta(seconds=5))
    second = save(store, changed)
    catalogue = SnapshotCatalogue(store)
    header = snapshots_text(catalogue.list(str(export["metadata"]["projectName"]))).splitlines()[0]
    assert "UTTERANCES" in header and "DOC" not in header
    text = catalogue.diff(first, second).to_text()
    assert "  utterances: +1 -0" in text and "document" not in text
    assert "\n  + utterance " in text


def test_bad_references_and_damaged_snapshots_are_reported(store: SnapshotStore, azurite: Azurite) -> None:
    catalogue = SnapshotCatalogue(store)
    with pytest.raises(InvalidRequest):
        catalogue.resolve("no-slash")
    with pytest.raises(SnapshotNotFound):
        catalogue.resolve("LoanAgreements@latest")
    name = save(store, ner_project(documents=3).export)
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    blob = service.get_container_client("snapshots").get_blob_client(name)
    metadata = blob.get_blob_properties().metadata
    blob.upload_blob(b"{}" + b" " * 10, overwrite=True, metadata=metadata)   # tampered bytes, old metadata
    with pytest.raises(SnapshotCorrupt):
        catalogue.show(name)

"""The catalogue over Microsoft's three sample projects (../shared/data), stored byte for byte."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.services import Azurite
from shared.clock import FakeClock
from shared.recovery.catalogue import SnapshotCatalogue
from shared.storage.snapshots import SnapshotStore

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
SAMPLES = [
    ("custom-ner-loan-agreements", "loanAgreementsLabels.json"),
    ("custom-single-class-web-of-science", "webOfScience_labelsFile.json"),
    ("custom-multi-class-movie-summaries", "movieLabels.json"),
]

pytestmark = [
    pytest.mark.reference_data,
    pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout"),
]


@pytest.mark.parametrize(("folder", "labels"), SAMPLES)
def test_show_and_diff_microsofts_samples(azurite: Azurite, folder: str, labels: str) -> None:
    raw = (DATA / folder / labels).read_bytes()
    export = json.loads(raw)
    clock = FakeClock(datetime(2026, 2, 1, tzinfo=UTC))
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    store = SnapshotStore(service.get_container_client("snapshots"), clock)
    project = "Sample"
    original = store.save_bytes(project, raw, source_endpoint="https://primary", reason="working-copy")
    catalogue = SnapshotCatalogue(store)
    shown = catalogue.show(original.name)
    assert shown["documents"] == len(export["assets"]["documents"]) and shown["sha256"] == original.sha256

    edited = copy.deepcopy(export)
    removed = edited["assets"]["documents"].pop(0)
    clock.advance(timedelta(minutes=1))
    newer = store.save_bytes(project, json.dumps(edited).encode(), source_endpoint="https://primary",
                             reason="working-copy")
    diff = catalogue.diff(original.name, newer.name)
    assert diff.documents_removed == (removed["location"],)
    assert not diff.documents_added and not diff.documents_changed and diff.labels_removed >= 1

"""Snapshots in Azurite: write-once, named by time and content hash, verified on the way back."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.sample_project import ner_project, single_label_project
from localdev.services import Azurite
from shared.clock import FakeClock
from shared.language.export_format import UnsafeExport
from shared.storage.snapshots import (
    SnapshotCorrupt,
    SnapshotExists,
    SnapshotInfo,
    SnapshotNotFound,
    SnapshotStore,
)

ENDPOINT = "https://primary.cognitiveservices.azure.com"


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string()).get_container_client(
        "snapshots"
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC))


def export_bytes(documents: int = 4) -> bytes:
    return json.dumps(ner_project(documents=documents).export).encode()


def test_save_names_and_describes_the_snapshot(container: ContainerClient, clock: FakeClock) -> None:
    store = SnapshotStore(container, clock)
    data = export_bytes()
    info = store.save_bytes(
        "LoanAgreements", data, source_endpoint=ENDPOINT, reason="primary-export",
        last_modified="2026-03-01T00:00:00Z", trained_model_label="model1",
    )  # fmt: skip
    assert info.name.startswith("LoanAgreements/20260304T050607Z-")
    assert info.name == f"LoanAgreements/20260304T050607Z-{info.content_hash[:12]}.json"
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert store.get(info.name) == info
    stored = container.get_blob_client(info.name).get_blob_properties()
    assert stored.metadata["source_endpoint"] == ENDPOINT
    assert stored.metadata["trained_model_label"] == "model1"
    assert stored.metadata["reason"] == "primary-export"
    assert stored.metadata["documents"] == "4"
    assert stored.content_settings.content_type == "application/json"
    assert store.read_bytes(info.name) == data


def save(store: SnapshotStore, data: bytes, reason: str = "primary-export") -> SnapshotInfo:
    return store.save_bytes("LoanAgreements", data, source_endpoint=ENDPOINT, reason=reason)


def reformatted_export() -> bytes:
    """The content of `export_bytes()` in other bytes, as two exports of one project can be."""
    return json.dumps(ner_project(documents=4).export, indent=2).encode()


def test_snapshots_are_write_once(container: ContainerClient, clock: FakeClock) -> None:
    store = SnapshotStore(container, clock)
    info = save(store, export_bytes())
    # The same bytes again (a redelivered step) is harmless and returns the same snapshot.
    assert save(store, export_bytes()).name == info.name
    assert store.read_bytes(info.name) == export_bytes()
    assert len(store.list("LoanAgreements")) == 1


def test_same_content_other_bytes_in_the_same_second_gets_its_own_snapshot(
    container: ContainerClient, clock: FakeClock
) -> None:
    # A restore backs up the target right after exporting the same content from the primary: the
    # service's bytes differ (volatile fields), the content hash and the second do not.
    store = SnapshotStore(container, clock)
    info = save(store, export_bytes())
    other = save(store, reformatted_export(), reason="secondary-backup")
    assert other.content_hash == info.content_hash
    assert other.name == f"{info.name.removesuffix('.json')}-{other.sha256[:12]}.json"
    # Both kept byte for byte (write-once), and a redelivery of either returns its own snapshot.
    assert store.read_bytes(info.name) == export_bytes()
    assert store.read_bytes(other.name) == reformatted_export()
    assert save(store, reformatted_export(), reason="secondary-backup") == other
    assert len(store.list("LoanAgreements")) == 2
    assert store.latest("LoanAgreements", reason="secondary-backup") == other


def test_a_name_taken_by_other_bytes_is_never_overwritten(
    container: ContainerClient, clock: FakeClock
) -> None:
    store = SnapshotStore(container, clock)
    info = save(store, export_bytes())
    sha12 = hashlib.sha256(reformatted_export()).hexdigest()[:12]
    # Something else already sits under the fallback name too: refused, nothing overwritten.
    container.upload_blob(f"{info.name.removesuffix('.json')}-{sha12}.json", b"{}", metadata=dict(
        store.get(info.name).metadata(), sha256="0" * 64))  # fmt: skip
    with pytest.raises(SnapshotExists):
        save(store, reformatted_export())
    assert store.read_bytes(info.name) == export_bytes()


def test_list_is_newest_first_per_project(container: ContainerClient, clock: FakeClock) -> None:
    store = SnapshotStore(container, clock)
    first = store.save_bytes(
        "LoanAgreements", export_bytes(3), source_endpoint=ENDPOINT, reason="primary-export"
    )
    clock.advance(60)
    second = store.save_bytes(
        "LoanAgreements", export_bytes(5), source_endpoint=ENDPOINT, reason="secondary-backup"
    )
    other = json.dumps(single_label_project(documents=3).export).encode()
    store.save_bytes("SupportTickets", other, source_endpoint=ENDPOINT, reason="primary-export")
    assert [i.name for i in store.list("LoanAgreements")] == [second.name, first.name]
    assert store.latest("LoanAgreements", reason="primary-export") == first
    assert store.list("Nothing") == []


def test_unsafe_exports_are_never_stored(container: ContainerClient, clock: FakeClock) -> None:
    store = SnapshotStore(container, clock)
    body = ner_project(documents=3).export
    body["assets"]["projectKind"] = "CustomSingleLabelClassification"
    with pytest.raises(UnsafeExport, match="kind mismatch"):
        store.save_bytes("LoanAgreements", json.dumps(body).encode(), source_endpoint=ENDPOINT, reason="x")
    with pytest.raises(UnsafeExport, match="empty"):
        store.save_stream("LoanAgreements", iter([b""]), source_endpoint=ENDPOINT, reason="x")
    assert store.list("LoanAgreements") == []


def test_streams_in_chunks(container: ContainerClient, clock: FakeClock) -> None:
    store = SnapshotStore(container, clock)
    data = export_bytes(24)
    chunks = (data[i : i + 1000] for i in range(0, len(data), 1000))
    info = store.save_stream("LoanAgreements", chunks, source_endpoint=ENDPOINT, reason="primary-export")
    assert store.validate(info.name).document_count == 24
    with store.open(info.name) as reader:
        assert len(reader) == len(data)
        assert b"".join(iter(lambda: reader.read(777), b"")) == data


def test_a_damaged_snapshot_is_caught_before_its_last_bytes(
    container: ContainerClient, clock: FakeClock
) -> None:
    store = SnapshotStore(container, clock)
    info = store.save_bytes(
        "LoanAgreements", export_bytes(), source_endpoint=ENDPOINT, reason="primary-export"
    )
    blob = container.get_blob_client(info.name)
    metadata = blob.get_blob_properties().metadata
    damaged = export_bytes().replace(b'"Train"', b'"Test!"', 1)
    blob.upload_blob(damaged, overwrite=True, metadata=metadata)  # same size, other bytes
    with pytest.raises(SnapshotCorrupt, match="sha256"), store.open(info.name) as reader:
        reader.read()
    with pytest.raises(SnapshotCorrupt):
        store.validate(info.name)
    with pytest.raises(SnapshotCorrupt, match="sha256"):
        store.summarise(info.name)
    with pytest.raises(SnapshotNotFound):
        store.get("LoanAgreements/absent.json")


def test_a_summary_of_a_snapshot_matches_the_snapshot_parsed_whole(
    container: ContainerClient, clock: FakeClock
) -> None:
    store = SnapshotStore(container, clock)
    info = save(store, reformatted_export())
    summary, export = store.summarise(info.name), store.validate(info.name)
    assert summary.content_hash == info.content_hash == export.content_hash()
    assert summary.counts() == export.counts() and summary.document_count == info.documents
    assert summary.locations == export.document_locations()


def test_a_snapshot_whose_recorded_hash_differs_is_refused_by_its_summary(
    container: ContainerClient, clock: FakeClock
) -> None:
    store = SnapshotStore(container, clock)
    info = save(store, export_bytes())
    blob = container.get_blob_client(info.name)
    blob.set_blob_metadata({**blob.get_blob_properties().metadata, "content_hash": "0" * 64})
    with pytest.raises(SnapshotCorrupt, match="content hash"):
        store.summarise(info.name)


SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.mark.reference_data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
def test_microsofts_movie_sample_is_stored_and_imported_with_one_kind_spelling(
    container: ContainerClient, clock: FakeClock
) -> None:
    data = (SHARED_DATA / "custom-multi-class-movie-summaries" / "movieLabels.json").read_bytes()
    store = SnapshotStore(container, clock)
    info = store.save_bytes("Movies", data, source_endpoint=ENDPOINT, reason="primary-export")
    assert (info.documents, info.project_kind) == (210, "CustomMultiLabelClassification")
    assert store.read_bytes(info.name) == data  # stored exactly as exported (CRLF, indentation)
    body = json.loads(store.validate(info.name).with_container("movies"))
    assert body["assets"]["projectKind"] == body["metadata"]["projectKind"]

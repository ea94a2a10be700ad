"""Documents against Azurite: copied byte for byte into the other account, identical ones skipped."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.sample_project import ner_project, upload_documents
from localdev.services import Azurite
from shared.storage import documents
from shared.storage.documents import container_fingerprint, copy_documents, missing_documents


@pytest.fixture
def accounts(azurite: Azurite) -> tuple[BlobServiceClient, BlobServiceClient]:
    return (
        BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")),
        BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs")),
    )


def seeded(
    accounts: tuple[BlobServiceClient, BlobServiceClient], documents: int = 6
) -> tuple[ContainerClient, ContainerClient, list[str], dict[str, str]]:
    sample = ner_project(documents=documents)
    source = accounts[0].get_container_client(sample.container)
    upload_documents(source, sample)
    return (
        source,
        accounts[1].get_container_client(sample.container),
        sorted(sample.documents),
        sample.documents,
    )


def test_copies_exact_bytes_and_creates_the_container(
    accounts: tuple[BlobServiceClient, BlobServiceClient],
) -> None:
    source, target, locations, texts = seeded(accounts)
    report = copy_documents(source, target, locations)
    assert sorted(report.copied) == locations
    assert report.skipped_identical == [] and report.missing == [] and report.complete
    for location in locations:
        copied = target.get_blob_client(location).download_blob().readall()
        assert copied == source.get_blob_client(location).download_blob().readall()
        assert copied.decode("utf-8") == texts[location]  # CRLF and emoji intact
    assert any("\r\n" in text for text in texts.values())


def test_copies_in_batches_lose_and_repeat_nothing(
    accounts: tuple[BlobServiceClient, BlobServiceClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "COPY_BATCH", 2)  # 7 documents: three full batches and one short
    source, target, locations, texts = seeded(accounts, documents=7)
    report = copy_documents(source, target, [*locations, "absent.txt"])
    assert report.copied == locations and report.missing == ["absent.txt"]
    assert {blob.name: blob.size for blob in target.list_blobs()} == {
        location: len(texts[location].encode("utf-8")) for location in locations}


def test_identical_documents_are_skipped_and_edited_ones_recopied(
    accounts: tuple[BlobServiceClient, BlobServiceClient],
) -> None:
    source, target, locations, _ = seeded(accounts)
    copy_documents(source, target, locations)
    source.get_blob_client(locations[0]).upload_blob(b"edited text", overwrite=True)
    report = copy_documents(source, target, locations)
    assert report.copied == [locations[0]]
    assert sorted(report.skipped_identical) == locations[1:]
    assert target.get_blob_client(locations[0]).download_blob().readall() == b"edited text"


def test_missing_source_documents_are_reported(accounts: tuple[BlobServiceClient, BlobServiceClient]) -> None:
    source, target, locations, _ = seeded(accounts)
    report = copy_documents(source, target, [*locations, "absent.txt"])
    assert report.missing == ["absent.txt"]
    assert not report.complete
    assert report.to_json()["missing"] == ["absent.txt"]
    assert missing_documents(target, [*locations, "absent.txt", "also.txt"]) == ["absent.txt", "also.txt"]
    assert missing_documents(accounts[1].get_container_client("nothing-here"), ["a.txt"]) == ["a.txt"]


def test_fingerprint_follows_text_edits_not_rewrites(
    accounts: tuple[BlobServiceClient, BlobServiceClient],
) -> None:
    source, _, locations, texts = seeded(accounts)
    before = container_fingerprint(source, locations)
    assert container_fingerprint(source) == before  # only the project's documents are there
    # Rewriting the same bytes changes the ETag but not the content: no drift.
    source.get_blob_client(locations[1]).upload_blob(texts[locations[1]].encode(), overwrite=True)
    assert container_fingerprint(source, locations) == before
    source.get_blob_client(locations[1]).upload_blob(b"different", overwrite=True)
    edited = container_fingerprint(source, locations)
    assert edited != before
    source.get_blob_client("unrelated.txt").upload_blob(b"x")
    assert container_fingerprint(source, locations) == edited
    source.get_blob_client(locations[2]).delete_blob()
    assert container_fingerprint(source, locations) != edited


def test_comparing_identical_containers_holds_one_listing_page_not_the_whole_listing(
    accounts: tuple[BlobServiceClient, BlobServiceClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents step when the target already holds every document (what the memory benchmark runs):
    memory follows the listing page, not the project. A small size, pages of a tenth of it."""
    import tracemalloc

    source, target, locations, _ = seeded(accounts, documents=200)
    copy_documents(source, target, locations)

    def peak(page: int) -> int:
        monkeypatch.setattr(documents, "LISTING_PAGE", page)
        tracemalloc.start()
        try:
            report = copy_documents(source, target, locations)
            traced = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(report.skipped_identical) == 200 and not report.copied
        return traced

    whole, paged = peak(200), peak(20)
    # A page is held parsed (about 11 KB a blob); the kept tokens are 24 bytes a blob.
    assert paged < whole / 3, f"{paged} bytes at peak with pages of 20, {whole} with one page of 200"

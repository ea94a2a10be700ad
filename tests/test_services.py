"""The local stand-ins start, answer and reset: every other integration test relies on them."""

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.services import Azurite


def test_azurite_serves_each_account_separately(azurite: Azurite) -> None:
    primary = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    secondary = BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs"))
    primary.create_container("docs").upload_blob("a.txt", b"hello")
    assert [c.name for c in primary.list_containers()] == ["docs"]
    assert list(secondary.list_containers()) == []


def test_azurite_is_cleared_between_tests(azurite: Azurite) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    assert list(blobs.list_containers()) == []


def test_an_old_azurite_is_recycled_on_the_same_ports_instead_of_cleared() -> None:
    import time

    from localdev.services import RECYCLE_AFTER

    own = Azurite().start()
    try:
        blobs = BlobServiceClient.from_connection_string(own.connection_string("primarydocs"))
        blobs.create_container("docs").upload_blob("a.txt", b"hello")
        first_pid = own.process.pid if own.process else None
        own.started_at = time.monotonic() - RECYCLE_AFTER - 1  # as if it had served a long session

        own.clear()

        assert own.process is not None and own.process.pid != first_pid  # a fresh process...
        assert list(blobs.list_containers()) == []  # ...on the same ports, holding nothing
        blobs.create_container("again")
    finally:
        own.stop()


@pytest.mark.integration
def test_azurite_with_name_lookups_finds_the_blob_of_its_own_account_and_container() -> None:
    """The benchmarks' Azurite (localdev/azurite_name_lookups.js) looks blobs up by name first: the same
    name in two containers of two accounts must still be four blobs, each read, replaced and listed alone."""
    own = Azurite(name_lookups=True).start()
    try:
        folders = {(account, container): BlobServiceClient.from_connection_string(
                       own.connection_string(account)).get_container_client(container)
                   for account in ("primarydocs", "secondarydocs") for container in ("one", "two")}
        for (account, container), folder in folders.items():
            folder.create_container()
            folder.upload_blob("same.txt", f"{account}/{container}".encode())

        folders["secondarydocs", "one"].upload_blob("same.txt", b"replaced", overwrite=True)

        for (account, container), folder in folders.items():
            expected = b"replaced" if (account, container) == ("secondarydocs", "one") \
                else f"{account}/{container}".encode()
            assert folder.download_blob("same.txt").readall() == expected
            assert [blob.name for blob in folder.list_blobs()] == ["same.txt"]
    finally:
        own.stop()

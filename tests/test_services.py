"""The local stand-ins start, answer and reset: every other integration test relies on them."""

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

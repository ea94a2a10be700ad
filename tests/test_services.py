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

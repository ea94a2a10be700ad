"""Connections resolved like the Functions host: a value, a name, or identity-based settings."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AccessToken

from localdev.services import Azurite
from shared.connections import CredentialSpec
from shared.settings import SettingsError
from shared.storage.clients import (
    BLOB_DOWNLOAD_CHUNK,
    STORAGE_TIMEOUTS,
    blob_service_client,
    documents_blob_service,
    queue_service_client,
)


class RecordingFactory:
    def __init__(self) -> None:
        self.specs: list[CredentialSpec] = []

    def __call__(self, spec: CredentialSpec) -> Any:
        self.specs.append(spec)
        return StaticCredential()


class StaticCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("t", 4102444800)


def test_a_connection_string_value_and_a_named_one_reach_azurite(azurite: Azurite) -> None:
    connection = azurite.connection_string()
    direct = blob_service_client(connection, {})
    direct.create_container("direct")
    named = blob_service_client("MyStorage", {"MyStorage": connection})
    assert [c.name for c in named.list_containers()] == ["direct"]
    queues = queue_service_client("AzureWebJobsStorage", {"AzureWebJobsStorage": connection})
    queues.create_queue("replication-steps")
    assert [q.name for q in queues.list_queues()] == ["replication-steps"]


def test_identity_based_connection_uses_managed_identity() -> None:
    factory = RecordingFactory()
    environ = {
        "Snapshots__blobServiceUri": "https://acct.blob.core.windows.net/",
        "Snapshots__queueServiceUri": "https://acct.queue.core.windows.net",
        "Snapshots__credential": "managedidentity",
        "Snapshots__clientId": "1111-2222",
    }
    client = blob_service_client("Snapshots", environ, factory, setting="SNAPSHOT_STORAGE")
    assert client.url.startswith("https://acct.blob.core.windows.net")
    assert factory.specs == [CredentialSpec("managedidentity", client_id="1111-2222")]
    queues = queue_service_client("Snapshots", environ, factory)
    assert queues.url.startswith("https://acct.queue.core.windows.net")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "resolves to nothing"),
        ({"Snap": "not a connection string"}, "not a storage connection string"),
        ({"Snap__blobServiceUri": "http://acct.blob.core.windows.net"}, "https"),
        (
            {"Snap__blobServiceUri": "https://a.blob.core.windows.net", "Snap__credential": "secret"},
            "managedidentity",
        ),
    ],
)
def test_unresolvable_connections_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        blob_service_client("Snap", environ, RecordingFactory(), setting="SNAPSHOT_STORAGE")
    assert "SNAPSHOT_STORAGE" in str(caught.value) or "Snap" in str(caught.value)


def test_documents_storage_takes_a_connection_string_or_an_account_url(azurite: Azurite) -> None:
    factory = RecordingFactory()
    with_key = documents_blob_service(azurite.connection_string("primarydocs"), "PRIMARY_DOCUMENTS_STORAGE")
    with_key.create_container("loans")
    by_url = documents_blob_service(
        "https://docs.blob.core.windows.net", "SECONDARY_DOCUMENTS_STORAGE", factory
    )
    assert by_url.account_name == "docs"
    assert factory.specs == [CredentialSpec("default")]
    with pytest.raises(SettingsError, match="SECONDARY_DOCUMENTS_STORAGE"):
        documents_blob_service("nonsense", "SECONDARY_DOCUMENTS_STORAGE", factory)


def test_a_broken_connection_string_does_not_leak_its_key() -> None:
    with pytest.raises(SettingsError) as caught:
        blob_service_client("AccountKey=SECRETKEY;BlobEndpoint=", {}, setting="SNAPSHOT_STORAGE")
    assert "SECRETKEY" not in str(caught.value)


def test_blob_clients_stream_downloads_in_small_gets_instead_of_reading_a_blob_whole() -> None:
    # The SDK's default first get is 32 MiB: a snapshot under that size would sit in memory whole.
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
    )
    for client in (
        blob_service_client(connection, {}),
        documents_blob_service(connection, "PRIMARY_DOCUMENTS_STORAGE"),
    ):
        assert client._config.max_single_get_size == BLOB_DOWNLOAD_CHUNK
        assert client._config.max_chunk_get_size == BLOB_DOWNLOAD_CHUNK
        container = client.get_container_client("snapshots")
        assert container._config.max_single_get_size == BLOB_DOWNLOAD_CHUNK


def test_a_stalled_storage_request_is_given_up_in_seconds_not_the_sdk_s_minute() -> None:
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:2/devstoreaccount1;"
    )
    for client in (blob_service_client(connection, {}), queue_service_client(connection, {}),
                   documents_blob_service(connection, "PRIMARY_DOCUMENTS_STORAGE")):
        transport = client._pipeline._transport
        assert transport.connection_config.timeout == STORAGE_TIMEOUTS["connection_timeout"]
        assert transport.connection_config.read_timeout == STORAGE_TIMEOUTS["read_timeout"] < 60

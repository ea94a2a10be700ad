"""Storage connections parsed like the Functions host does, without the storage SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.connections import CredentialSpec, resolve_connection
from shared.errors import SettingsError
from shared.storage.clients import documents_blob_service


def test_service_uri_and_account_name_forms() -> None:
    assert resolve_connection(
        "X", {"X__serviceUri": "https://a.blob.core.windows.net"}, "blob"
    ).service_url == ("https://a.blob.core.windows.net")
    by_name = resolve_connection("AzureWebJobsStorage", {"AzureWebJobsStorage__accountName": "acct"}, "queue")
    assert by_name.service_url == "https://acct.queue.core.windows.net"
    assert by_name.credential == CredentialSpec("default")
    colon = resolve_connection("X", {"X:blobServiceUri": "https://c.blob.core.windows.net"}, "blob")
    assert colon.service_url == "https://c.blob.core.windows.net"


def test_settings_resolve_connections_without_loading_the_storage_sdk() -> None:
    """Why parsing lives apart from the clients: settings validation stays cheap and cycle-free."""
    probe = ("import sys, shared.settings, shared.connections; "
             "print(sorted(m for m in sys.modules if m.startswith('azure.storage')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            timeout=60).stdout.strip()
    assert loaded == "[]"


MISTYPED = "AcountName=acct;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net"


def test_a_mistyped_connection_string_is_named_not_echoed_nor_taken_for_a_connection_name() -> None:
    with pytest.raises(SettingsError) as refused:
        resolve_connection(MISTYPED, {}, "blob", setting="SNAPSHOT_STORAGE")
    assert refused.value.setting == "SNAPSHOT_STORAGE"
    assert "neither a storage connection string" in str(refused.value)
    assert "c2VjcmV0a2V5" not in str(refused.value) and "acct" not in str(refused.value)


def test_an_account_key_that_is_not_base64_names_the_setting_at_start_up() -> None:
    value = "AccountName=acct;AccountKey=not*base64!;EndpointSuffix=core.windows.net"
    with pytest.raises(SettingsError) as refused:
        resolve_connection(value, {}, "blob", setting="SNAPSHOT_STORAGE")
    assert refused.value.setting == "SNAPSHOT_STORAGE" and "not base64" in str(refused.value)
    assert "not*base64" not in str(refused.value)
    with pytest.raises(SettingsError) as documents:
        documents_blob_service(value, "PRIMARY_DOCUMENTS_STORAGE")
    assert documents.value.setting == "PRIMARY_DOCUMENTS_STORAGE"


def test_a_connection_name_from_a_setting_that_resolves_to_nothing_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as refused:
        resolve_connection("MyConnection", {}, "blob", setting="SNAPSHOT_STORAGE")
    assert "MyConnection" not in str(refused.value) and "resolves to nothing" in str(refused.value)

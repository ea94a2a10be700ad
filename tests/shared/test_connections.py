"""Storage connections parsed like the Functions host does, without the storage SDK."""

from __future__ import annotations

import subprocess
import sys

from shared.connections import CredentialSpec, resolve_connection


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

"""Storage SDK clients for the connections `shared.connections` resolves (as the Functions host does).

Document storage settings (PRIMARY/SECONDARY_DOCUMENTS_STORAGE) take a connection string or an account URL.
Credentials are built only when a connection needs one, through an injectable factory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from shared.connections import (
    CredentialSpec,
    connection_string_problem,
    is_account_url,
    is_connection_string,
    resolve_connection,
)
from shared.errors import SettingsError

ClientT = TypeVar("ClientT", BlobServiceClient, QueueServiceClient)


StorageCredentialFactory = Callable[[CredentialSpec], TokenCredential]


def default_storage_credential_factory(spec: CredentialSpec) -> TokenCredential:
    """azure-identity credentials, imported and built only when a connection needs one."""
    from azure import identity

    if spec.kind == "managedidentity":
        return identity.ManagedIdentityCredential(client_id=spec.client_id)
    if spec.kind == "clientsecret" and spec.tenant_id and spec.client_id and spec.client_secret:
        return identity.ClientSecretCredential(spec.tenant_id, spec.client_id, spec.client_secret)
    return identity.DefaultAzureCredential(managed_identity_client_id=spec.client_id)


def blob_service_client(
    name_or_value: str,
    environ: Mapping[str, str],
    credential_factory: StorageCredentialFactory = default_storage_credential_factory,
    *,
    setting: str | None = None,
) -> BlobServiceClient:
    return _service_client(BlobServiceClient, "blob", name_or_value, environ, credential_factory, setting)


def queue_service_client(
    name_or_value: str,
    environ: Mapping[str, str],
    credential_factory: StorageCredentialFactory = default_storage_credential_factory,
    *,
    setting: str | None = None,
) -> QueueServiceClient:
    return _service_client(QueueServiceClient, "queue", name_or_value, environ, credential_factory, setting)


# The blob SDK fetches the first 32 MiB of any download in one request before `.chunks()` streams, so
# a snapshot or export under that size would be read whole into memory (and joined once more). Smaller
# gets keep every read of ours streamed, whatever the blob's size. 1 MiB, not 4: a chunk is held about
# three times over while it is verified and parsed, which at 4 MiB grew with every export up to 12 MiB
# (the bench's memory per export byte fell from 1.98 to 1.71 between 1,000 and 10,000 documents).
BLOB_DOWNLOAD_CHUNK = 1024 * 1024


# Our storage requests are small (JSON state, a 4 MiB chunk, a queue message), so a stalled one is given
# up after this and retried on a fresh connection by the SDK's retry policy, instead of holding a slice
# (or an HTTP answer, bound by 230 s) for the SDK's default minute per attempt.
STORAGE_TIMEOUTS = {"connection_timeout": 10, "read_timeout": 20}


def _options(client_type: type[ClientT]) -> dict[str, Any]:
    if client_type is BlobServiceClient:
        return {"max_single_get_size": BLOB_DOWNLOAD_CHUNK, "max_chunk_get_size": BLOB_DOWNLOAD_CHUNK,
                **STORAGE_TIMEOUTS}
    return dict(STORAGE_TIMEOUTS)


def _service_client(
    client_type: type[ClientT],
    service: str,
    name_or_value: str,
    environ: Mapping[str, str],
    credential_factory: StorageCredentialFactory,
    setting: str | None,
) -> ClientT:
    resolved = resolve_connection(name_or_value, environ, service, setting=setting)
    if resolved.connection_string is not None:
        return _from_connection_string(client_type, resolved.connection_string, setting or "connection")
    assert resolved.service_url is not None and resolved.credential is not None
    return client_type(
        resolved.service_url, credential=credential_factory(resolved.credential), **_options(client_type)
    )


def documents_blob_service(
    value: str,
    setting: str,
    credential_factory: StorageCredentialFactory = default_storage_credential_factory,
    *,
    client_id: str | None = None,
) -> BlobServiceClient:
    """Document storage: a connection string, or an account URL reached with our identity."""
    text = value.strip()
    if is_connection_string(text):
        problem = connection_string_problem(text)
        if problem is not None:
            raise SettingsError(setting, problem)
        return _from_connection_string(BlobServiceClient, text, setting)
    if is_account_url(text):
        return BlobServiceClient(
            text.rstrip("/"), credential=credential_factory(CredentialSpec(client_id=client_id)),
            **_options(BlobServiceClient),
        )
    raise SettingsError(setting, "must be a storage connection string or an https account URL")


def _from_connection_string(client_type: type[ClientT], connection_string: str, setting: str) -> ClientT:
    try:
        return client_type.from_connection_string(connection_string, **_options(client_type))
    except (ValueError, KeyError, TypeError):
        # Never echo the value: it carries an account key.
        raise SettingsError(setting, "is not a valid storage connection string") from None

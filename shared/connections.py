"""Storage connection settings, parsed exactly the way the Azure Functions host resolves them.

Pure parsing: no SDK client and no credential is built here (that is `shared.storage.clients`), so
settings validation can resolve a connection at start-up without importing the storage SDK.

A connection is either a connection string value, or the name X of a connection: the setting X holding
a connection string, else the identity-based form `X__blobServiceUri` / `X__queueServiceUri` (or
`X__serviceUri`, `X__accountName`) with `X__credential=managedidentity` and `X__clientId`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import SettingsError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class CredentialSpec:
    """Which identity a connection asks for (from `X__credential`, `X__clientId`, ...)."""

    kind: str = "default"  # "default" (DefaultAzureCredential) | "managedidentity" | "clientsecret"
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:
        return f"CredentialSpec(kind={self.kind!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class ResolvedConnection:
    """Either a connection string or a service URL plus the identity to reach it with."""

    connection_string: str | None = None
    service_url: str | None = None
    credential: CredentialSpec | None = None

    def __repr__(self) -> str:
        if self.connection_string is not None:
            return "ResolvedConnection(connection_string='***')"
        return f"ResolvedConnection(service_url={self.service_url!r}, credential={self.credential!r})"


def is_connection_string(value: str) -> bool:
    text = value.strip()
    if text.lower().startswith("usedevelopmentstorage="):
        return True
    keys = {part.split("=", 1)[0].strip().lower() for part in text.split(";") if "=" in part}
    return bool(keys & {"accountname", "blobendpoint", "queueendpoint", "sharedaccesssignature"})


def is_account_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    return (parts.scheme == "https" and bool(host)) or (parts.scheme == "http" and host in LOOPBACK_HOSTS)


def resolve_connection(
    name_or_value: str, environ: Mapping[str, str], service: str, *, setting: str | None = None
) -> ResolvedConnection:
    """Resolve a connection for `service` ("blob" or "queue") like the Functions host does."""
    label = setting or name_or_value
    value = name_or_value.strip()
    if not value:
        raise SettingsError(label, "is empty: set a connection string or a connection name")
    if is_connection_string(value):
        return ResolvedConnection(connection_string=value)
    if "://" in value:
        raise SettingsError(
            label,
            "is a URL; give a connection string, or the name X of a connection with X__blobServiceUri "
            "and X__queueServiceUri set (the Functions host's identity-based form)",
        )
    # A connection name: the setting itself, then the host's AzureWebJobs-prefixed fallback.
    for candidate in (value, f"AzureWebJobs{value}"):
        found = (environ.get(candidate) or "").strip()
        if found:
            if is_connection_string(found):
                return ResolvedConnection(connection_string=found)
            raise SettingsError(candidate, "is set but is not a storage connection string")
    section = _section(environ, value)
    url = section.get(f"{service}serviceuri") or section.get("serviceuri")
    if not url and section.get("accountname"):
        url = f"https://{section['accountname']}.{service}.core.windows.net"
    if not url:
        raise SettingsError(
            label,
            f"resolves to nothing: set {value} to a connection string, or {value}__{service}ServiceUri "
            f"(with {value}__credential=managedidentity and {value}__clientId for a user-assigned identity)",
        )
    if not is_account_url(url):
        raise SettingsError(f"{value}__{service}ServiceUri", "must be an https URL")
    credential_kind = (section.get("credential") or "").lower()
    if credential_kind and credential_kind != "managedidentity":
        raise SettingsError(f"{value}__credential", "the only supported value is managedidentity")
    if credential_kind == "managedidentity":
        spec = CredentialSpec("managedidentity", client_id=section.get("clientid"))
    elif section.get("clientsecret") and section.get("tenantid") and section.get("clientid"):
        spec = CredentialSpec(
            "clientsecret", section["clientid"], section["tenantid"], section["clientsecret"]
        )
    else:
        spec = CredentialSpec("default", client_id=section.get("clientid"))
    return ResolvedConnection(service_url=url.rstrip("/"), credential=spec)


def _section(environ: Mapping[str, str], name: str) -> dict[str, str]:
    """The `X__key` settings of connection X, keys lower-cased (the host is case-insensitive)."""
    prefix = f"{name}__".lower()
    section: dict[str, str] = {}
    for key, value in environ.items():
        # The host also accepts ':' as the section separator.
        normalised = key.replace(":", "__").lower()
        if normalised.startswith(prefix) and value and value.strip():
            section[normalised[len(prefix) :]] = value.strip()
    return section

"""Storage connection settings, parsed exactly the way the Azure Functions host resolves them.

Pure parsing: no SDK client and no credential is built here (that is `shared.storage.clients`), so
settings validation can resolve a connection at start-up without importing the storage SDK.

A connection is either a connection string value, or the name X of a connection: the setting X holding
a connection string, else the identity-based form `X__blobServiceUri` / `X__queueServiceUri` (or
`X__serviceUri`, `X__accountName`) with `X__credential=managedidentity` and `X__clientId`.
"""

from __future__ import annotations

import base64
import binascii
import re
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


def connection_string_problem(value: str) -> str | None:
    """What makes a connection string unusable before any request is signed, or None; never its value."""
    parts = dict(
        (name.strip().lower(), text.strip()) for name, _, text in
        (part.partition("=") for part in value.split(";") if "=" in part)
    )
    key = parts.get("accountkey")
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except (ValueError, binascii.Error):
            return "has an AccountKey that is not base64: copy the connection string again from the portal"
    return None


# What a connection *name* can be: an app setting's name (the host also accepts ':' as a separator).
_CONNECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_:]{0,127}")


def resolve_connection(
    name_or_value: str, environ: Mapping[str, str], service: str, *, setting: str | None = None
) -> ResolvedConnection:
    """Resolve a connection for `service` ("blob" or "queue") like the Functions host does.

    Errors name `setting` (or the connection name), never the value: it may be a connection string
    with a typo, whose account key would otherwise be shown.
    """
    value = name_or_value.strip()
    label = setting or (value if _CONNECTION_NAME.fullmatch(value) else "connection")
    if not value:
        raise SettingsError(label, "is empty: set a connection string or a connection name")
    if is_connection_string(value):
        return _checked_connection_string(label, value)
    if "://" in value:
        raise SettingsError(
            label,
            "is a URL; give a connection string, or the name X of a connection with X__blobServiceUri "
            "and X__queueServiceUri set (the Functions host's identity-based form)",
        )
    if not _CONNECTION_NAME.fullmatch(value):
        raise SettingsError(
            label,
            "is neither a storage connection string (none of AccountName, BlobEndpoint, QueueEndpoint, "
            "SharedAccessSignature or UseDevelopmentStorage is spelled right) nor the name of a connection",
        )
    # A connection name: the setting itself, then the host's AzureWebJobs-prefixed fallback.
    for candidate in (value, f"AzureWebJobs{value}"):
        found = (environ.get(candidate) or "").strip()
        if found:
            if is_connection_string(found):
                return _checked_connection_string(candidate, found)
            raise SettingsError(candidate, "is set but is not a storage connection string")
    section = _section(environ, value)
    url = section.get(f"{service}serviceuri") or section.get("serviceuri")
    if not url and section.get("accountname"):
        url = f"https://{section['accountname']}.{service}.core.windows.net"
    if not url:
        # The connection name is this setting's value: shown only when it is the name we were given.
        name = "X" if setting else value
        raise SettingsError(
            label,
            f"resolves to nothing: {'it is read as the name X of a connection, so ' if setting else ''}set "
            f"{name} to a connection string, or {name}__{service}ServiceUri (with "
            f"{name}__credential=managedidentity and {name}__clientId for a user-assigned identity)",
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


def _checked_connection_string(setting: str, value: str) -> ResolvedConnection:
    problem = connection_string_problem(value)
    if problem is not None:
        raise SettingsError(setting, problem)
    return ResolvedConnection(connection_string=value)


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

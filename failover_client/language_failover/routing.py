"""Follow a promotion: prefer the region the replicator's operators declared the acting primary.

During an outage the replicator's `promote` writes a small JSON record (the promotion) to its own
blob container (ROUTING_CONTAINER, default `routing`); `failback` deletes it. A client that reads it
sends requests to the acting primary first until failback, without a code change or a restart, and
so stops sending writes-after-reads to a primary that came back with stale models.

Callers need only Storage Blob Data Reader on that one container. The record is cached for
ROUTING_CACHE_SECONDS (default 60); when it cannot be read (no permission, storage down, garbage)
the client keeps its configured order and says so once in its log, and asks again after the TTL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential

_LOGGER = logging.getLogger("language_failover")

__all__ = [
    "DEFAULT_ROUTING_CACHE_SECONDS",
    "RoutingFollower",
    "RoutingReader",
    "blob_reader",
    "follower_from_values",
    "normalize_endpoint",
]

DEFAULT_ROUTING_CACHE_SECONDS = 60.0
# The only hosts a routing URL (which may carry a SAS) is read from over plain http.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The blob's bytes, or None when there is no record (normal direction). Raises when it cannot tell.
RoutingReader = Callable[[], bytes | None]
_STORAGE_SCOPE = "https://storage.azure.com/.default"
_STORAGE_API_VERSION = "2023-11-03"


def normalize_endpoint(endpoint: str) -> str:
    return endpoint.strip().rstrip("/").lower()


class RoutingFollower:
    """The acting primary's endpoint, read through `reader` at most once per `ttl` seconds."""

    def __init__(self, reader: RoutingReader, *, ttl: float = DEFAULT_ROUTING_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self._reader = reader
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._expires: float | None = None
        self._preferred: str | None = None
        self._warned = False

    def preferred_endpoint(self) -> str | None:
        """The acting primary's normalized endpoint, or None: keep the configured order."""
        with self._lock:
            now = self._clock()
            if self._expires is not None and now < self._expires:
                return self._preferred
            self._preferred = self._read()
            self._expires = now + self._ttl
            return self._preferred

    def _read(self) -> str | None:
        try:
            raw = self._reader()
            if raw is None:
                self._warned = False
                return None
            data: Any = json.loads(raw)
            endpoint = data["actingPrimary"]["endpoint"]
            if not isinstance(endpoint, str) or not endpoint:
                raise ValueError("the promotion names no endpoint")
        except Exception as error:  # unreadable for any reason: the configured order is the safe answer
            if not self._warned:
                _LOGGER.warning("cannot read the promotion record (%s); keeping the configured region order",
                                type(error).__name__)
                self._warned = True
            return None
        self._warned = False
        return normalize_endpoint(endpoint)


def blob_reader(url: str, credential: TokenCredential | None) -> RoutingReader:
    """Read the record at `url` (https://<account>.blob.core.windows.net/routing/promotion.json) with
    Microsoft Entra ID (`credential`), or with the SAS the URL carries when `credential` is None."""
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import (
        BearerTokenCredentialPolicy,
        HeadersPolicy,
        HTTPPolicy,
        RetryPolicy,
    )
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    policies: list[Any] = [HeadersPolicy({"x-ms-version": _STORAGE_API_VERSION}),
                           RetryPolicy(retry_total=1, timeout=10)]
    if credential is not None:
        auth: HTTPPolicy[Any, Any] = BearerTokenCredentialPolicy(credential, _STORAGE_SCOPE)
        policies.append(auth)
    pipeline: Pipeline[Any, Any] = Pipeline(RequestsTransport(connection_timeout=5, read_timeout=10),
                                            policies=policies)

    def read() -> bytes | None:
        response = pipeline.run(HttpRequest("GET", url)).http_response
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        body: bytes = response.body()
        return body

    return read


def follower_from_values(values: Mapping[str, str], credential: Callable[[], TokenCredential]
                         ) -> RoutingFollower | None:
    """A follower when ROUTING_URL is set (else None: the configured order only).

    ROUTING_URL is the promotion record's blob URL; with a SAS in it no credential is used, else
    `credential()` (Microsoft Entra ID). ROUTING_CACHE_SECONDS sets the cache's lifetime.
    Raises ValueError naming the setting that is malformed, never its value.
    """
    url = (values.get("ROUTING_URL") or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    # The URL may carry a SAS: plain http only to this machine (the emulator and Azurite in tests).
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)):
        raise ValueError("ROUTING_URL must be an https URL of the promotion record's blob")
    raw_ttl = (values.get("ROUTING_CACHE_SECONDS") or "").strip()
    try:
        ttl = float(raw_ttl) if raw_ttl else DEFAULT_ROUTING_CACHE_SECONDS
    except ValueError:
        raise ValueError("ROUTING_CACHE_SECONDS must be a number of seconds") from None
    if not 0 <= ttl <= 86400:
        raise ValueError("ROUTING_CACHE_SECONDS must be from 0 to 86400")
    signed = "sig=" in url.split("?", 1)[-1] if "?" in url else False
    return RoutingFollower(blob_reader(url, None if signed else credential()), ttl=ttl)

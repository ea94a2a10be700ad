"""Can each configured service be reached at all? One TCP connection per host, all at once, in seconds.

The storage SDK retries an unreachable account for about 80 s before it says anything, and our own
Language client retries a refused connection too; both are right for a blip during a run and wrong
for a typo in a setting. The CLI checks here first and stops with one line naming the setting, and
the doctor reports the same result as a check. A host that answers is not thereby proven right (the
doctor goes further); one that does not answer within the timeout is certainly wrong.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shared.connections import resolve_connection
from shared.settings import HOST_STORAGE_CONNECTION, SettingsError, resource_setting

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine

# Where our own state lives (run manifests, locks, snapshots; the step queue).
STATE_SETTINGS = frozenset({"SNAPSHOT_STORAGE", HOST_STORAGE_CONNECTION})
# Well under the ~15 s a user waits before deciding something hangs; DNS and connect included.
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Endpoint:
    """A service the product talks to, by the setting that names it (never shown: its value)."""

    setting: str
    url: str

    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default


def engine_endpoints(engine: ReplicationEngine, *, host_storage_url: str | None = None) -> list[Endpoint]:
    """Every service the engine's clients reach, each with the setting that configures it."""
    settings = engine.settings
    endpoints = [Endpoint("PRIMARY_LANGUAGE_ENDPOINT", settings.primary.endpoint),
                 Endpoint("PRIMARY_DOCUMENTS_STORAGE", engine.primary_documents.url)]
    for target in settings.targets:
        clients = engine.targets[target.name]
        endpoints.append(Endpoint(resource_setting(target.name, "LANGUAGE_ENDPOINT"),
                                  target.language.endpoint))
        endpoints.append(Endpoint(target.documents_storage_setting, clients.documents.url))
    endpoints.append(Endpoint("SNAPSHOT_STORAGE", engine.state_storage.url))
    if host_storage_url:
        endpoints.append(Endpoint(HOST_STORAGE_CONNECTION, host_storage_url))
    return endpoints


def host_storage_url(values: Mapping[str, str]) -> str | None:
    """The queue service of the Functions host's storage (AzureWebJobsStorage), when one is configured."""
    from azure.storage.queue import QueueServiceClient

    if not (values.get(HOST_STORAGE_CONNECTION) or any(
            name.startswith(f"{HOST_STORAGE_CONNECTION}__") for name in values)):
        return None
    resolved = resolve_connection(HOST_STORAGE_CONNECTION, values, "queue", setting=HOST_STORAGE_CONNECTION)
    if resolved.connection_string is None:
        return resolved.service_url
    try:
        return str(QueueServiceClient.from_connection_string(resolved.connection_string).url)
    except (ValueError, KeyError, TypeError):
        raise SettingsError(HOST_STORAGE_CONNECTION, "is not a valid storage connection string") from None


def unreachable(endpoints: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """The settings whose service did not accept a connection within `timeout`, each with why.

    Every host is tried at once, in daemon threads: a DNS lookup that hangs cannot hold up the answer
    (or the process's exit) beyond `timeout`.
    """
    by_address: dict[tuple[str, int], list[str]] = {}
    for endpoint in endpoints:
        by_address.setdefault(endpoint.address(), []).append(endpoint.setting)
    reasons: dict[tuple[str, int], str] = {}
    lock = threading.Lock()

    def probe(address: tuple[str, int]) -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                reason = ""
        except socket.gaierror:
            reason = "its host name does not resolve"
        except TimeoutError:
            reason = f"no answer within {timeout:g} s"
        except ConnectionRefusedError:
            reason = "the connection was refused"
        except OSError as error:
            reason = f"not reachable ({type(error).__name__})"
        with lock:
            reasons[address] = reason

    threads = [threading.Thread(target=probe, args=(address,), daemon=True) for address in by_address]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 1.0)
    failed: dict[str, str] = {}
    with lock:
        for address, settings in by_address.items():
            reason = reasons.get(address, f"no answer within {timeout:g} s")
            if reason:
                for setting in settings:
                    failed.setdefault(setting, reason)
    return failed


def require_reachable(endpoints: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Raise a SettingsError naming the first setting whose service cannot be reached."""
    failed = unreachable(endpoints, timeout)
    for endpoint in endpoints:
        if endpoint.setting in failed:
            others = [setting for setting in failed if setting != endpoint.setting]
            also = f" (also unreachable: {', '.join(others)})" if others else ""
            raise SettingsError(endpoint.setting, f"cannot be reached: {failed[endpoint.setting]}; check the "
                                f"endpoint or account it names, the network and the service's status{also}")

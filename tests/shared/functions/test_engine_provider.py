"""The worker's one engine: built lazily, once, from the app settings; a bad setting is a clear error."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from shared.engine import ReplicationEngine
from shared.functions.engine_provider import EngineProvider, EngineUnavailable
from shared.settings import SettingsError, settings_from_values
from tests.shared.engine.support import settings_values


def test_the_engine_is_built_once_even_when_many_invocations_ask_at_once() -> None:
    built: list[object] = []
    gate = threading.Event()

    def build() -> Any:
        gate.wait(5)
        engine = object()
        built.append(engine)
        return engine

    provider = EngineProvider(factory=build)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(provider.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(built) == 1
    assert seen == built * 8


def test_a_failed_build_is_not_cached_so_a_fixed_setting_takes_effect() -> None:
    attempts: list[int] = []

    def build() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise SettingsError("SNAPSHOT_STORAGE", "is required")
        return "engine"

    provider = EngineProvider(factory=build)
    with pytest.raises(EngineUnavailable, match="SNAPSHOT_STORAGE: is required"):
        provider.get()
    assert provider.get() == "engine"
    assert provider.get() == "engine"
    assert len(attempts) == 2


def test_a_bug_in_building_is_not_disguised_as_a_settings_problem() -> None:
    def build() -> Any:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        EngineProvider(factory=build).get()


def test_the_default_build_reads_the_environment_and_names_a_missing_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)  # no local.settings.json to fall back on
    monkeypatch.delenv("PRIMARY_LANGUAGE_ENDPOINT", raising=False)
    with pytest.raises(EngineUnavailable, match="PRIMARY_LANGUAGE_ENDPOINT") as raised:
        EngineProvider().get()
    assert raised.value.__cause__ is None  # the message stands alone; no chained secrets in logs


class StaticCredential:
    """An injected token credential: nothing here may reach a real identity endpoint."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 2_000_000_000)


def test_the_step_queue_also_resolves_the_identity_based_host_connection(regions: Any, azurite: Any) -> None:
    """AzureWebJobsStorage__queueServiceUri, as the host accepts it for the trigger, for the producer too."""
    values = settings_values(regions, azurite)
    del values["AzureWebJobsStorage"]
    values["AzureWebJobsStorage__queueServiceUri"] = "https://appstate.queue.core.windows.net"
    values["AzureWebJobsStorage__credential"] = "managedidentity"
    credential = StaticCredential()
    engine = ReplicationEngine.from_settings(settings_from_values(values), credential=credential)
    queue = engine.scheduler.queue  # type: ignore[attr-defined]
    assert queue.url == "https://appstate.queue.core.windows.net/replication-steps"
    assert queue.credential is credential


def test_identity_based_host_storage_alone_serves_the_step_queue_snapshots_and_run_state(
    regions: Any, azurite: Any
) -> None:
    """No key: AzureWebJobsStorage__*ServiceUri with a managed identity, and SNAPSHOT_STORAGE naming it."""
    values = settings_values(regions, azurite)
    del values["AzureWebJobsStorage"]
    values.update({
        "SNAPSHOT_STORAGE": "AzureWebJobsStorage",
        "AzureWebJobsStorage__blobServiceUri": "https://appstate.blob.core.windows.net",
        "AzureWebJobsStorage__queueServiceUri": "https://appstate.queue.core.windows.net",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
    })
    credential = StaticCredential()
    engine = ReplicationEngine.from_settings(settings_from_values(values), credential=credential)
    queue = engine.scheduler.queue  # type: ignore[attr-defined]
    assert queue.url == "https://appstate.queue.core.windows.net/replication-steps"
    assert engine.state_storage.url == "https://appstate.blob.core.windows.net/"
    assert engine.state_storage.credential is credential and queue.credential is credential


def test_identity_based_host_storage_asks_for_the_user_assigned_identity_it_names() -> None:
    from shared.connections import resolve_connection

    environ = {
        "AzureWebJobsStorage__queueServiceUri": "https://appstate.queue.core.windows.net",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "client-1",
    }
    resolved = resolve_connection("AzureWebJobsStorage", environ, "queue")
    assert resolved.service_url == "https://appstate.queue.core.windows.net"
    assert resolved.credential is not None
    assert (resolved.credential.kind, resolved.credential.client_id) == ("managedidentity", "client-1")


def test_identity_based_host_storage_without_the_queue_uri_names_the_missing_setting() -> None:
    from shared.connections import resolve_connection

    environ = {"AzureWebJobsStorage__blobServiceUri": "https://appstate.blob.core.windows.net"}
    with pytest.raises(SettingsError, match="AzureWebJobsStorage__queueServiceUri"):
        resolve_connection("AzureWebJobsStorage", environ, "queue")

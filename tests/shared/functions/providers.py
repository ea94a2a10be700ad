"""Engine providers for adapter tests: one that must never be used, and one with unusable settings."""

from __future__ import annotations

from typing import Any

from shared.functions.engine_provider import EngineProvider
from shared.settings import SettingsError


def provider_of(engine: Any) -> EngineProvider:
    return EngineProvider(factory=lambda: engine)


def unreachable_engine() -> EngineProvider:
    """For requests that must be refused before any engine work (and so before any I/O)."""

    def refuse() -> Any:
        raise AssertionError("the engine must not be built for this request")

    return EngineProvider(factory=refuse)


def unusable_settings(setting: str = "PRIMARY_LANGUAGE_ENDPOINT") -> EngineProvider:
    def fail() -> Any:
        raise SettingsError(setting, "is required")

    return EngineProvider(factory=fail)

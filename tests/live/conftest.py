"""Opt-in: the doctor, a drift check and a full replication against real Azure resources.

Runs only when LANGUAGE_DR_LIVE_SETTINGS names a local.settings.json whose `Values` are the product's
settings for real resources (environment variables of the same names override them, as for the CLI).
Without it every test here is skipped, with that reason, at collection: nothing in this folder opens a
socket then. With it, these tests (and only these) may reach the network, and use the real
DefaultAzureCredential for any resource without a key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.settings import Settings, load_settings

LIVE_SETTINGS = "LANGUAGE_DR_LIVE_SETTINGS"
HERE = Path(__file__).resolve().parent
SKIP_REASON = (f"live tests against real Azure resources: set {LIVE_SETTINGS} to a local.settings.json "
               "naming them (see docs/how-to/deploy.md, 'Prove your set-up')")


def live_settings_file() -> Path | None:
    value = os.environ.get(LIVE_SETTINGS, "").strip()
    return Path(value) if value else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    enabled = live_settings_file() is not None
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.enable_socket if enabled else pytest.mark.skip(reason=SKIP_REASON))
        item.add_marker(pytest.mark.timeout(3 * 3600))  # a real training takes minutes, a queue wait more


@pytest.fixture(scope="session")
def live_settings() -> Settings:
    path = live_settings_file()
    assert path is not None
    return load_settings(os.environ, path)

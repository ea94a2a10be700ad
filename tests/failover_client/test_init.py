"""The package's surface: an explicit `__all__`, `__version__`, and imports that cost nothing until used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import language_failover
from localdev.services import REPO_ROOT


def loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after `code`, run from the failover client's folder."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT / "failover_client", check=True, capture_output=True,
        text=True, timeout=60,
    )
    modules: list[str] = json.loads(result.stdout)
    return modules


def ours_or_azure(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in {"azure", "shared", "emulator", "localdev"}]


def test_importing_the_package_loads_no_sdk() -> None:
    modules = loaded_after("import language_failover\nassert language_failover.__version__")
    assert ours_or_azure(modules) == []
    assert "language_failover.client" not in modules


def test_using_the_client_loads_neither_the_replicator_nor_azure_functions() -> None:
    modules = loaded_after(
        "from language_failover import *\n"
        "import language_failover.settings\n"
        "FailoverTextAnalyticsClient.from_settings({'PRIMARY_LANGUAGE_ENDPOINT': 'https://a.example',"
        " 'PRIMARY_LANGUAGE_KEY': 'k', 'SECONDARY_LANGUAGE_ENDPOINT': 'https://b.example',"
        " 'SECONDARY_LANGUAGE_KEY': 'k'}).close()"
    )
    assert "azure.ai.textanalytics" in modules  # the import above really used the client
    assert [m for m in modules if m.split(".")[0] in {"shared", "emulator", "localdev"}] == []
    assert [m for m in modules if m == "azure.functions" or m.startswith("azure.functions.")] == []


def test_every_public_name_resolves_and_all_lists_exactly_them() -> None:
    exported = language_failover._EXPORTS
    assert sorted(language_failover.__all__) == sorted([*exported, "__version__"])
    for name, module in exported.items():
        value = getattr(language_failover, name)
        assert value.__module__ == f"language_failover.{module}", name
    assert set(language_failover.__all__) <= set(dir(language_failover))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'FailoverClient'"):
        language_failover.FailoverClient  # noqa: B018

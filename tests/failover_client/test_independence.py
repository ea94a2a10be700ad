"""The failover client and the replicator never import each other (import-linter contracts in .importlinter).

The packaging test proves it for one run of the client; this proves it for every module, type-only
imports included. That the deployed app starts without the client is tests/test_function_app.py's
import of function_app with only the repository root on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localdev.services import REPO_ROOT

CONTRACTS = (
    "the failover client (failover_client/, its own distribution) imports no module of the app, the demo "
    "or the emulator KEPT",
    "the replicator never imports the failover client (the app works without it) KEPT",
)


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    environment = os.environ | {"PYTHONPATH": str(REPO_ROOT / "failover_client")}
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=REPO_ROOT, env=environment, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    for contract in CONTRACTS:
        assert contract in report

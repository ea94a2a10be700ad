"""The import contracts (.importlinter) hold, and function_app.py, a module import-linter cannot take
as a root package, imports only the Functions SDK and the adapters."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_function_app_imports_only_the_sdk_and_the_adapters() -> None:
    tree = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported - {"__future__"} <= {"azure.functions", "shared.functions"}


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    # The failover client is a root package of the contracts; .venv does not install it.
    environment = os.environ | {"PYTHONPATH": str(ROOT / "failover_client")}
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]

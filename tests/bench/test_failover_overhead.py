"""The failover overhead benchmark runs end to end (timings are reported, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from localdev.services import REPO_ROOT


def test_tiny_run_writes_a_json_result(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.failover_overhead", "--tiny", "--output", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=110,
    )
    assert completed.returncode == 0, completed.stderr
    (path,) = tmp_path.glob("failover_overhead-*.json")
    result = json.loads(path.read_text())
    assert result["tiny"] is True
    assert result["iterations"] == 3
    for client in ("sdk", "failover"):
        assert set(result[client]) == {"medianMs", "meanMs", "p95Ms", "minMs"}
        assert result[client]["medianMs"] > 0
    assert result["ratio"]["median"] > 0
    assert result["regionStates"] == {"eastus": "closed", "westus2": "closed"}  # the healthy path, throughout
    assert "ratio" in completed.stdout

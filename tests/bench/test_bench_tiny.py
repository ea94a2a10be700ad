"""`./scripts/bench --tiny` runs every figure end to end and writes a well-formed table.

Only the shape is asserted (every figure present, numbers where numbers belong, a target verdict where
the issue sets a target): timings are reported, never asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localdev.services import REPO_ROOT

FIGURES = ("overhead", "apiEconomy", "scale", "failover", "coldStart", "statusPage")
TARGETED = {  # measure prefix -> the target the issue sets
    "Replication overhead ratio": "<= 1.05",
    "CLU replication overhead ratio": "<= 1.05",
    "Lag from a job finishing": "<= 1 s",
    "Jobs submitted to the secondary by a run with no content change": "0",
    "Replication of a 200-document project": "<= 2x",
    "The same at 100,000 documents": "<= 2x",
    "Primary dies": "0 failed",
    "Status page of 20 projects": "<= 1 s",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    output = tmp_path_factory.mktemp("bench")
    completed = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--output", str(output)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=115)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed, output


def number(value: Any) -> float:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    assert math.isfinite(value) and value >= 0, value
    return float(value)


def test_every_figure_is_measured_and_says_how(tiny_run: tuple[Any, Path]) -> None:
    _, output = tiny_run
    result = json.loads((output / "latest.json").read_text())
    assert result["tiny"] is True
    figures = result["figures"]
    assert set(figures) == set(FIGURES)
    for name in FIGURES:
        assert len(figures[name]["method"]) > 80, name

    overhead = figures["overhead"]
    assert number(overhead["ratio"]) > 0
    assert number(overhead["serviceJobSeconds"]) > 0 and number(overhead["wallSeconds"]) > 0
    kinds = sorted(job["kind"] for job in overhead["jobs"])
    assert kinds == ["deploy", "export", "export", "import", "import", "train"]
    assert all(number(job["lagSeconds"]) >= 0 for job in overhead["jobs"])
    assert "maxPollingInterval" in overhead["inAzure"]["text"]
    clu = overhead["clu"]
    assert number(clu["ratio"]) > 0 and clu["utterances"] > 0
    # Utterances travel inline: no documents step; verify asks synchronously (no runtime job).
    assert sorted(job["kind"] for job in clu["jobs"]) == ["deploy", "export", "export", "import", "import",
                                                          "train"]
    assert not any(step["step"].startswith("documents:") for step in clu["steps"])
    assert number(clu["requests"]["authoring"]["POST"]) > 0 and number(clu["requests"]["runtime"]["POST"]) > 0

    economy = figures["apiEconomy"]
    assert [check["projects"] for check in economy["dailyCheck"]] == [1, 3]
    for check in economy["dailyCheck"]:
        assert check["inSync"] == check["projects"] and check["runsStarted"] == 0
        assert number(check["authoringGets"]) >= check["projects"]
    assert number(economy["perReplication"]["requests"]["authoring"]["POST"]) > 0
    assert any(row_measure == "One CLU replication: requests to both regions"
               for row_measure in (row["measure"] for row in result["table"]))
    assert economy["noContentChange"]["secondaryJobs"] == sum(
        economy["noContentChange"]["secondaryJobKinds"].values())

    scale = figures["scale"]
    assert scale["driftCheck"]["projects"] == 3
    large = scale["largeProject"]
    assert large["documents"] == 200 and large["smaller"]["documents"] == 100
    assert large["atServiceMaximum"]["documents"] == 100_000
    assert number(large["exportBytes"]) > 0
    assert number(large["peakRssBytes"]) >= number(large["baselineRssBytes"])
    assert [step["status"] for step in large["steps"]].count("succeeded") >= 3

    failover = figures["failover"]
    assert number(failover["healthyPath"]["ratio"]["median"]) > 0
    dies = failover["primaryDies"]
    assert dies["callsAfterKill"] == 3
    assert number(dies["failedCallsTotal"]) >= 0

    cold = figures["coldStart"]
    assert len(cold["samplesMs"]["functionApp"]) == len(cold["samplesMs"]["sdkBaseline"]) == 2
    assert number(cold["ratio"]) > 0

    page = figures["statusPage"]
    assert page["projects"] == 20 and number(page["medianSeconds"]) > 0 and number(page["pageBytes"]) > 0
    assert number(page["cpuMedianSeconds"]) > 0


def test_table_has_a_row_per_measure_with_a_verdict_where_a_target_is_set(tiny_run: tuple[Any, Path]) -> None:
    completed, output = tiny_run
    result = json.loads((output / "latest.json").read_text())
    table = result["table"]
    assert {row["figure"] for row in table} == {"1", "2", "3", "4", "5", "6"}
    for prefix, target in TARGETED.items():
        (row,) = [row for row in table if row["measure"].startswith(prefix)]
        assert row["target"] == target and isinstance(row["met"], bool), row
    untargeted = [row for row in table if not any(row["measure"].startswith(p) for p in TARGETED)]
    assert all(row["met"] is None or row["measure"].startswith("Same run") for row in untargeted)

    markdown = (output / "latest.md").read_text()
    assert markdown.count("\n| ") == len(table) + 1  # header and one line per row
    assert "## How each figure was measured" in markdown and "## In Azure" in markdown
    for row in table:
        assert row["value"] in completed.stdout and row["value"] in markdown

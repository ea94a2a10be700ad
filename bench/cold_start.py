"""Figure 5: what importing function_app costs a cold worker, relative to the SDKs any such app imports.

Each sample is a fresh `python` process that times one import statement with perf_counter (the
interpreter's own start-up is the same for both and left out): `import function_app` (the app,
its blueprints and everything they import at load), against `import azure.functions, azure.storage.blob`
alone. The two alternate, several repetitions each; the figure is the ratio of the medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from localdev.services import REPO_ROOT

STATEMENTS = {
    "functionApp": "import function_app",
    "sdkBaseline": "import azure.functions, azure.storage.blob",
}
_TIMER = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def import_seconds(statement: str) -> float:
    completed = subprocess.run([sys.executable, "-c", _TIMER.format(statement=statement)], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {completed.stderr[-1000:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def measure(repetitions: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for repetition in range(repetitions):
        order = list(STATEMENTS) if repetition % 2 == 0 else list(reversed(STATEMENTS))
        for name in order:
            samples[name].append(import_seconds(STATEMENTS[name]))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "repetitions": repetitions,
        "functionAppMedianMs": round(medians["functionApp"] * 1000, 1),
        "sdkBaselineMedianMs": round(medians["sdkBaseline"] * 1000, 1),
        "ratio": round(medians["functionApp"] / medians["sdkBaseline"], 3),
        "extraMs": round((medians["functionApp"] - medians["sdkBaseline"]) * 1000, 1),
        "samplesMs": {name: [round(value * 1000, 1) for value in values] for name, values in samples.items()},
    }

"""What FailoverTextAnalyticsClient costs per call on the healthy path, against the SDK called directly.

Both clients call the same emulated primary region for the same documents, interleaved in one run
(alternating which goes first), so machine noise hits both alike. The emulator finishes runtime jobs
at once, so a call is one POST plus one status GET and the measured difference is client overhead:
the breaker's bookkeeping, the extra polling thread and reading the result pages eagerly.

    python -m bench.failover_overhead              # 200 interleaved pairs
    python -m bench.failover_overhead --tiny       # a smoke run (what the test suite does)

Results are printed and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.ai.textanalytics import TextAnalyticsClient
from azure.core.credentials import AzureKeyCredential

from language_failover import FailoverTextAnalyticsClient, RegionClientPolicy, RegionEndpoint
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import ner_project
from localdev.services import Azurite, EmulatorRegion

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEPLOYMENT = "prod"
POLLING_INTERVAL = 0.01


def measure(
    primary: EmulatorRegion,
    secondary: EmulatorRegion,
    project_name: str,
    documents: Sequence[str],
    *,
    iterations: int,
    warmup: int,
) -> dict[str, Any]:
    """Interleaved timings of the SDK and the failover client against `primary` (healthy)."""
    primary.control("/_emulator/durations", json.dumps({"runtime": 0}).encode())
    sdk = TextAnalyticsClient(primary.endpoint, AzureKeyCredential(primary.key))
    failover = FailoverTextAnalyticsClient(
        RegionEndpoint(primary.region, primary.endpoint, AzureKeyCredential(primary.key)),
        [RegionEndpoint(secondary.region, secondary.endpoint, AzureKeyCredential(secondary.key))],
        client_policy=RegionClientPolicy(polling_interval=POLLING_INTERVAL),
    )
    calls: dict[str, Callable[[], int]] = {
        "sdk": lambda: len(list(sdk.begin_recognize_custom_entities(
            list(documents), project_name, DEPLOYMENT,
            polling_interval=POLLING_INTERVAL,  # type: ignore[arg-type]  # annotated int; sleeps any float
        ).result())),
        "failover": lambda: len(list(failover.begin_recognize_custom_entities(
            list(documents), project_name, DEPLOYMENT).result())),
    }
    with sdk, failover:
        for _ in range(warmup):
            for call in calls.values():
                call()
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for iteration in range(iterations):
            order = list(calls) if iteration % 2 == 0 else list(reversed(calls))
            for name in order:
                started = time.perf_counter()
                answered = calls[name]()
                samples[name].append(time.perf_counter() - started)
                if answered != len(documents):
                    raise RuntimeError(f"{name} returned {answered} results for {len(documents)} documents")
        served_by_primary = failover.region_states()
    sdk_stats, failover_stats = _stats(samples["sdk"]), _stats(samples["failover"])
    return {
        "benchmark": "failover_overhead",
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "iterations": iterations,
        "warmup": warmup,
        "documentsPerCall": len(documents),
        "sdk": sdk_stats,
        "failover": failover_stats,
        "ratio": {
            "median": failover_stats["medianMs"] / sdk_stats["medianMs"],
            "mean": failover_stats["meanMs"] / sdk_stats["meanMs"],
        },
        "overheadMsPerCall": {
            "median": failover_stats["medianMs"] - sdk_stats["medianMs"],
            "mean": failover_stats["meanMs"] - sdk_stats["meanMs"],
        },
        "regionStates": {name: state.value for name, state in served_by_primary.items()},
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }


def _stats(seconds: list[float]) -> dict[str, float]:
    millis = sorted(value * 1000 for value in seconds)
    p95 = millis[min(len(millis) - 1, round(0.95 * (len(millis) - 1)))]
    return {
        "medianMs": statistics.median(millis),
        "meanMs": statistics.fmean(millis),
        "p95Ms": p95,
        "minMs": millis[0],
    }


def run(*, iterations: int, warmup: int, documents: int) -> dict[str, Any]:
    """Start Azurite and two emulated regions, deploy a sample project to both, measure, stop."""
    project = ner_project(documents=12)
    texts = list(project.documents.values())[:documents]
    azurite = Azurite().start()
    regions = [
        EmulatorRegion(azurite.connection_string("primarydocs"), region="eastus"),
        EmulatorRegion(azurite.connection_string("secondarydocs"), region="westus2"),
    ]
    try:
        for region, account in zip(regions, ("primarydocs", "secondarydocs"), strict=True):
            region.start()
            deploy_sample_project(region.endpoint, region.key, azurite.connection_string(account), project,
                                  deployment=DEPLOYMENT)
        return measure(regions[0], regions[1], project.name, texts, iterations=iterations, warmup=warmup)
    finally:
        for region in regions:
            region.stop()
        azurite.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.failover_overhead", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--tiny", action="store_true", help="a few calls only: checks the benchmark runs")
    parser.add_argument("--iterations", type=int, default=200, help="interleaved call pairs (default 200)")
    parser.add_argument("--documents", type=int, default=5, help="documents per call (1-25, default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="directory for the JSON result")
    args = parser.parse_args(argv)
    if not 1 <= args.documents <= 25:
        parser.error("--documents must be between 1 and 25 (the service's limit per request)")
    iterations, warmup = (3, 1) if args.tiny else (max(1, args.iterations), 10)
    result = run(iterations=iterations, warmup=warmup, documents=args.documents)
    result["tiny"] = args.tiny

    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"failover_overhead-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"healthy path, {iterations} interleaved calls of {args.documents} documents: "
        f"SDK median {result['sdk']['medianMs']:.2f} ms, "
        f"failover median {result['failover']['medianMs']:.2f} ms, "
        f"ratio {result['ratio']['median']:.3f} (+{result['overheadMsPerCall']['median']:.2f} ms per call)"
    )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

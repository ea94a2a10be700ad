"""`./scripts/bench [--tiny]`: every benchmark figure in one run, printed as a table and written as
bench/results/latest.json and bench/results/latest.md.

Starts Azurite and emulated Language regions on 127.0.0.1 (stopped again however the run ends):
one pair at the overhead figure's time scale, one pair at a small time scale for the set-up-heavy
figures. `--tiny` runs every figure at a small size (what the test suite does, so the benchmark cannot
rot); its numbers are not meant to be read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    api_economy,
    clu_replication,
    cold_start,
    failover_overhead,
    failover_switch,
    large_project,
    replication_overhead,
    status_page,
)
from bench.environment import extra_regions, started_environment
from bench.report import markdown, rows, text_table
from localdev.services import REPO_ROOT
from shared.runs.scheduler.local_runner import parse_timespan

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Set-up-heavy figures run here: the emulated jobs and throttling windows are a thousandth of the service's.
SETUP_TIME_SCALE = 0.001
SERVICE_MAXIMUM_DOCUMENTS = 100_000
TARGET_SIZES_FROM = 1000   # figure 3's memory target covers 1,000 to 100,000 documents
# The three targets of the many-resources daily check: the environment's secondary and two more.
EXTRA_TARGETS = {"westeurope": "westeurope", "japaneast": "japaneast"}


@dataclass(frozen=True)
class Sizes:
    time_scale: float               # figure 1: emulated job times = service times x this
    overhead_documents: int
    clu_utterances_per_intent: int
    daily_check_projects: tuple[int, ...]
    many_resources_projects: int           # the daily check of the primary and three targets, each this many
    memory_documents: tuple[int, ...]      # figure 3's replications (the target already holds the documents)
    copy_documents: int                    # the documents step's copy throughput against Azurite's own copy
    failover_iterations: int
    failover_warmup: int
    healthy_calls: int
    calls_after_kill: int
    cold_start_repetitions: int
    status_page_projects: int = 500


FULL = Sizes(time_scale=0.1, overhead_documents=24, clu_utterances_per_intent=12,
             daily_check_projects=(1, 50, 500), many_resources_projects=500,
             memory_documents=(1000, 10_000), copy_documents=1000,
             failover_iterations=200, failover_warmup=10, healthy_calls=5, calls_after_kill=15,
             cold_start_repetitions=7)
TINY = Sizes(time_scale=0.002, overhead_documents=12, clu_utterances_per_intent=6,
             daily_check_projects=(1, 3), many_resources_projects=3,
             memory_documents=(100, 200), copy_documents=20,
             failover_iterations=3, failover_warmup=1, healthy_calls=2, calls_after_kill=3,
             cold_start_repetitions=2, status_page_projects=20)

METHODS = {
    "statusPage": (
        "the status page of a synthetic estate (bench/status_page.py: every state, five runs of seven steps "
        "per project, some failed or active, a drift check a day for 30 days, snapshots, expiry warnings): "
        "seconds for shared.status.model.build_status + shared.status.page.render, the work GET /api/status "
        "does once its storage reads are back, median of three, as this process's CPU time (the target's "
        "measure: the machine's cores are shared) and as wall time; then headless Chromium opening the page "
        "as a file until the verdict's text can be read (skipped without Debian's chromium)."),
    "overhead": (
        "one full replication of a generated custom NER project (export, documents, import, train, deploy, "
        "verify) by the product's engine through Azurite's step queue and the local runner, with the "
        "emulated jobs at their service durations times the time scale and the engine's waits scaled alike. "
        "Ratio = wall time from start_runs until the queue is idle / the sum of the emulator's job durations "
        "(created -> finished in /_emulator/jobs of both regions; the verify step's two runtime jobs run "
        "side by side and count once). Lag = when the step after a job's step started (or the run "
        "finished) - when the job finished. 'At the service's real job times' adds the measured "
        "replicator seconds (wall - job time, unscaled) to the unscaled job durations. Replicator seconds "
        "per step kind = time inside the slices the runner executed (timed around engine.advance), by "
        "kind of step each served; polls per job = the step's own count of status GETs, also per minute "
        "of the job's service time (the engine's waits follow the job's estimatedEndDateTime, never a fixed "
        "fast rate). The CLU row: the same for a generated CLU project (utterances inline, trained in "
        "standard mode; verify asks both regions synchronously, so every job is an authoring job)."),
    "apiEconomy": (
        "requests counted by the emulated regions themselves (/_emulator/requests, every retry and page "
        "included). Daily check = ReplicationEngine.timer_tick() over resources holding exactly N in-sync "
        "single-label projects each (the first replicated by a real run, the others given the state such a "
        "run leaves; every tick must find all of them in sync), run twice in a row: the first tick is a full "
        "pass (a GET per project and side, as every DRIFT_FULL_CHECK_DAYS), the second is a day between full "
        "passes (the resources' project lists only), counted per resource against at most 2 + ceil(N / 50) "
        "authoring GETs. Four resources = the primary and three targets (SECONDARY_TARGETS). Per replication "
        "= figure 1's run. No content change = the primary's project re-imported from its own export (its "
        "lastModifiedDateTime moves, nothing else), then the daily tick and whatever it starts; jobs counted "
        "from /_emulator/jobs."),
    "scale": (
        "drift check = the largest daily check above (wall time of timer_tick, requests). Memory = a "
        "generated custom NER project of each size uploaded to the primary's storage and, identical, to the "
        "target's (so the documents step lists and compares, copies nothing), imported on the primary, then "
        "one full replication in a separate process running the engine and local runner: that process's peak "
        "resident set (VmHWM, reset just before the run) minus its resident set before the run (engine built,"
        " "
        "modules imported); export size = the snapshot the run stored. Fixed part = where the least-squares "
        "line of peak over export size through the sizes measured meets zero export; growing part = peak - "
        "fixed, against the export. Every size is measured, none extrapolated; these rows run in an "
        "environment of their own whose Azurite finds blobs by name, the target's documents account on a "
        "second Azurite. Copy throughput = the same N documents copied from the primary's account into an "
        "empty "
        "container of the target's account by copy_documents (the documents step's code: download, upload, 4 "
        "threads) and by a plain loop of start_copy_from_url (Azurite copies server-side); ratio of "
        "seconds."),
    "failover": (
        "healthy path = bench/failover_overhead.py: the SDK's TextAnalyticsClient and "
        "FailoverTextAnalyticsClient against the same healthy primary, interleaved calls of 5 documents, "
        "runtime jobs instant; ratio of medians. Primary dies = sequential calls through the failover "
        "client with the default breaker and client policies; after a few healthy calls the primary "
        "emulator process is SIGKILLed; time from the kill until a call answered by the secondary "
        "returns, and every call that raised to the caller."),
    "coldStart": (
        "fresh python processes, each timing one import with perf_counter (interpreter start-up excluded): "
        "`import function_app` against `import azure.functions, azure.storage.blob`, alternating; ratio of "
        "medians."),
}


def in_azure(overhead: dict[str, Any], cold: dict[str, Any]) -> dict[str, Any]:
    """What the queue trigger's polling and scale-from-zero add in Azure, from host.json."""
    host = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    polling = parse_timespan(host["extensions"]["queues"]["maxPollingInterval"]).total_seconds()
    jobs = len(overhead["jobs"])
    service = overhead["serviceJobSeconds"] / overhead["timeScale"]
    replicator = max(0.0, overhead["wallSeconds"] - overhead["serviceJobSeconds"])
    worst = (service + replicator + jobs * polling) / service
    text = (
        f"The local runner polls the step queue continuously; the Functions host does not. When it finds the "
        f"queue empty it backs off, up to `maxPollingInterval` ({polling:.0f} s in host.json), so a step "
        f"message that becomes visible (a poll due, the next step) can wait up to {polling:.0f} s before a "
        f"slice starts. Only the slice that notices a job has ended adds to a run's length, so a run of "
        f"{jobs} jobs gains at most {jobs} x {polling:.0f} s = {jobs * polling:.0f} s: on the "
        f"{service:.0f} s of service job time of figure 1's run that is a worst-case ratio of {worst:.3f} "
        f"(about half that excess on average). Scale from zero adds one cold start when a slice arrives "
        f"at an app with no instance (the first slice after the daily timer, or after a long wait): the "
        f"platform's instance allocation, which cannot be measured here, plus loading the app, of which "
        f"importing function_app took {cold['functionAppMedianMs']:.0f} ms in figure 5.")
    return {"maxPollingIntervalSeconds": polling, "jobs": jobs, "worstCaseRatio": round(worst, 4),
            "text": text}


def measure_memory(sizes: Sizes, say: Any = print) -> dict[str, Any]:
    """Figure 3's memory rows, in an environment of their own, set up for large projects."""
    with started_environment(SETUP_TIME_SCALE, large_projects=True) as env:
        sizes_text = ", ".join(f"{n:,}" for n in sizes.memory_documents)
        say(f"== 3. replication of {sizes_text}-document projects whose documents the target holds (memory)")
        return large_project.measure_sizes(env, list(sizes.memory_documents), say=say)


def run_memory_only(sizes: Sizes, *, output: Path, say: Any = print) -> dict[str, Any]:
    """`--memory-only`: figure 3's memory rows alone, written to memory.json (latest.json is untouched)."""
    started = time.perf_counter()
    memory = measure_memory(sizes, say)
    memory["method"] = METHODS["scale"]
    result = {"benchmark": "language-dr-replicator",
              "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
              "durationSeconds": round(time.perf_counter() - started, 1),
              "environment": {"python": platform.python_version(), "platform": platform.platform(),
                              "cpus": os.cpu_count()},
              "memory": memory}
    output.mkdir(parents=True, exist_ok=True)
    (output / "memory.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    fixed = memory["fixed"]
    say(f"\nfixed part {fixed['bytes'] / 2**20:.1f} MiB (target {fixed['targetBytes'] / 2**20:.0f} MiB), "
        f"fitted over {', '.join(f'{n:,}' for n in fixed['fittedOver'])} documents")
    for row in memory["sizes"]:
        mib = {key: row[key] / 2**20 for key in ("exportBytes", "peakAboveBaselineBytes")}
        say(f"{row['documents']:>9,} documents: export {mib['exportBytes']:7.1f} MiB, peak above baseline "
            f"{mib['peakAboveBaselineBytes']:7.1f} MiB, growing part {row['growingRatio']:.2f} x the export "
            f"(target <= {row['ratioTarget']}: {'met' if row['met'] else 'NOT met'}), "
            f"set-up {row['setupSeconds']:.0f} s, replication {row['replicationSeconds']:.0f} s")
        if row["documents"] < TARGET_SIZES_FROM:
            say(f"{'':>9}  (under {TARGET_SIZES_FROM:,} documents the buffers that stop growing are not yet "
                "full: the target is for 1,000 to 100,000)")
    say(f"\nwritten to {output / 'memory.json'} ({result['durationSeconds']:.0f} s)")
    return result


def run(sizes: Sizes, *, tiny: bool, output: Path, say: Any = print) -> dict[str, Any]:
    started = time.perf_counter()
    figures: dict[str, Any] = {}

    say("== 5. cold start")
    figures["coldStart"] = cold_start.measure(sizes.cold_start_repetitions)
    say(f"== 6. status page of {sizes.status_page_projects} projects")
    figures["statusPage"] = status_page.measure(sizes.status_page_projects)

    say(f"== 1. replication overhead (time scale {sizes.time_scale}) and 2. per-replication economy")
    with started_environment(sizes.time_scale) as env:
        replication = replication_overhead.measure(env, documents=sizes.overhead_documents)
        say("== 1. and 2. the same for a CLU project")
        clu = clu_replication.measure(env, per_intent=sizes.clu_utterances_per_intent)
    overhead = replication["overhead"]
    overhead["clu"] = clu
    service = overhead["serviceJobSeconds"] / overhead["timeScale"]
    replicator = overhead["wallSeconds"] - overhead["serviceJobSeconds"]
    overhead["atServiceTimes"] = {"serviceJobSeconds": round(service, 1),
                                  "replicatorSeconds": round(replicator, 3),
                                  "ratio": round((service + replicator) / service, 4)}
    figures["overhead"] = overhead

    memory = measure_memory(sizes, say)

    # One pair of regions for the rest, emptied between figures: the daily check needs a resource holding
    # exactly N projects (and the emulator, like the service, refuses a 501st).
    with started_environment(SETUP_TIME_SCALE) as env:
        say(f"== 3. documents step copy of {sizes.copy_documents:,} documents against Azurite's own copy")
        copy = large_project.measure_copy(env, documents=sizes.copy_documents)
        env.reset()
        say(f"== 2. daily check of {', '.join(map(str, sizes.daily_check_projects))} in-sync projects")
        daily = api_economy.measure(env, list(sizes.daily_check_projects))
        env.reset()
        say(f"== 2. daily check of 4 resources x {sizes.many_resources_projects} in-sync projects")
        with extra_regions(env, EXTRA_TARGETS) as extra:
            many = api_economy.measure_many_resources(env, extra, sizes.many_resources_projects)
        figures["apiEconomy"] = {"dailyCheck": daily, "manyResources": many,
                                 "perReplication": replication["perReplication"],
                                 "noContentChange": replication["noContentChange"]}
        largest = max(daily, key=lambda check: int(check["projects"]))
        figures["scale"] = {"driftCheck": largest, "memory": memory, "documentsCopy": copy}
        env.reset()
        say("== 4. failover: healthy-path overhead, then the primary dies")
        project, documents = failover_switch.deploy_both(env)
        healthy = failover_overhead.measure(env.primary, env.secondary, project, documents,
                                            iterations=sizes.failover_iterations,
                                            warmup=sizes.failover_warmup)
        dies = failover_switch.measure(env, project, documents, healthy_calls=sizes.healthy_calls,
                                       calls_after=sizes.calls_after_kill)
        figures["failover"] = {"healthyPath": healthy, "primaryDies": dies}

    for name, method in METHODS.items():
        figures[name]["method"] = method
    overhead["inAzure"] = in_azure(overhead, figures["coldStart"])
    result: dict[str, Any] = {
        "benchmark": "language-dr-replicator",
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "tiny": tiny,
        "sizes": sizes.__dict__,
        "durationSeconds": round(time.perf_counter() - started, 1),
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count()},
        "figures": figures,
    }
    table = rows(figures)
    result["table"] = [row.to_json() for row in table]
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (output / "latest.md").write_text(markdown(result, table), encoding="utf-8")
    say("")
    say(text_table(table))
    say(f"\n{overhead['inAzure']['text']}")
    say(f"\nwritten to {output / 'latest.json'} and {output / 'latest.md'} "
        f"({result['durationSeconds']:.0f} s)")
    return result


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError("sizes are whole numbers, comma-separated") from error
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./scripts/bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="every figure at a small size (about a minute)")
    parser.add_argument("--time-scale", type=float, help="figure 1's time scale (full: 0.1, tiny: 0.002)")
    parser.add_argument("--documents", type=_sizes, help="figure 3's project sizes, comma-separated "
                        "(full: 1000,10000; tiny: 100,200)")
    parser.add_argument("--service-maximum", action="store_true",
                        help=f"figure 3 at the service's maximum of {SERVICE_MAXIMUM_DOCUMENTS:,} documents "
                             "too "
                             "(about 35 minutes more on 2 cores)")
    parser.add_argument("--memory-only", action="store_true",
                        help="figure 3's memory rows alone, written to memory.json (with --service-maximum: "
                             "the 100,000-document row's one-off run)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="directory for latest.json/.md")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    if args.time_scale is not None:
        if not 0 < args.time_scale <= 1:
            parser.error("--time-scale must be in (0, 1]")
        sizes = Sizes(**{**sizes.__dict__, "time_scale": args.time_scale})
    if args.documents is not None:
        sizes = Sizes(**{**sizes.__dict__, "memory_documents": args.documents})
    if args.service_maximum:
        sizes = Sizes(**{**sizes.__dict__,
                         "memory_documents": (*sizes.memory_documents, SERVICE_MAXIMUM_DOCUMENTS)})
    say = lambda text: print(text, flush=True)  # noqa: E731 - one line, used twice
    if args.memory_only:
        run_memory_only(sizes, output=args.output, say=say)
    else:
        run(sizes, tiny=args.tiny, output=args.output, say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main())

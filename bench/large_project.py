"""Figure 3b: the replicator's peak memory replicating a large generated project, against the export's size.

The parent uploads a generated custom NER project's documents to the primary's storage and imports it
(set-up, not measured). A separate process then runs the product's engine and local runner for one
full replication (export -> snapshot -> documents copy -> import -> verify) and reports its own
memory from /proc/self/status: the peak resident set (VmHWM, reset just before the run through
/proc/self/clear_refs) above the resident set before the run (VmRSS, with the engine built and every
module imported). A separate process, so that nothing the parent holds (the generated texts, Azurite
clients) counts. The emulators' memory is theirs, not the replicator's, and is not counted.

    python -m bench.large_project --worker < config.json     # what the parent runs
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient

from bench.environment import Environment
from localdev.sample_project import SampleProject, ner_project
from localdev.services import REPO_ROOT
from shared.language.export_format import to_bytes

PROJECT = "LargeLoans"
CONTAINER = "largeloans"
MEMORY_TARGET = 2.0
UPLOAD_WORKERS = 16


def upload_parallel(container: ContainerClient, project: SampleProject) -> None:
    """The documents, many at a time (set-up only: upload_documents sends one after another)."""
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    with ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as pool:
        list(pool.map(lambda item: container.upload_blob(item[0], item[1].encode("utf-8"), overwrite=True),
                      project.documents.items()))


def measure(env: Environment, *, documents: int, timeout: float = 1800.0) -> dict[str, Any]:
    started = time.perf_counter()
    project = ner_project(PROJECT, CONTAINER, documents=documents)
    upload_parallel(env.documents("primarydocs").get_container_client(CONTAINER), project)
    client = env.authoring(env.primary)
    body = to_bytes(project.export)
    client.wait(client.start_import(PROJECT, body), poll_interval=0.05, deadline=timeout).raise_for_failure()
    del project
    setup_seconds = time.perf_counter() - started

    config = {"settings": env.settings_values(PROJECT), "timeScale": env.time_scale, "project": PROJECT,
              "timeout": timeout}
    completed = subprocess.run([sys.executable, "-m", "bench.large_project", "--worker"],
                               input=json.dumps(config), capture_output=True, text=True, timeout=timeout + 60,
                               cwd=REPO_ROOT, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the replication worker failed ({completed.returncode}): "
                           f"{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    export_bytes = int(result["exportBytes"])
    above = int(result["peakAboveBaselineBytes"])
    return {
        "documents": documents,
        "exportBytes": export_bytes,
        "importBodyBytes": len(body),
        "baselineRssBytes": result["baselineRssBytes"],
        "peakRssBytes": result["peakRssBytes"],
        "peakAboveBaselineBytes": above,
        "ratio": round(above / export_bytes, 3),
        # Per document, to read the service's maximum (100,000 documents) off a smaller run.
        "peakAbovePerDocumentBytes": round(above / documents),
        "exportPerDocumentBytes": round(export_bytes / documents),
        "ratioTarget": MEMORY_TARGET,
        "replicationSeconds": result["seconds"],
        "setupSeconds": round(setup_seconds, 1),
        "steps": result["steps"],
    }


def measure_growth(env: Environment, *, documents: int, service_maximum: int = 100_000) -> dict[str, Any]:
    """Two runs (half the size, then the size) on an emptied environment each, and the memory per extra
    document between them: the slope reads the service's maximum off runs this machine can afford."""
    smaller = measure(env, documents=max(1, documents // 2))
    env.reset()
    larger = measure(env, documents=documents)
    extra_documents = larger["documents"] - smaller["documents"]
    extra_memory = larger["peakAboveBaselineBytes"] - smaller["peakAboveBaselineBytes"]
    memory_slope = extra_memory / max(1, extra_documents)
    export_slope = (larger["exportBytes"] - smaller["exportBytes"]) / max(1, extra_documents)
    beyond = service_maximum - larger["documents"]
    # Never below what was measured: a noisy smaller run must not make the estimate shrink.
    peak = larger["peakAboveBaselineBytes"] + max(0.0, memory_slope) * beyond
    export = larger["exportBytes"] + export_slope * beyond
    return {
        **larger,
        "smaller": smaller,
        "memoryPerExtraDocumentBytes": round(memory_slope),
        "exportPerExtraDocumentBytes": round(export_slope),
        "atServiceMaximum": {"documents": service_maximum, "peakAboveBaselineBytes": round(peak),
                             "exportBytes": round(export), "ratio": round(peak / export, 3)},
    }


# -- the worker process ------------------------------------------------------------------------------------


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    # Linux: writing 5 resets the peak resident set size (VmHWM) to the current one.
    Path("/proc/self/clear_refs").write_text("5")


def worker(config: dict[str, Any]) -> dict[str, Any]:
    from bench.environment import engine_for, runner_for
    from shared.settings import settings_from_values

    settings = settings_from_values(config["settings"])
    engine = engine_for(settings, float(config["timeScale"]))
    runner = runner_for(settings, engine)
    project = str(config["project"])
    _reset_peak()
    baseline = _status_bytes("VmRSS")
    started = time.perf_counter()
    starts = engine.start_runs([project], trigger="bench")
    run_id = starts[0].run_id if starts else None
    if run_id is None:
        raise RuntimeError(f"the replication did not start: {[s.to_json() for s in starts]}")
    runner.run_until_idle(timeout=float(config["timeout"]))
    seconds = time.perf_counter() - started
    peak = _status_bytes("VmHWM")
    manifest = engine.get_run(project, run_id)
    if manifest.status != "succeeded":
        raise RuntimeError(f"the replication ended {manifest.status}: {manifest.error}")
    snapshot = str(manifest.step("export:working").detail["snapshot"])
    snapshots = BlobServiceClient.from_connection_string(settings.values["AzureWebJobsStorage"])
    size = snapshots.get_container_client(settings.snapshot_container).get_blob_client(snapshot) \
        .get_blob_properties().size
    return {
        "baselineRssBytes": baseline,
        "peakRssBytes": peak,
        "peakAboveBaselineBytes": max(0, peak - baseline),
        "exportBytes": int(size),
        "seconds": round(seconds, 3),
        "steps": [{"step": step.name, "status": step.status,
                   "seconds": round((step.finished_at - step.started_at).total_seconds(), 3)
                   if step.finished_at and step.started_at else None} for step in manifest.steps],
    }


def main(argv: list[str]) -> int:
    if argv != ["--worker"]:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(worker(json.loads(sys.stdin.read()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

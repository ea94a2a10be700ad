"""Figure 3b: the replicator's peak memory replicating a large generated project, against the export's size;
and the documents step's copy throughput against Azurite's own server-side copy.

Memory. The parent uploads a generated custom NER project's documents to the primary's storage, the
same documents to the target's container (so the documents step lists and compares both sides and
copies nothing: Azurite's copy speed, not the replicator, would otherwise set the pace), and imports
the project (set-up, not measured). A separate process then runs the product's engine and local runner
for one full replication (export -> snapshot -> documents -> import -> verify) and reports its own
memory from /proc/self/status: the peak resident set (VmHWM, reset just before the run through
/proc/self/clear_refs) above the resident set before the run (VmRSS, with the engine built and every
module imported). A separate process, so that nothing the parent holds (the generated texts, Azurite
clients) counts. The emulators' memory is theirs, not the replicator's, and is not counted. The fixed
part is the intercept of the least-squares line of peak over export size through the sizes measured
(for reference, a FIXED_DOCUMENTS-document project, too small to fill a listing page, is measured
too); each size's growing part (peak - fixed) is compared with its export.

Copy throughput. The same N documents are copied from the primary's account to an empty container in
the target's account twice: by `copy_documents` (what the documents step runs) and by a plain loop of
`start_copy_from_url` (Azurite copies server-side), on the same Azurite; the ratio of their seconds.

    python -m bench.large_project --worker < config.json     # what the parent runs
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from bench.environment import TARGET_DOCUMENTS_ACCOUNT, Environment
from localdev.sample_project import SampleProject, ner_project
from localdev.services import DEV_ACCOUNT_KEY, REPO_ROOT
from shared.language.export_format import to_bytes
from shared.storage.documents import copy_documents

PROJECT = "LargeLoans"
CONTAINER = "largeloans"
MEMORY_TARGET = 2.0                 # the growing part, times the export
FIXED_TARGET_BYTES = 16 * 2**20     # the part that does not grow with the project
FIXED_DOCUMENTS = 20
UPLOAD_WORKERS = 16
PROGRESS_EVERY = 10_000
Say = Callable[[str], None]


def upload_parallel(container: ContainerClient, project: SampleProject, say: Say = print,
                    workers: int = UPLOAD_WORKERS) -> None:
    """The documents, many at a time (set-up only: upload_documents sends one after another); a line of
    progress every PROGRESS_EVERY documents, as a large project's set-up takes many minutes."""
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    total = len(project.documents)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        uploads = pool.map(lambda item: container.upload_blob(item[0], item[1].encode("utf-8"),
                                                              overwrite=True), project.documents.items())
        for done, _ in enumerate(uploads, start=1):
            if done % PROGRESS_EVERY == 0 and done < total:
                say(f"   {container.account_name}/{container.container_name}: {done:,} of {total:,} uploaded")


def measure(env: Environment, *, documents: int, timeout: float = 3600.0, say: Say = print) -> dict[str, Any]:
    """One replication of a `documents`-document project whose documents the target already holds."""
    started = time.perf_counter()
    project = ner_project(PROJECT, CONTAINER, documents=documents)
    # Both accounts side by side: with env.target_documents they are two Azurite processes.
    with ThreadPoolExecutor(max_workers=2) as sides:
        uploads = [sides.submit(upload_parallel, env.documents(account).get_container_client(CONTAINER),
                                project, say, UPLOAD_WORKERS // 2)
                   for account in ("primarydocs", TARGET_DOCUMENTS_ACCOUNT)]
        for upload in uploads:
            upload.result()
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
    documents_step: dict[str, Any] = next(
        (step for step in result["steps"] if step["step"] == "documents:working"), {})
    return {
        "documents": documents,
        "exportBytes": export_bytes,
        "importBodyBytes": len(body),
        "baselineRssBytes": result["baselineRssBytes"],
        "peakRssBytes": result["peakRssBytes"],
        "peakAboveBaselineBytes": above,
        "ratio": round(above / export_bytes, 3),
        "peakAbovePerDocumentBytes": round(above / documents),
        "exportPerDocumentBytes": round(export_bytes / documents),
        "replicationSeconds": result["seconds"],
        "documentsStep": documents_step.get("detail", {}),
        "setupSeconds": round(setup_seconds, 1),
        "steps": result["steps"],
    }


def measure_sizes(env: Environment, sizes: list[int], say: Say = print) -> dict[str, Any]:
    """Each size on an emptied environment, and a small project; the fixed part is where the line through
    the sizes' (export, peak) points meets zero export: the buffers that stop growing once a project fills
    them (a listing page, the copy batch, the parser's and temporary files' buffers)."""
    small = measure(env, documents=FIXED_DOCUMENTS, say=say)
    rows = []
    for documents in sorted(sizes):
        env.reset(restart_storage=True)
        say(f"   {documents:,} documents")
        rows.append(measure(env, documents=documents, say=say))
    fixed, slope = _line([(row["exportBytes"], row["peakAboveBaselineBytes"]) for row in rows],
                         small["peakAboveBaselineBytes"])
    for row in rows:
        growing = max(0, row["peakAboveBaselineBytes"] - fixed)
        row["growingBytes"] = growing
        row["growingRatio"] = round(growing / row["exportBytes"], 3)
        row["ratioTarget"] = MEMORY_TARGET
        row["met"] = row["growingRatio"] <= MEMORY_TARGET
    return {"fixed": {"bytes": fixed, "targetBytes": FIXED_TARGET_BYTES, "met": fixed <= FIXED_TARGET_BYTES,
                      "perExportByte": round(slope, 3), "fittedOver": [row["documents"] for row in rows]},
            "smallProject": small, "sizes": rows}


def _line(points: list[tuple[int, int]], fallback: int) -> tuple[int, float]:
    """Least-squares (intercept, slope) of peak over export size; one point: the small project's peak."""
    if len(points) < 2:
        x, y = points[0] if points else (1, fallback)
        return fallback, max(0.0, (y - fallback) / x)
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return max(0, round(mean_y - slope * mean_x)), slope


def measure_copy(env: Environment, *, documents: int) -> dict[str, Any]:
    """Seconds to copy `documents` documents across accounts: copy_documents, then a copy-from-URL loop."""
    project = ner_project("CopyThroughput", "copysource", documents=documents)
    source = env.documents("primarydocs").get_container_client("copysource")
    upload_parallel(source, project)
    locations = list(project.documents)
    del project
    targets = env.documents(TARGET_DOCUMENTS_ACCOUNT)

    replicator_target = targets.get_container_client("copy-replicator")
    started = time.perf_counter()
    report = copy_documents(source, replicator_target, locations)
    replicator = time.perf_counter() - started
    if len(report.copied) != documents:
        raise RuntimeError(f"copy_documents copied {len(report.copied)} of {documents} documents")

    baseline_target = targets.get_container_client("copy-baseline")
    baseline_target.create_container()
    sas = generate_container_sas("primarydocs", "copysource", account_key=DEV_ACCOUNT_KEY,
                                 permission=ContainerSasPermissions(read=True),
                                 expiry=datetime.now(UTC) + timedelta(hours=2))
    started = time.perf_counter()
    for location in locations:
        blob = baseline_target.get_blob_client(location)
        copied = blob.start_copy_from_url(f"{source.url}/{location}?{sas}")
        if copied.get("copy_status") != "success":  # Azurite copies within the call
            raise RuntimeError(f"the baseline copy of {location} is {copied.get('copy_status')}")
    baseline = time.perf_counter() - started
    return {
        "documents": documents,
        "replicatorSeconds": round(replicator, 3),
        "baselineSeconds": round(baseline, 3),
        "ratio": round(replicator / baseline, 3),
        "replicatorDocumentsPerSecond": round(documents / replicator, 1),
        "baselineDocumentsPerSecond": round(documents / baseline, 1),
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
        "steps": [{"step": step.name, "status": step.status, "detail": _counts(step.detail),
                   "seconds": round((step.finished_at - step.started_at).total_seconds(), 3)
                   if step.finished_at and step.started_at else None} for step in manifest.steps],
    }


def _counts(detail: dict[str, Any]) -> dict[str, Any]:
    """A step's detail without its long lists (the documents step names every missing document)."""
    return {key: value for key, value in detail.items() if isinstance(value, int | float | str | bool)}


def main(argv: list[str]) -> int:
    if argv != ["--worker"]:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(worker(json.loads(sys.stdin.read()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

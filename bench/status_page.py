"""Figure 6: rendering the status page of a large estate (default 500 projects), from model to HTML.

The estate is synthetic but shaped like a real one: every state, runs of seven steps (some failed, one
active per few projects), a drift check a day for 30 days, snapshots and expiry warnings. What is timed
is `build_status` + `render` (what `GET /api/status` does once the storage reads are back; the reads
are one listing or blob per project and are not part of the figure), then Chromium opening the page
until the verdict can be read.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.recovery.expiry import ExpiryWarning
from shared.replication.drift import DriftState, ProjectDrift
from shared.replication.drift_history import HistoryPoint
from shared.status.model import EstateStatus, RunView, StepView, build_status
from shared.status.page import render
from shared.storage.snapshots import SnapshotInfo

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
OBJECTIVE = timedelta(hours=24)
STEPS = ("backup", "export", "documents", "import", "train", "deploy", "verify")


def _state(index: int) -> DriftState:
    for every, state in ((50, DriftState.MISSING), (13, DriftState.DIVERGED), (11, DriftState.ERROR),
                         (7, DriftState.DRIFTED)):
        if index % every == every - 1:
            return state
    return DriftState.IN_SYNC


def _run(project: str, target: str, index: int, started: datetime, *, failed: bool, active: bool) -> RunView:
    steps = []
    at = started
    for number, kind in enumerate(STEPS):
        took = timedelta(minutes=40 if kind == "train" else 2)
        if active and number == 4:
            steps.append(StepView(f"{kind}:v1", kind, "running", at, None, 1, 12, f"job-{index}-{number}",
                                  "running", (), ()))
            steps += [StepView(f"{k}:v1", k, "pending", None, None, 0, 0, None, None, (), ())
                      for k in STEPS[number + 1:]]
            break
        if failed and number == 4:
            steps.append(StepView(f"{kind}:v1", kind, "failed", at, at + took, 1, 30, f"job-{index}-{number}",
                                  "failed", ("TrainingFailed: the service reported the job failed",), ()))
            break
        steps.append(StepView(f"{kind}:v1", kind, "succeeded", at, at + took, 1, 3, f"job-{index}-{number}",
                              "succeeded", (), ()))
        at += took
    status = "running" if active else ("failed" if failed else "succeeded")
    finished = None if active else (steps[-1].finished_at or at)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{index:08x}"
    return RunView(run_id, project, target, "timer", status, started, finished, tuple(steps),
                   ("the primary was modified",), "TrainingFailed: the job failed" if failed else None)


def sample_estate(projects: int = 500, *, now: datetime = NOW, runs_per_project: int = 5) -> EstateStatus:
    """A synthetic estate of `projects` projects (every 25th with a second target)."""
    entries: list[ProjectDrift] = []
    history: dict[tuple[str, str], list[HistoryPoint]] = {}
    runs: dict[str, list[RunView]] = {}
    snapshots: dict[str, list[SnapshotInfo]] = {}
    expiry: list[ExpiryWarning] = []
    for index in range(projects):
        name = f"Project{index:04d}"
        targets = ["westus2", "northeurope"] if index % 25 == 0 else ["westus2"]
        for target in targets:
            state = _state(index)
            synced = None if state is DriftState.MISSING else now - timedelta(hours=3 + index % 30)
            age = None if synced is None else now - synced
            entries.append(ProjectDrift(target, name, state, (f"why {name} is {state.value}",)
                                        if state is not DriftState.IN_SYNC else (), (), age, synced))
            history[(target, name)] = [
                HistoryPoint(now - timedelta(days=day), target, name, state,
                             None if age is None else age + timedelta(hours=(day * 7 + index) % 30))
                for day in range(30, 0, -1)]
        runs[name] = [_run(name, targets[0], index * 10 + n, now - timedelta(days=n, hours=2),
                           failed=(index + n) % 9 == 0, active=n == 0 and index % 6 == 0)
                      for n in range(runs_per_project)]
        snapshots[name] = [SnapshotInfo(f"{name}/20261205T0{n}0000Z-0123456789ab.json", name,
                                        now - timedelta(days=n), "c" * 12, "s" * 64, 1000,
                                        "CustomEntityRecognition", "primary", "replication")
                           for n in range(3)]
        if index % 20 == 0:
            expiry.append(ExpiryWarning("westus2", name, "deployment prod", (now + timedelta(days=10)).date(),
                                        10, "retrain and redeploy prod before then"))
    return build_status(now=now, checked_at=now - timedelta(hours=2), entries=entries, objective=OBJECTIVE,
                        history=history, runs=runs, snapshots=snapshots, expiry=expiry,
                        expiry_checked_at=now - timedelta(hours=2))


# As the browser test launches it: no sandbox (root in CI), no calls home.
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def measure(projects: int, repetitions: int = 3) -> dict[str, Any]:
    """Seconds to build the model and render the page, and for Chromium to load it until the verdict can be
    read (when Debian's chromium is installed); medians of a few repetitions."""
    seconds: list[float] = []
    cpu: list[float] = []   # this process's CPU time: the machine's two cores are shared, wall time is not
    page = ""
    for _ in range(repetitions):
        started, started_cpu = time.perf_counter(), time.process_time()
        page = render(sample_estate(projects))
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    browser = browser_seconds(page, repetitions)
    return {"projects": projects, "medianSeconds": round(statistics.median(seconds), 3),
            "samplesSeconds": [round(value, 3) for value in seconds],
            "cpuMedianSeconds": round(statistics.median(cpu), 3), "pageBytes": len(page.encode()),
            "browserMedianSeconds": None if not browser else round(statistics.median(browser), 3),
            "browserSamplesSeconds": [round(value, 3) for value in browser], "targetSeconds": 1.0}


def browser_seconds(page: str, repetitions: int) -> list[float]:
    """From navigation until the verdict's text is read, the page opened as a file; [] without chromium."""
    executable = shutil.which("chromium")
    if executable is None:
        return []
    from playwright.sync_api import sync_playwright

    samples = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        path = Path(folder) / "status.html"
        path.write_text(page, encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1600})
            for _ in range(repetitions):
                tab.goto("about:blank")
                started = time.perf_counter()
                tab.goto(path.as_uri(), wait_until="load")
                tab.locator("#verdict").inner_text()
                samples.append(time.perf_counter() - started)
        finally:
            browser.close()
    return samples

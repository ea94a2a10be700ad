"""Figure 2 (requests per daily check of N projects in sync) and figure 3a (the 500-project drift check).

The daily check is `ReplicationEngine.timer_tick()`, exactly what the timer function runs: resume
stalled runs, check drift, start runs where something drifted. Requests are what the two regions'
counters saw during the tick (/_emulator/requests), so every retry and every page counts.

Set-up (not measured): the resource holds exactly N projects, each a small single-label project in one
shared document container, replicated and in sync. Replicating 500 projects through real runs would
take this machine far longer than the whole benchmark may, so the first project is replicated by a
real run, and the others are given the state such a run leaves: imported into both regions from the
same export under their own names, with the sync record that run wrote (their own names and
timestamps). The check must then find every project in sync; the benchmark fails if it does not.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from bench.environment import Environment, combined_counts, engine_for, reset_request_counts, runner_for
from localdev.sample_project import single_label_project, upload_documents
from shared.engine import ReplicationEngine
from shared.language.authoring import AuthoringClient
from shared.language.export_format import to_bytes
from shared.replication.sync_record import SyncRecord

PROJECT_PREFIX = "Tickets"
CONTAINER = "tickets"
SETUP_WORKERS = 4


def project_name(index: int) -> str:
    return f"{PROJECT_PREFIX}{index:04d}"


class InSyncProjects:
    """Grows the set of replicated, in-sync projects on the environment's two regions."""

    def __init__(self, env: Environment, documents: int = 8) -> None:
        self.env = env
        self.sample = single_label_project(project_name(0), CONTAINER, documents=documents)
        self.count = 0
        self._template: SyncRecord | None = None

    def engine(self) -> ReplicationEngine:
        return engine_for(self.env.settings("*"), self.env.time_scale)

    def grow_to(self, total: int) -> None:
        if total <= self.count:
            return
        if self._template is None:
            self._replicate_first()
        names = [project_name(index) for index in range(self.count, total)]
        engine = self.engine()
        primary, secondary = self.env.authoring(self.env.primary), self.env.authoring(self.env.secondary)
        with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
            list(pool.map(lambda name: self._clone(engine, primary, secondary, name), names))
        self.count = total

    def _replicate_first(self) -> None:
        upload_documents(self.env.documents("primarydocs").get_container_client(CONTAINER), self.sample)
        client = self.env.authoring(self.env.primary)
        _import(client, self.sample.name, to_bytes(self.sample.export))
        settings = self.env.settings(self.sample.name)
        engine = engine_for(settings, self.env.time_scale)
        starts = engine.start_runs([self.sample.name], trigger="bench-setup")
        runner_for(settings, engine).run_until_idle(timeout=120)
        run_id = starts[0].run_id
        if run_id is None or engine.get_run(self.sample.name, run_id).status != "succeeded":
            raise RuntimeError(f"set-up replication of {self.sample.name} did not succeed: "
                               f"{[start.to_json() for start in starts]}")
        self._template = next(iter(_records(engine, self.sample.name)), None)
        if self._template is None:
            raise RuntimeError("the set-up replication left no sync record")
        self.count = 1

    def _clone(self, engine: ReplicationEngine, primary: AuthoringClient, secondary: AuthoringClient,
               name: str) -> None:
        assert self._template is not None
        export = dict(self.sample.export)
        export["metadata"] = {**export["metadata"], "projectName": name}
        body = to_bytes(export)
        _import(primary, name, body)
        _import(secondary, name, body)
        on_primary, on_secondary = primary.get_project(name), secondary.get_project(name)
        assert on_primary is not None and on_secondary is not None
        engine.sync_records.put(replace(
            self._template, project=name,
            primary_last_modified=str(on_primary["lastModifiedDateTime"]),
            secondary_last_modified=str(on_secondary["lastModifiedDateTime"]),
            run_id=""))


def _records(engine: ReplicationEngine, project: str) -> list[SyncRecord]:
    found = [engine.sync_records.get(target, project) for target in engine.targets]
    return [record for record in found if record is not None]


def _import(client: AuthoringClient, project: str, body: bytes) -> None:
    client.wait(client.start_import(project, body), poll_interval=0.01, deadline=120).raise_for_failure()


def daily_check(env: Environment, projects: InSyncProjects, count: int) -> dict[str, Any]:
    """One timer tick over a resource holding `count` in-sync projects, with its requests and time."""
    projects.grow_to(count)
    engine = projects.engine()
    reset_request_counts(*env.regions)
    started = time.perf_counter()
    report = engine.timer_tick()
    seconds = time.perf_counter() - started
    requests = combined_counts(*env.regions)
    drift = report.drift or {}
    states = drift.get("counts", {})
    in_sync = int(states.get("in_sync", 0))
    if in_sync != count or report.started:
        raise RuntimeError(f"expected {count} projects in sync and no run; drift counts {states}, "
                           f"{len(report.started)} runs started")
    authoring = requests["authoring"]
    gets, writes = authoring.get("GET", 0), sum(v for k, v in authoring.items() if k != "GET")
    return {
        "projects": count,
        "seconds": round(seconds, 3),
        "authoringGets": gets,
        "authoringPosts": writes,
        "getsPerProject": round(gets / count, 3),
        "requests": requests,
        "runsStarted": len(report.started),
        "inSync": in_sync,
    }


def measure(env: Environment, counts: list[int]) -> list[dict[str, Any]]:
    projects = InSyncProjects(env)
    return [daily_check(env, projects, count) for count in sorted(counts)]

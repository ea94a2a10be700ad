"""Figure 2 (requests per daily check of N projects in sync) and figure 3a (the 500-project drift check).

The daily check is `ReplicationEngine.timer_tick()`, exactly what the timer function runs: resume
stalled runs, check drift, start runs where something drifted. Requests are what the regions' counters
saw during the tick (/_emulator/requests), so every retry and every page counts. Each size is checked
twice in a row: the first tick is a full pass (no full pass recorded yet: a GET per project and side),
the second is what every day between full passes costs (the resources' project lists alone), against
the target of at most 2 + ceil(N / page size) authoring GETs per resource.

Set-up (not measured): the resource holds exactly N projects, each a small single-label project in one
shared document container, replicated and in sync. Replicating 500 projects through real runs would
take this machine far longer than the whole benchmark may, so the first project is replicated by a
real run, and the others are given the state such a run leaves: imported into every region from the
same export under their own names, with the sync record that run wrote (their own names and
timestamps). The check must then find every project in sync; the benchmark fails if it does not.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from bench.environment import (
    TARGET_DOCUMENTS_ACCOUNT,
    Environment,
    combined_counts,
    engine_for,
    request_counts,
    reset_request_counts,
    runner_for,
)
from localdev.sample_project import single_label_project, upload_documents
from localdev.services import EmulatorRegion
from shared.engine import ReplicationEngine
from shared.language.authoring import DEFAULT_PAGE_SIZE, AuthoringClient
from shared.language.export_format import to_bytes
from shared.replication import full_pass
from shared.replication.sync_record import SyncRecord
from shared.replication.verdict import listed_signals
from shared.settings import settings_from_values

PROJECT_PREFIX = "Tickets"
CONTAINER = "tickets"
SETUP_WORKERS = 4
# The target for a day between full passes: the project list's pages plus two more GETs, per resource.
FIXED_GETS_PER_RESOURCE = 2


def gets_target(projects: int) -> int:
    return FIXED_GETS_PER_RESOURCE + math.ceil(projects / DEFAULT_PAGE_SIZE)


def project_name(index: int) -> str:
    return f"{PROJECT_PREFIX}{index:04d}"


class InSyncProjects:
    """Grows the set of replicated, in-sync projects on the environment's primary and every target."""

    def __init__(self, env: Environment, documents: int = 8,
                 extra_targets: Mapping[str, EmulatorRegion] | None = None) -> None:
        self.env = env
        self.extra_targets = dict(extra_targets or {})
        self.sample = single_label_project(project_name(0), CONTAINER, documents=documents)
        self.count = 0
        self._templates: dict[str, SyncRecord] = {}

    @property
    def regions(self) -> list[EmulatorRegion]:
        return [*self.env.regions, *self.extra_targets.values()]

    def targets(self) -> dict[str, EmulatorRegion]:
        return {"secondary": self.env.secondary, **self.extra_targets}

    def settings_values(self, projects: str = "*") -> dict[str, str]:
        extra: dict[str, str] = {}
        if self.extra_targets:
            extra["SECONDARY_TARGETS"] = ",".join(self.extra_targets)
            for name, region in self.extra_targets.items():
                key = name.upper()
                extra.update({f"SECONDARY__{key}__LANGUAGE_ENDPOINT": region.endpoint,
                              f"SECONDARY__{key}__LANGUAGE_KEY": region.key,
                              f"SECONDARY__{key}__DOCUMENTS_STORAGE":
                                  self.env.connection_string(TARGET_DOCUMENTS_ACCOUNT),
                              f"SECONDARY__{key}__DOCUMENTS_CONTAINER": f"{CONTAINER}-{name}",
                              f"SECONDARY__{key}__REGION": region.region})
        return self.env.settings_values(projects, **extra)

    def engine(self) -> ReplicationEngine:
        return engine_for(settings_from_values(self.settings_values()), self.env.time_scale)

    def grow_to(self, total: int) -> None:
        if total <= self.count:
            return
        if not self._templates:
            self._replicate_first()
        names = [project_name(index) for index in range(self.count, total)]
        engine = self.engine()
        primary = self.env.authoring(self.env.primary)
        targets = {name: self.env.authoring(region) for name, region in self.targets().items()}
        with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
            list(pool.map(lambda name: self._clone(engine, primary, targets, name), names))
        self.count = total

    def _replicate_first(self) -> None:
        upload_documents(self.env.documents("primarydocs").get_container_client(CONTAINER), self.sample)
        client = self.env.authoring(self.env.primary)
        _import(client, self.sample.name, to_bytes(self.sample.export))
        settings = settings_from_values(self.settings_values(self.sample.name))
        engine = engine_for(settings, self.env.time_scale)
        starts = engine.start_runs([self.sample.name], trigger="bench-setup")
        runner_for(settings, engine).run_until_idle(timeout=120)
        for start in starts:
            if start.run_id is None or engine.get_run(self.sample.name, start.run_id).status != "succeeded":
                raise RuntimeError(f"set-up replication of {self.sample.name} did not succeed: "
                                   f"{[s.to_json() for s in starts]}")
        self._templates = {record.target: record for record in _records(engine, self.sample.name)}
        if set(self._templates) != set(self.targets()):
            raise RuntimeError("the set-up replication left no sync record for some target")
        self.count = 1

    def _clone(self, engine: ReplicationEngine, primary: AuthoringClient,
               targets: Mapping[str, AuthoringClient], name: str) -> None:
        export = dict(self.sample.export)
        export["metadata"] = {**export["metadata"], "projectName": name}
        body = to_bytes(export)
        _import(primary, name, body)
        on_primary = primary.get_project(name)
        assert on_primary is not None
        for target, client in targets.items():
            _import(client, name, body)
            on_target = client.get_project(name)
            assert on_target is not None
            # The state a run leaves, with both sides' project-list timestamps as that run records them.
            engine.sync_records.put(replace(
                self._templates[target], project=name,
                primary_last_modified=str(on_primary["lastModifiedDateTime"]),
                secondary_last_modified=str(on_target["lastModifiedDateTime"]),
                primary_signals=listed_signals(on_primary), secondary_signals=listed_signals(on_target),
                run_id=""))


def _records(engine: ReplicationEngine, project: str) -> list[SyncRecord]:
    found = [engine.sync_records.get(target, project) for target in engine.targets]
    return [record for record in found if record is not None]


def _import(client: AuthoringClient, project: str, body: bytes) -> None:
    client.wait(client.start_import(project, body), poll_interval=0.01, deadline=120).raise_for_failure()


def daily_check(env: Environment, projects: InSyncProjects, count: int) -> dict[str, Any]:
    """Two timer ticks over resources holding `count` in-sync projects each: the first a full pass, the
    second a day between full passes; requests, per resource and in all, and time of each."""
    projects.grow_to(count)
    engine = projects.engine()
    # A full-pass day: no full observation on record (a smaller size's check left some).
    with contextlib.suppress(ResourceNotFoundError):
        engine.sync_records.blobs.container.delete_blob(full_pass.BLOB_NAME)
    full = _tick(projects, engine, count)
    between = _tick(projects, engine, count)
    resources = len(projects.regions)
    target = gets_target(count)
    per_resource = between["getsPerResource"]
    return {
        "projects": count,
        "resources": resources,
        **{key: between[key] for key in ("seconds", "authoringGets", "authoringPosts", "requests",
                                         "getsPerResource", "observed")},
        "getsPerProject": round(between["authoringGets"] / count, 3),
        "getsPerResourceTarget": target,
        "met": max(per_resource.values()) <= target,
        "fullPass": full,
        "runsStarted": 0,
        "inSync": count * (resources - 1),
    }


def _tick(projects: InSyncProjects, engine: ReplicationEngine, count: int) -> dict[str, Any]:
    regions = projects.regions
    reset_request_counts(*regions)
    started = time.perf_counter()
    report = engine.timer_tick()
    seconds = time.perf_counter() - started
    requests = combined_counts(*regions)
    drift = report.drift or {}
    states = drift.get("counts", {})
    in_sync = int(states.get("in_sync", 0))
    pairs = count * (len(regions) - 1)
    if in_sync != pairs or report.started:
        raise RuntimeError(f"expected {pairs} replicas in sync and no run; drift counts {states}, "
                           f"{len(report.started)} runs started")
    authoring = requests["authoring"]
    per_resource = {region.region: request_counts(region)["authoring"].get("GET", 0) for region in regions}
    observed: dict[str, int] = {}
    for entry in drift.get("projects", []):
        observed[entry["observed"]] = observed.get(entry["observed"], 0) + 1
    return {
        "seconds": round(seconds, 3),
        "authoringGets": authoring.get("GET", 0),
        "authoringPosts": sum(v for k, v in authoring.items() if k != "GET"),
        "requests": requests,
        "getsPerResource": per_resource,
        "observed": observed,
    }


def measure(env: Environment, counts: list[int]) -> list[dict[str, Any]]:
    projects = InSyncProjects(env)
    return [daily_check(env, projects, count) for count in sorted(counts)]


def measure_many_resources(env: Environment, extra_targets: Mapping[str, EmulatorRegion],
                           count: int) -> dict[str, Any]:
    """The primary and three targets (SECONDARY_TARGETS), each holding `count` in-sync projects."""
    return daily_check(env, InSyncProjects(env, extra_targets=extra_targets), count)

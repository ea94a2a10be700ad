"""Figure 1 (overhead ratio and lag) and the per-replication part of figure 2 (API economy).

One full replication of a generated custom NER project (export, documents, import, train, deploy,
verify) from the emulated primary to the emulated secondary, driven by the product's engine through
Azurite's step queue and the local runner. The emulated jobs last their configured service times
multiplied by the time scale; the engine's waits are scaled alike (bench.environment).

- overhead ratio = the run's wall time (from `start_runs` until the step queue is idle) / the sum of
  the emulator's job durations for the run (created -> finished, from /_emulator/jobs of both regions;
  the verify step's two runtime jobs run side by side and count once, at their configured time);
- lag per job = when the step after the job's step started (or the run finished) - when the job
  finished: polling delay, the queue's delivery, and the job's own follow-up work (e.g. storing the
  export as a snapshot) all count;
- requests: what both regions' request counters saw during the run;
- the replicator's own seconds per step kind: the time spent inside the slices the runner executed
  (each timed around the engine's `advance`), by the kind of the step the slice served; the waits
  between slices (a job running, a visibility delay) are not in it. Polls per job: the step's own
  count of status GETs for its job, and that rate in polls per minute of the job's service time;

- then a "no content change" run: the primary's project is saved again unchanged (re-imported from
  its own export), the daily timer tick runs, and every job it causes is counted (target: none on
  the secondary; the drift check may export the primary once to prove nothing changed).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from bench.environment import (
    Environment,
    combined_counts,
    emulator_jobs,
    engine_for,
    job_seconds,
    job_times,
    reset_request_counts,
    runner_for,
)
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import SampleProject, ner_project
from shared.engine import ReplicationEngine
from shared.language.export_format import to_bytes
from shared.runs.manifest import SUCCEEDED, RunManifest
from shared.runs.scheduler.messages import StepMessage

LAG_TARGET_SECONDS = 1.0
RATIO_TARGET = 1.05
DEPLOYMENT = "prod"


class SliceTimer:
    """Runs each slice through the engine and adds up the seconds it took, by step name."""

    def __init__(self, engine: ReplicationEngine) -> None:
        self.engine = engine
        self.seconds: dict[str, float] = defaultdict(float)
        self.slices: Counter[str] = Counter()

    def advance(self, message: StepMessage) -> None:
        started = time.perf_counter()
        try:
            self.engine.advance(message)
        finally:
            self.seconds[message.step] += time.perf_counter() - started
            self.slices[message.step] += 1

    def by_kind(self, manifest: RunManifest) -> dict[str, dict[str, float]]:
        kinds = {step.name: str(step.kind) for step in manifest.steps}
        totals: dict[str, dict[str, float]] = {}
        for name, seconds in self.seconds.items():
            entry = totals.setdefault(kinds.get(name, name), {"seconds": 0.0, "slices": 0, "steps": 0})
            entry["seconds"] = round(entry["seconds"] + seconds, 4)
            entry["slices"] += self.slices[name]
            entry["steps"] += 1
        return dict(sorted(totals.items()))


def seed_primary(env: Environment, project: SampleProject) -> None:
    """Upload, import, train and deploy on the primary, its job times at zero (set-up is not measured)."""
    defaults = job_seconds(env.primary)
    env.primary.control("/_emulator/durations", b'{"import": 0, "train": 0, "deploy": 0}')
    try:
        deploy_sample_project(env.primary.endpoint, env.primary.key,
                              env.connection_string("primarydocs"), project, deployment=DEPLOYMENT,
                              poll_interval=0.01)
    finally:
        restore = {kind: defaults[kind] for kind in ("import", "train", "deploy")}
        env.primary.control("/_emulator/durations", _json(restore))


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def job_ids(env: Environment, api: str = "text") -> set[str]:
    return {str(job["jobId"]) for region in env.regions for job in emulator_jobs(region, api)}


def new_jobs(env: Environment, before: set[str], api: str = "text") -> list[tuple[str, dict[str, Any]]]:
    found = [(region.region, job) for region in env.regions for job in emulator_jobs(region, api)
             if str(job["jobId"]) not in before]
    return sorted(found, key=lambda pair: str(pair[1]["createdDateTime"]))


def measure(env: Environment, *, documents: int, timeout: float = 600.0) -> dict[str, Any]:
    project = ner_project(documents=documents)
    seed_primary(env, project)
    settings = env.settings(project.name)
    engine = engine_for(settings, env.time_scale)
    timer = SliceTimer(engine)
    runner = runner_for(settings, engine, timer.advance)

    before = job_ids(env)
    reset_request_counts(*env.regions)
    started = time.perf_counter()
    starts = engine.start_runs([project.name], trigger="bench")
    if len(starts) != 1 or starts[0].status != "started" or starts[0].run_id is None:
        raise RuntimeError(f"the replication did not start: {[s.to_json() for s in starts]}")
    runner.run_until_idle(timeout=timeout)
    wall = time.perf_counter() - started
    requests = combined_counts(*env.regions)
    manifest = engine.get_run(project.name, starts[0].run_id)
    if manifest.status != SUCCEEDED:
        raise RuntimeError(f"the replication ended {manifest.status}: {manifest.error}")

    jobs = new_jobs(env, before)
    rows = job_rows(jobs, manifest)
    authoring_seconds = sum(row["seconds"] for row in rows)
    verify = manifest.step("verify")
    runtime_seconds = job_seconds(env.primary).get("runtime", 0.0) * env.time_scale \
        if verify.detail.get("jobs") else 0.0
    service_seconds = authoring_seconds + runtime_seconds
    lags = [row["lagSeconds"] for row in rows if row["lagSeconds"] is not None]
    retries = [step.name for step in manifest.steps if "lastRetry" in step.detail]
    overhead = {
        "timeScale": env.time_scale,
        "documents": documents,
        "wallSeconds": round(wall, 3),
        "serviceJobSeconds": round(service_seconds, 3),
        "authoringJobSeconds": round(authoring_seconds, 3),
        "runtimeJobSeconds": round(runtime_seconds, 3),
        "ratio": round(wall / service_seconds, 4),
        "ratioTarget": RATIO_TARGET,
        "maxLagSeconds": round(max(lags), 3) if lags else 0.0,
        "meanLagSeconds": round(sum(lags) / len(lags), 3) if lags else 0.0,
        "lagTargetSeconds": LAG_TARGET_SECONDS,
        "stepsRetriedAfterThrottling": retries,
        "jobs": rows,
        "steps": [step_row(step) for step in manifest.steps],
        "replicatorSecondsByStepKind": timer.by_kind(manifest),
        "replicatorSecondsInSlices": round(sum(timer.seconds.values()), 3),
        "pollsPerJob": _polls(rows, manifest, env.time_scale),
    }
    per_replication = {"requests": requests, "jobs": dict(Counter(f"{region}:{job['kind']}"
                                                                    for region, job in jobs))}
    no_change = _unchanged_run(env, project, engine, runner, timeout)
    return {"overhead": overhead, "perReplication": per_replication, "noContentChange": no_change}


def job_rows(jobs: list[tuple[str, dict[str, Any]]], manifest: RunManifest) -> list[dict[str, Any]]:
    rows = []
    steps = manifest.steps
    for region, job in jobs:
        created, finished = job_times(job)
        if finished is None:
            raise RuntimeError(f"job {job['jobId']} ({job['kind']}) had not finished when the run ended")
        job_id = str(job["jobId"])
        index = next((i for i, step in enumerate(steps) if step.job_url and job_id in step.job_url), None)
        next_start: datetime | None = None
        if index is not None:
            later = [step.started_at for step in steps[index + 1:] if step.started_at is not None]
            next_start = later[0] if later else manifest.finished_at
        rows.append({
            "region": region,
            "kind": job["kind"],
            "step": steps[index].name if index is not None else None,
            "seconds": round((finished - created).total_seconds(), 4),
            "lagSeconds": round((next_start - finished).total_seconds(), 4) if next_start else None,
        })
    return rows


def _polls(job_rows: list[dict[str, Any]], manifest: RunManifest, time_scale: float) -> list[dict[str, Any]]:
    """Per job: the status GETs its step spent on it, and their rate per minute of the job's service time."""
    polls = []
    for row in job_rows:
        if row["step"] is None:
            continue
        step = manifest.step(row["step"])
        service_minutes = row["seconds"] / time_scale / 60
        rate = round(step.polls / service_minutes, 2) if service_minutes else None
        polls.append({"step": step.name, "kind": row["kind"], "polls": step.polls,
                      "serviceSeconds": round(row["seconds"] / time_scale, 1), "pollsPerServiceMinute": rate})
    return polls


def step_row(step: Any) -> dict[str, Any]:
    took = None
    if step.finished_at and step.started_at:
        took = (step.finished_at - step.started_at).total_seconds()
    return {"step": step.name, "status": step.status, "polls": step.polls,
            "seconds": round(took, 4) if took is not None else None}


def _unchanged_run(env: Environment, project: SampleProject, engine: Any, runner: Any,
                   timeout: float) -> dict[str, Any]:
    """Save the primary's project again without changing it, then run the daily check and what it starts."""
    client = env.authoring(env.primary)
    client.wait(client.start_import(project.name, to_bytes(project.export)), poll_interval=0.01,
                deadline=timeout).raise_for_failure()
    before = job_ids(env)
    reset_request_counts(*env.regions)
    started = datetime.now(UTC)
    report = engine.timer_tick()
    runner.run_until_idle(timeout=timeout)
    jobs = new_jobs(env, before)
    secondary_jobs = [job["kind"] for region, job in jobs if region == env.secondary.region]
    return {
        "trigger": "the primary's project re-imported from its own export (lastModifiedDateTime moves, "
                   "content does not), then the daily timer tick",
        "runsStarted": [start.to_json()["status"] for start in report.started],
        "secondaryJobs": len(secondary_jobs),
        "secondaryJobKinds": dict(Counter(secondary_jobs)),
        "primaryJobKinds": dict(Counter(job["kind"] for region, job in jobs if region == env.primary.region)),
        "requests": combined_counts(*env.regions),
        "target": 0,
        "checkedAt": started.isoformat(timespec="seconds"),
    }

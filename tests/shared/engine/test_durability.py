"""Crashes at every step boundary, duplicate deliveries and concurrent starts: one run, one billed job."""

import threading
from datetime import timedelta

import pytest

from localdev.sample_project import ner_project
from shared.runs.manifest import SUCCEEDED

from .support import authoring, control, emulator_jobs, export_of, harness, make_engine, seed

BOUNDARIES = ("before-intent", "after-intent", "after-submit", "after-job-url", "after-slice", "after-fence")


class Crash(BaseException):
    """The process dies: nothing after this point runs, nothing is cleaned up."""


def training_jobs(region, project):
    return [job for job in emulator_jobs(region) if job["kind"] == "train" and job["project"] == project]


@pytest.mark.parametrize("import_keeps_models", [True, False], ids=["imports-keep", "imports-drop"])
def test_killed_at_every_step_boundary_converges_with_one_training_job(regions, azurite, import_keeps_models):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    control(regions.secondary, "/_emulator/behaviour", {"importKeepsModels": import_keeps_models})
    h = harness(regions, azurite)
    crashed: list[tuple[str, str]] = []

    def crash_once(point, step):
        if point in BOUNDARIES and (point, step.name) not in crashed:
            crashed.append((point, step.name))
            raise Crash()

    engine = h.engine
    engine.crash_hook = crash_once

    def process(message):
        nonlocal engine
        try:
            engine.advance(message)
        except Crash:
            # A fresh process picks the message up again once its visibility timeout lapses.
            engine = make_engine(regions, azurite, clock=h.clock, scheduler=h.scheduler)
            engine.crash_hook = crash_once
            h.scheduler.schedule(message, timedelta(minutes=10))

    [start] = h.engine.start_runs()
    h.scheduler.run_until_idle(process, max_deliveries=5000)

    run = engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    crashed_points = {point for point, _ in crashed}
    assert crashed_points == set(BOUNDARIES)
    assert ("after-submit", "train:v1") in crashed  # between the 202 and the write of its job URL
    # One job per training step: with imports that drop models, v1 is trained again after the last one.
    train_steps = ["train:v1"] if import_keeps_models else ["train:v1", "retrain:v1"]
    assert len(training_jobs(regions.secondary, project.name)) == len(train_steps)
    # The daily cap counted each training once, though every step was submitted again after a crash.
    days = {run.created_at, h.clock.now()}  # the fake clock may cross midnight during the run
    spent = {spender for day in days for spender in engine.trainings.used("secondary", project.name, day)}
    assert len(spent) == len(train_steps), spent
    for name in train_steps:
        assert ("after-submit", name) in crashed
        assert run.step(name).detail.get("reconciled") == "adopted the job submitted before a crash"
    secondary = authoring(regions.secondary)
    assert secondary.get_deployment(project.name, "prod")["modelId"] == secondary.get_model(
        project.name, "v1")["modelId"]
    replica = export_of(authoring(regions.secondary), project.name)
    assert replica["assets"] == export_of(authoring(regions.primary), project.name)["assets"]


def test_duplicate_deliveries_are_dropped(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)

    def deliver_twice(message):
        h.engine.advance(message)
        h.engine.advance(message)  # the host delivered it again: stale by now

    [start] = h.engine.start_runs()
    h.scheduler.run_until_idle(deliver_twice)
    assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
    assert len(training_jobs(regions.secondary, project.name)) == 1


def test_twenty_concurrent_starts_give_one_run(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    barrier = threading.Barrier(20)
    results = []

    def start():
        barrier.wait()
        results.extend(h.engine.start_runs())

    threads = [threading.Thread(target=start) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [r for r in results if r.status == "started"]
    assert len(started) == 1, [r.status for r in results]
    assert {r.active_run_id for r in results if r.status == "already_active"} <= {started[0].run_id}
    assert len(h.engine.list_runs(project.name)) == 1
    h.run()
    assert h.engine.get_run(project.name, started[0].run_id).status == SUCCEEDED

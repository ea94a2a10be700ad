"""A replication driven through the real step queue by the local runner, killed once mid-submit."""

from datetime import timedelta

from localdev.sample_project import ner_project
from shared.clock import SystemClock
from shared.engine import EngineOptions
from shared.runs.manifest import SUCCEEDED
from shared.runs.scheduler import StorageQueueScheduler
from shared.runs.scheduler.local_runner import LocalRunner

from .support import FAST_STEPS, emulator_jobs, make_engine, seed


class Killed(BaseException):
    """Like SIGKILL: not an Exception, so nothing in the process handles it."""


def test_storage_queue_run_survives_a_kill_between_the_202_and_its_job_url(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    connection = azurite.connection_string()
    # Delays shrink to nothing (the emulator runs 1000x faster); claims lapse quickly after a kill.
    options = EngineOptions(slice_lease=timedelta(seconds=0.5), steps=FAST_STEPS)
    kills = []

    def process():
        scheduler = StorageQueueScheduler.from_connection_string(connection, delay_scale=0.0)
        engine = make_engine(regions, azurite, clock=SystemClock(), scheduler=scheduler, options=options)

        def kill_once(point, step):
            if point == "after-submit" and step.kind == "train" and not kills:
                kills.append(step.name)
                raise Killed()

        engine.crash_hook = kill_once
        runner = LocalRunner.from_connection_string(connection, engine.advance, engine.fail_poisoned,
                                                    processing_timeout=timedelta(seconds=1))
        return engine, runner

    engine, runner = process()
    [start] = engine.start_runs()
    try:
        runner.run_until_idle(timeout=60)
    except Killed:
        engine, runner = process()  # a new process; the killed one's message reappears after 1 s
        runner.run_until_idle(timeout=60)

    run = engine.get_run(project.name, start.run_id)
    assert kills == ["train:v1"]
    assert run.status == SUCCEEDED, run.to_json()
    trainings = [job for job in emulator_jobs(regions.secondary) if job["kind"] == "train"]
    assert len(trainings) == 1
    assert runner.pending_messages() == 0

"""Throttling storms, 5xx bursts, connection resets and failed jobs, injected in the emulated secondary."""

import pytest

from localdev.sample_project import ner_project
from shared.language import retry
from shared.runs.manifest import FAILED, SUCCEEDED

from .support import control, emulator_jobs, harness, seed


def training_jobs(region, project):
    return [job for job in emulator_jobs(region) if job["kind"] == "train" and job["project"] == project]


@pytest.fixture
def seeded(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    # Retry sleeps move the fake clock instead of the wall clock.
    with retry.testing(sleep=h.clock.sleep):
        yield project, h


def replicate(h, project):
    [start] = h.engine.start_runs()
    assert start.status == "started", start
    h.run()
    return h.engine.get_run(project.name, start.run_id)


def test_a_429_storm_on_every_post_is_waited_out(regions, seeded):
    project, h = seeded
    control(regions.secondary, "/_emulator/faults/throttle",
            {"method": "POST", "path": ".", "count": 12, "retryAfterSeconds": 20})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert len(training_jobs(regions.secondary, project.name)) == 1
    assert any("429" in str(step.detail.get("lastRetry", "")) for step in run.steps)


def test_a_5xx_burst_on_train_is_reconciled_not_resubmitted_blindly(regions, seeded):
    project, h = seeded
    control(regions.secondary, "/_emulator/faults/errors",
            {"method": "POST", "path": ":train", "count": 2, "status": 503})
    control(regions.secondary, "/_emulator/faults/errors",
            {"method": "GET", "path": "/train/jobs", "count": 3, "status": 500})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert len(training_jobs(regions.secondary, project.name)) == 1
    assert "503" in run.step("train:v1").detail.get("lastSubmit", "")


def test_a_reset_after_the_service_accepted_train_adopts_that_job(regions, seeded):
    project, h = seeded
    control(regions.secondary, "/_emulator/faults/errors",
            {"method": "POST", "path": ":train", "count": 1, "action": "reset-after"})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert len(training_jobs(regions.secondary, project.name)) == 1
    assert run.step("train:v1").detail["reconciled"] == "adopted the job submitted before a crash"


def test_connection_resets_on_reads_are_survived(regions, seeded):
    project, h = seeded
    [start] = h.engine.start_runs()
    # More resets than one call retries: the slice hands the wait back to the scheduler.
    control(regions.secondary, "/_emulator/faults/errors",
            {"method": "GET", "path": ".", "count": 6, "action": "reset-before"})
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    assert any("connection" in str(step.detail.get("lastRetry", "")) for step in run.steps)


def test_a_transient_training_failure_is_retried_once(regions, seeded):
    project, h = seeded
    control(regions.secondary, "/_emulator/faults/jobs", {"kind": "train", "count": 1})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    jobs = training_jobs(regions.secondary, project.name)
    assert [job["status"] for job in jobs] == ["failed", "succeeded"]


def test_throttling_while_a_run_closes_delays_it_instead_of_failing_it(regions, seeded):
    project, h = seeded

    def throttle_after_verify(point, step):
        if point == "after-slice" and step.kind == "verify" and step.done:
            # Longer than any in-call sleep: the engine must hand the wait back to the scheduler.
            control(regions.secondary, "/_emulator/faults/throttle",
                    {"method": "GET", "path": ".", "count": 8, "retryAfterSeconds": 120})
            h.engine.crash_hook = None

    h.engine.crash_hook = throttle_after_verify
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()


def test_a_failed_training_job_fails_the_run_with_the_services_reason(regions, seeded, caplog):
    project, h = seeded
    control(regions.secondary, "/_emulator/faults/jobs", {
        "kind": "train", "count": 5, "code": "InvalidRequest", "message": "Too few labelled documents."})
    run = replicate(h, project)
    assert run.status == FAILED
    assert run.error["code"] == "InvalidRequest"
    assert "Too few labelled documents." in run.error["message"]
    assert run.error["step"] == "train:v1"
    # The failed-run alert in infra/app/alerts.bicep parses exactly this line.
    messages = [record.getMessage() for record in caplog.records]
    [alert_line] = [message for message in messages if message.startswith("replication.run_failed ")]
    assert alert_line.startswith(f"replication.run_failed project={project.name} target=secondary "
                                 f"run_id={run.run_id} ")
    assert len(training_jobs(regions.secondary, project.name)) == 1
    assert h.engine.lock.holder("secondary", project.name) is None


def test_a_service_message_quoting_a_key_is_recorded_and_answered_redacted(regions, seeded):
    """A run's errors are stored in its manifest, answered over HTTP and printed by the CLI: the service's
    message can quote a key or a SAS, so the manifest itself never holds one."""
    project, h = seeded
    key = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0=="
    control(regions.secondary, "/_emulator/faults/jobs", {
        "kind": "train", "count": 5, "code": "InvalidRequest",
        "message": f"cannot read DefaultEndpointsProtocol=https;AccountKey={key}; or ?sv=1&sig=abcSIGdef"})
    run = replicate(h, project)
    assert run.status == FAILED
    stored = h.engine.get_run(project.name, run.run_id).to_json()
    text = str(stored)
    assert key not in text and "abcSIGdef" not in text
    assert "AccountKey=***" in stored["error"]["message"]
    assert any("AccountKey=***" in str(step["errors"]) for step in stored["steps"])

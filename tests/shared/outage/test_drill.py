"""The DR drill against Azurite and two emulated regions: it proves the secondary can serve, writes
nothing to either Language resource, keeps its report beside the run history and notifies on failure."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from azure.storage.blob import BlobServiceClient

from language_failover import BreakerPolicy, RegionClientPolicy
from localdev.sample_project import ner_project
from shared.language import retry
from shared.outage.drill import DRILL_FAILED, FailoverTiming
from shared.runs.manifest import SUCCEEDED
from shared.storage.json_blobs import STATE_CONTAINER
from tests.shared.webhook_receiver import Receiver

from ..engine.support import authoring, emulator_jobs, harness, seed, wait_job

WRITES = {"import", "train", "deploy", "delete-deployment", "swap", "delete-project", "load-snapshot"}


def test_the_recovery_time_is_computed_from_the_failover_client_s_own_defaults():
    timing = FailoverTiming()
    breaker, client = BreakerPolicy(), RegionClientPolicy()
    for field in fields(timing):
        source = breaker if hasattr(breaker, field.name) else client
        assert getattr(timing, field.name) == getattr(source, field.name), field.name
    computed = timing.recovery_time()
    # 3 attempts of (3 s connect + 15 s read) and backoffs of 0.2 s and 0.4 s.
    assert computed["firstRequestServedAfterSeconds"] == 54.6
    assert computed["primaryOutOfRotationAfterSeconds"] == pytest.approx(3 * 54.6, abs=0.1)
    assert computed["computed"] is True


@pytest.fixture
def replicated(regions, azurite, webhook: Receiver):
    project = ner_project(documents=10)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, NOTIFY_WEBHOOK_URL=webhook.url)
    with retry.testing(sleep=h.clock.sleep):
        [start] = h.engine.start_runs()
        h.run()
        assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
        yield project, h


def test_a_drill_after_replication_passes_and_touches_nothing(replicated, regions, azurite, webhook):
    _, h = replicated
    before = {name: len(emulator_jobs(region)) for name, region in (("p", regions.primary),
                                                                    ("s", regions.secondary))}

    report = h.engine.drill()

    assert report.passed, report.to_text()
    assert {c.check for c in report.checks} == {"deployments answer", "predictions agree", "recovery point"}
    assert "100% of" in next(c.detail for c in report.checks if c.check == "predictions agree")
    for name, region in (("p", regions.primary), ("s", regions.secondary)):
        assert not [job for job in emulator_jobs(region)[before[name]:] if job["kind"] in WRITES]
    state = BlobServiceClient.from_connection_string(azurite.connection_string()).get_container_client(
        STATE_CONTAINER)
    assert report.stored_as is not None
    stored = json.loads(state.get_blob_client(report.stored_as).download_blob().readall())
    assert stored["passed"] is True and stored["recoveryTime"]["computed"] is True
    summary = state.get_blob_client(report.stored_as.replace(".json", ".txt")).download_blob().readall()
    assert summary.decode().startswith("DR drill of") and b"PASSED" in summary
    assert webhook.bodies == []


def test_a_deployment_that_does_not_answer_fails_the_drill_and_notifies(replicated, regions, webhook):
    project, h = replicated
    secondary = authoring(regions.secondary)
    wait_job(secondary, secondary.delete_deployment(project.name, "prod"))

    report = h.engine.drill()

    assert not report.passed
    failed = [c for c in report.checks if not c.ok]
    assert failed and failed[0].check == "deployments answer" and "no deployment" in failed[0].detail
    [body] = webhook.bodies
    assert body["kind"] == DRILL_FAILED and report.notified


def test_the_daily_timer_drills_every_drill_every_days(regions, azurite):
    project = ner_project(documents=6)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, DRILL_EVERY_DAYS="7")
    with retry.testing(sleep=h.clock.sleep):
        h.engine.start_runs()
        h.run()
        first = h.engine.scheduled_drill()
        assert first is not None and first.passed, first and first.to_text()
        assert h.engine.scheduled_drill() is None  # the last drill is younger than 7 days
        h.clock.sleep(7 * 86400)
        assert h.engine.scheduled_drill() is not None
    off = harness(regions, azurite)  # DRILL_EVERY_DAYS unset: on demand only
    assert off.engine.scheduled_drill() is None

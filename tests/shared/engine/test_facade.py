"""The facade's wiring and its answers to bad input."""

import json
import logging

import pytest

from localdev.sample_project import ner_project
from shared.engine import ReplicationEngine
from shared.errors import InvalidRequest, UnknownProject, UnknownRun
from shared.runs.manifest import SUCCEEDED
from shared.runs.scheduler import StorageQueueScheduler
from shared.runs.scheduler.local_runner import LocalRunner
from shared.settings import settings_from_values

from .support import harness, seed, settings_values


def test_from_settings_wires_the_step_queue_of_azure_web_jobs_storage(regions, azurite):
    engine = ReplicationEngine.from_settings(settings_from_values(settings_values(regions, azurite)))
    assert isinstance(engine.scheduler, StorageQueueScheduler)
    assert engine.scheduler.queue.queue_name == "replication-steps"
    health = engine.health()
    assert health["healthy"] is True
    text = json.dumps(health)
    for secret in (regions.primary.key, regions.secondary.key, "AccountKey"):
        assert secret not in text


def test_bad_input_gets_typed_errors(regions, azurite):
    h = harness(regions, azurite)
    with pytest.raises(UnknownProject):
        h.engine.start_runs(["NotReplicated"])
    with pytest.raises(InvalidRequest):
        h.engine.start_runs(["bad name!"])
    with pytest.raises(InvalidRequest):
        h.engine.get_run("LoanAgreements", "not-a-run-id")
    with pytest.raises(UnknownRun):
        h.engine.get_run("LoanAgreements", "20260101T000000Z-00000000")


def test_a_run_manifest_and_the_logs_hold_no_secret(regions, azurite, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' HTTP logging included
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    engine = ReplicationEngine.from_settings(settings_from_values(settings_values(regions, azurite)))
    [start] = engine.start_runs()
    runner = LocalRunner.from_connection_string(azurite.connection_string(), engine.advance,
                                                engine.fail_poisoned)
    engine.scheduler.delay_scale = 0.0  # type: ignore[attr-defined]
    runner.run_until_idle(timeout=60)
    run = engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    text = json.dumps(run.to_json()) + json.dumps([r.to_json() for r in engine.list_runs(project.name)])
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert "replicate" in logs or "succeeded" in logs  # the logs were captured
    account_key = azurite.connection_string().split("AccountKey=", 1)[1].split(";", 1)[0]
    for secret in (regions.primary.key, regions.secondary.key, "AccountKey", "sig=", account_key):
        assert secret not in text
        assert secret not in logs

"""The registered functions against Azurite and two emulated regions, driven as the host drives them."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from localdev.sample_project import ner_project
from shared.clock import SystemClock
from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.functions.health import ANONYMOUS_FIELDS
from shared.functions.steps_queue import on_step_message, read_step_message
from shared.functions.timer import on_drift_timer
from shared.runs.scheduler import QUEUE_NAME
from tests.shared.engine.support import authoring, emulator_jobs, export_of, seed, settings_values
from tests.shared.functions.app_under_test import DEAD_LETTER_QUEUE, engine_for, queue_host, serving
from tests.shared.functions.host import (
    FUNCTIONS_BASE_URL,
    as_host_delivers,
    http_request,
    json_body,
    raw_queue_client,
    registered,
    timer_request,
)
from tests.shared.functions.providers import provider_of

PROJECT = ner_project()


@pytest.fixture
def seeded(regions: Any, azurite: Any) -> Any:
    """The primary holds the sample project, trained as v1 and deployed as prod; the secondary is empty."""
    return seed(regions.primary, azurite.connection_string("primarydocs"), PROJECT)


def without_container(export: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in export["metadata"].items() if k != "storageInputContainerName"}
    return {**export, "metadata": metadata}


def runs_of(project: str) -> list[dict[str, Any]]:
    request = http_request("GET", f"replications/{project}", route_params={"project": project})
    response = registered("list_replications")(request)
    assert response.status_code == 200, response.get_body()
    runs: list[dict[str, Any]] = json_body(response)["runs"]
    return runs


def get_run(project: str, run_id: str) -> Any:
    request = http_request(
        "GET", f"replications/{project}/{run_id}", route_params={"project": project, "runId": run_id}
    )
    return registered("get_replication")(request)


def start(body: Any = None) -> Any:
    return registered("start_replications")(http_request("POST", "replications", body=body))


def billed_jobs(regions: Any) -> int:
    return len(emulator_jobs(regions.primary)) + len(emulator_jobs(regions.secondary))


def test_a_full_replication_runs_through_the_timer_and_queue_functions_alone(
    regions: Any, azurite: Any, seeded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    host = queue_host(azurite)
    with serving(engine_for(regions, azurite)):
        registered("drift_timer")(timer_request())
        host.drain()

        [run] = runs_of(PROJECT.name)
        assert run["status"] == "succeeded", run
        assert run["trigger"] == "timer"
        assert host.failures == []
        secondary = authoring(regions.secondary)
        assert without_container(export_of(secondary, PROJECT.name)) == without_container(
            export_of(seeded, PROJECT.name)
        )

        # The next day nothing changed: the timer starts nothing and no job is submitted.
        jobs = billed_jobs(regions)
        with caplog.at_level(logging.INFO, logger="shared.functions.telemetry"):
            registered("drift_timer")(timer_request())
        host.drain()
        assert len(runs_of(PROJECT.name)) == 1
        # ...and reports the recovery point age the deployment's alert rule watches.
        assert f"replication.recovery_point_age_hours project={PROJECT.name} target=secondary hours=" in (
            caplog.text
        )
        assert billed_jobs(regions) == jobs

        drift = registered("get_drift")(http_request("GET", "drift"))
        assert drift.status_code == 200
        [entry] = json_body(drift)["projects"]
        assert (entry["project"], entry["state"]) == (PROJECT.name, "in_sync")
        assert entry["recoveryPointAgeSeconds"] is not None and entry["recoveryPointAge"]


def test_two_timers_firing_at_once_on_two_instances_start_one_run(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    instances = [provider_of(engine_for(regions, azurite)) for _ in range(2)]
    barrier = threading.Barrier(len(instances))
    reports: list[Any] = []
    errors: list[BaseException] = []

    def fire(provider: EngineProvider) -> None:
        try:
            barrier.wait(timeout=10)
            reports.append(on_drift_timer(timer_request(), provider))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=fire, args=(provider,)) for provider in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    statuses = sorted(start.status for report in reports for start in report.started)
    assert statuses in (["already_active", "started"], ["started"]), statuses
    [run] = instances[0].get().list_runs(PROJECT.name)
    assert run.trigger == "timer"


def test_a_past_due_timer_warns_and_still_checks(
    regions: Any, azurite: Any, seeded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.functions.timer"):
        report = on_drift_timer(timer_request(past_due=True), provider_of(engine_for(regions, azurite)))
    assert report.past_due
    assert [start.status for start in report.started] == ["started"]
    assert "past due" in caplog.text


def test_the_http_api_starts_conflicts_polls_and_reports_in_sync(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    host = queue_host(azurite)
    with serving(engine_for(regions, azurite)):
        planned = start({"projects": [PROJECT.name], "dryRun": True})
        assert planned.status_code == 200
        [plan] = json_body(planned)["runs"]
        assert plan["status"] == "planned" and plan["plan"]
        assert runs_of(PROJECT.name) == []

        first = start({"projects": [PROJECT.name]})
        assert first.status_code == 202, first.get_body()
        [run] = json_body(first)["runs"]
        assert run["status"] == "started"
        location = f"{FUNCTIONS_BASE_URL}/api/replications/{PROJECT.name}/{run['runId']}"
        assert first.headers["Location"] == run["location"] == location  # and no function key in it

        second = start({"projects": [PROJECT.name]})
        assert second.status_code == 409
        body = json_body(second)
        assert body["error"]["code"] == "RunConflict"
        assert body["error"]["activeRunId"] == run["runId"]
        assert run["runId"] in body["error"]["message"]
        assert second.headers["Location"] == location

        host.drain()
        polled = get_run(PROJECT.name, run["runId"])
        assert polled.status_code == 200
        manifest = json_body(polled)
        assert manifest["status"] == "succeeded"
        assert {step["kind"] for step in manifest["steps"]} >= {"export", "import", "train", "deploy"}

        again = start()  # every replicated project
        assert again.status_code == 200
        assert [r["status"] for r in json_body(again)["runs"]] == ["in_sync"]


def test_redrive_and_cancel_over_http(regions: Any, azurite: Any, seeded: Any) -> None:
    host = queue_host(azurite)
    with serving(engine_for(regions, azurite)):
        run_id = json_body(start({"projects": [PROJECT.name]}))["runs"][0]["runId"]
        ids = {"project": PROJECT.name, "runId": run_id}

        cancelled = registered("cancel_replication")(
            http_request("POST", f"replications/{PROJECT.name}/{run_id}/cancel", route_params=ids)
        )
        assert cancelled.status_code == 200, cancelled.get_body()
        assert json_body(cancelled)["status"] == "cancelled"
        host.drain()  # the slice already queued finds the run cancelled and does nothing
        assert json_body(get_run(PROJECT.name, run_id))["status"] == "cancelled"

        def redrive(step: str) -> Any:
            path = f"replications/{PROJECT.name}/{run_id}/steps/{step}"
            request = http_request("POST", path, route_params={**ids, "step": step})
            return registered("redrive_replication_step")(request)

        unknown = redrive("bake")
        assert unknown.status_code == 400
        assert "no step 'bake'" in json_body(unknown)["error"]["message"]
        first_step = json_body(get_run(PROJECT.name, run_id))["steps"][0]["name"]
        refused = redrive(first_step)
        assert refused.status_code == 400
        assert "cancelled" in json_body(refused)["error"]["message"]

        # A finished run: re-driving a step that succeeded redoes nothing.
        done_id = json_body(start({"projects": [PROJECT.name]}))["runs"][0]["runId"]
        host.drain()
        ids = {"project": PROJECT.name, "runId": done_id}
        run_id = done_id
        jobs = billed_jobs(regions)
        step = json_body(get_run(PROJECT.name, done_id))["steps"][-1]["name"]
        again = redrive(step)
        assert again.status_code == 202
        assert again.headers["Location"].endswith(f"/api/replications/{PROJECT.name}/{done_id}")
        host.drain()
        assert billed_jobs(regions) == jobs
        assert json_body(get_run(PROJECT.name, done_id))["status"] == "succeeded"


def test_unknown_projects_and_runs_are_404_and_malformed_run_ids_400(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    with serving(engine_for(regions, azurite)):
        unknown_project = start({"projects": ["NotReplicated"]})
        assert unknown_project.status_code == 404
        assert json_body(unknown_project)["error"]["code"] == "UnknownProject"

        listed = registered("list_replications")(
            http_request("GET", "replications/NotReplicated", route_params={"project": "NotReplicated"})
        )
        assert listed.status_code == 404

        missing = get_run(PROJECT.name, "20260101T000000Z-deadbeef")
        assert missing.status_code == 404
        assert json_body(missing)["error"]["code"] == "UnknownRun"

        malformed = get_run(PROJECT.name, "latest")
        assert malformed.status_code == 400

        ids = {"project": PROJECT.name, "runId": "20260101T000000Z-deadbeef"}
        for function, path in [("cancel_replication", "cancel"),
                               ("redrive_replication_step", "steps/export")]:
            params = {**ids, "step": "export"} if path.startswith("steps") else ids
            request = http_request("POST", f"replications/{PROJECT.name}/{ids['runId']}/{path}",
                                   route_params=params)
            response = registered(function)(request)
            assert response.status_code == 404, (function, response.get_body())
            assert json_body(response)["error"]["code"] == "UnknownRun"

        unknown_target = registered("list_replications")(
            http_request("GET", f"replications/{PROJECT.name}", route_params={"project": PROJECT.name},
                         params={"target": "tertiary"})
        )
        assert unknown_target.status_code == 400
        assert "secondary" in json_body(unknown_target)["error"]["message"]


def test_a_step_failing_every_delivery_is_poisoned_and_fails_the_run_with_the_reason(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    engine = engine_for(regions, azurite)

    def always_fail(point: str, step: Any) -> None:
        if point == "before-intent":
            raise RuntimeError(f"storage unreachable before {step.name}")

    engine.crash_hook = always_fail
    host = queue_host(azurite, max_dequeue_count=5)
    with serving(engine):
        run_id = json_body(start({"projects": [PROJECT.name]}))["runs"][0]["runId"]
        host.drain()

        assert len(host.failures) == 5
        manifest = json_body(get_run(PROJECT.name, run_id))
        assert manifest["status"] == "failed"
        assert manifest["error"]["code"] == "Poisoned"
        assert "replication-steps-poison" in manifest["error"]["message"]
        assert "5 deliveries" in manifest["error"]["message"]
        # Nothing billed was submitted to the secondary.
        assert [job for job in emulator_jobs(regions.secondary) if job["kind"] == "train"] == []

        # Once the cause is gone, re-driving the failed step over HTTP finishes the same run.
        engine.crash_hook = None
        step = manifest["error"]["step"]
        path = f"replications/{PROJECT.name}/{run_id}/steps/{step}"
        ids = {"project": PROJECT.name, "runId": run_id, "step": step}
        redriven = registered("redrive_replication_step")(http_request("POST", path, route_params=ids))
        assert redriven.status_code == 202, redriven.get_body()
        host.drain()
        assert json_body(get_run(PROJECT.name, run_id))["status"] == "succeeded"


def test_health_with_a_working_engine_reports_usable_settings_and_storage_without_secrets(
    regions: Any, azurite: Any
) -> None:
    with serving(engine_for(regions, azurite)):
        anonymous = registered("get_health")(http_request("GET", "health", params={"code": ""}))
        response = registered("get_health_details")(http_request("GET", "health/details"))
    # Anonymous: exactly these fields, so no endpoint, region, auth mode, name or schedule leaks.
    assert anonymous.status_code == 200
    assert json_body(anonymous) == {"status": "healthy", "version": json_body(anonymous)["version"],
                                    "settingsInError": []}
    assert list(json_body(anonymous)) == list(ANONYMOUS_FIELDS)
    assert regions.primary.endpoint not in anonymous.get_body().decode()
    assert response.status_code == 200
    body = json_body(response)
    assert body["status"] == "healthy"
    assert body["settings"]["usable"] is True
    assert body["stateStorage"]["usable"] is True
    assert body["version"]
    text = response.get_body().decode()
    for secret in (regions.primary.key, regions.secondary.key, "AccountKey"):
        assert secret not in text


def test_the_app_built_from_environment_settings_enqueues_on_the_hosts_storage(
    regions: Any, azurite: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The production wiring: settings from the environment, the step queue on AzureWebJobsStorage."""
    monkeypatch.chdir(tmp_path)  # no local.settings.json
    for name, value in settings_values(regions, azurite).items():
        monkeypatch.setenv(name, value)
    provider = EngineProvider()

    from shared.functions.http_api import handle_start_replications

    response = handle_start_replications(http_request("POST", "replications", body={}), provider)
    assert response.status_code == 202, response.get_body()
    run_id = json_body(response)["runs"][0]["runId"]

    [received] = raw_queue_client(azurite.connection_string(), QUEUE_NAME).receive_messages(max_messages=1)
    delivered = as_host_delivers(received)
    message = read_step_message(delivered)
    assert message is not None and (message.run_id, message.project) == (run_id, PROJECT.name)
    on_step_message(delivered, provider)  # the first slice runs against the real services
    assert provider.get().get_run(PROJECT.name, run_id).fence > message.fence


def test_missing_settings_fail_the_timer_with_a_logged_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PRIMARY_LANGUAGE_ENDPOINT", "PRIMARY_LANGUAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.ERROR), pytest.raises(EngineUnavailable, match="PRIMARY_LANGUAGE_ENDPOINT"):
        on_drift_timer(timer_request(), EngineProvider())
    assert "PRIMARY_LANGUAGE_ENDPOINT" in caplog.text


class LaterClock(SystemClock):
    """The wall clock, `ahead` later: the day after, as far as the engine can tell."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return super().now() + self.ahead


def test_with_settings_missing_a_step_outlives_both_queues_and_the_fixed_app_resumes_its_run(
    regions: Any, azurite: Any, seeded: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_id = engine_for(regions, azurite).start_runs([PROJECT.name])[0].run_id
    assert run_id is not None

    # The app restarts with a setting missing: every delivery of the step, then of its poison copy,
    # fails to build the engine, and the host ends up keeping the message where no function reads it.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRIMARY_LANGUAGE_ENDPOINT", raising=False)
    engines.clear()
    host = queue_host(azurite)
    with caplog.at_level(logging.ERROR, logger="shared.functions.steps_queue"):
        host.drain()
    assert len(host.failures) == 10
    assert all(isinstance(error, EngineUnavailable) for error in host.failures)
    [kept] = raw_queue_client(azurite.connection_string(), DEAD_LETTER_QUEUE).receive_messages()
    assert read_step_message(as_host_delivers(kept)) is not None
    errors = [record.getMessage() for record in caplog.records]
    assert len(errors) == 10 and all("PRIMARY_LANGUAGE_ENDPOINT" in error for error in errors)
    assert "Nothing is lost" in errors[-1] and DEAD_LETTER_QUEUE in errors[-1]

    # Settings fixed; the next daily timer finds the run stalled, resumes it, and it finishes.
    with serving(engine_for(regions, azurite, clock=LaterClock(timedelta(days=1)))):
        assert json_body(get_run(PROJECT.name, run_id))["status"] in ("pending", "running")
        registered("drift_timer")(timer_request())
        host.drain()
        assert json_body(get_run(PROJECT.name, run_id))["status"] == "succeeded"
        assert [run["runId"] for run in runs_of(PROJECT.name)] == [run_id]


def test_a_start_throttled_while_planning_is_503_with_retry_after_not_a_200_error(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    from tests.shared.engine.support import control

    # The primary's project GET answers 429 with a Retry-After longer than one call may sleep.
    control(regions.primary, "/_emulator/faults/throttle",
            {"method": "GET", "path": f"/projects/{PROJECT.name}$", "count": 1, "retryAfterSeconds": 30})
    with serving(engine_for(regions, azurite)):
        throttled = start({"projects": [PROJECT.name]})

        assert throttled.status_code == 503, throttled.get_body()
        assert throttled.headers["Retry-After"] == "30"
        body = json_body(throttled)
        assert body["error"]["code"] == "RetryLater"
        assert [run["status"] for run in body["runs"]] == ["error"]
        assert runs_of(PROJECT.name) == []

    # Throttled before a project is even known (every project replicated): the same answer.
    control(regions.primary, "/_emulator/faults/throttle",
            {"method": "GET", "path": "/projects$", "count": 1, "retryAfterSeconds": 30})
    with serving(engine_for(regions, azurite, REPLICATED_PROJECTS="*")):
        listed = start()
    assert listed.status_code == 503 and listed.headers["Retry-After"] == "30", listed.get_body()
    assert json_body(listed)["error"]["code"] == "RetryLater"

"""POST replications/{project}/{runId}/steps/{step}?run=now: one slice in the request, the queue drives on.

Through the registered handler against Azurite and the emulated regions, as the host calls it.
"""

from __future__ import annotations

from typing import Any

import pytest

from localdev.sample_project import ner_project
from shared.runs.manifest import RunManifest
from shared.runs.scheduler.messages import StepMessage
from tests.shared.engine.support import emulator_jobs, seed
from tests.shared.functions.app_under_test import engine_for, queue_host, serving
from tests.shared.functions.host import http_request, json_body, registered

PROJECT = ner_project()


@pytest.fixture
def seeded(regions: Any, azurite: Any) -> Any:
    return seed(regions.primary, azurite.connection_string("primarydocs"), PROJECT)


def start_run() -> str:
    response = registered("start_replications")(http_request("POST", "replications",
                                                             body={"projects": [PROJECT.name]}))
    assert response.status_code == 202, response.get_body()
    run_id: str = json_body(response)["runs"][0]["runId"]
    return run_id


def run_of(run_id: str) -> dict[str, Any]:
    ids = {"project": PROJECT.name, "runId": run_id}
    response = registered("get_replication")(http_request("GET", f"replications/{PROJECT.name}/{run_id}",
                                                          route_params=ids))
    manifest: dict[str, Any] = json_body(response)
    return manifest


def step_request(run_id: str, step: str, run: str | None = "now") -> Any:
    ids = {"project": PROJECT.name, "runId": run_id, "step": step}
    request = http_request("POST", f"replications/{PROJECT.name}/{run_id}/steps/{step}", route_params=ids,
                           params={"run": run} if run is not None else None)
    return registered("redrive_replication_step")(request)


def test_run_now_executes_one_slice_and_the_queue_finishes_the_run_without_a_second_job(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    host = queue_host(azurite)
    with serving(engine_for(regions, azurite)):
        run_id = start_run()
        before = run_of(run_id)
        first = before["steps"][0]
        assert first["status"] == "pending"

        answered = step_request(run_id, first["name"])
        assert answered.status_code == 200, answered.get_body()
        body = json_body(answered)
        # The slice submitted the step's job and says so; the run moved on to its next fence.
        assert body["step"]["name"] == first["name"]
        assert body["step"]["status"] in ("running", "succeeded")
        assert body["step"]["job_url"]
        after = run_of(run_id)
        assert after["fence"] > before["fence"] and after["claimOwner"] is None

        # The message queued for the old fence is stale now: the queue goes on from the new one.
        host.drain()
        done = run_of(run_id)
        assert done["status"] == "succeeded", done["error"]
        assert host.failures == []
        exports = [job for job in emulator_jobs(regions.primary)
                   if job["kind"] == "export" and job.get("project") in (None, PROJECT.name)]
        export_steps = [step for step in done["steps"] if step["kind"] == "export"]
        assert len(exports) == len(export_steps)   # the slice's job was adopted, never submitted twice

        # A finished step is left alone, and says so.
        again = step_request(run_id, first["name"])
        assert again.status_code == 200
        assert json_body(again)["step"]["status"] == "succeeded"


def test_run_now_is_refused_while_another_slice_holds_the_step_and_for_a_step_not_current(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    queue_host(azurite)
    engine = engine_for(regions, azurite)
    with serving(engine):
        run_id = start_run()
        steps = run_of(run_id)["steps"]

        def claimed(manifest: RunManifest) -> bool:
            manifest.claim_owner, manifest.claim_at = "queue-slice", engine.clock.now()
            return True

        engine.manifests.update(PROJECT.name, run_id, claimed, engine.clock.now())
        busy = step_request(run_id, steps[0]["name"])
        assert busy.status_code == 409, busy.get_body()
        error = json_body(busy)["error"]
        assert error["code"] == "RunConflict" and "queue-slice" in error["message"]
        assert steps[0]["name"] in error["message"] and error["activeRunId"] == run_id
        assert run_of(run_id)["steps"][0]["status"] == "pending"   # nothing ran

        later = step_request(run_id, steps[-1]["name"])
        assert later.status_code == 409
        assert steps[0]["name"] in json_body(later)["error"]["message"]   # the one to re-drive

        assert step_request(run_id, steps[0]["name"], run="soon").status_code == 400
        queued = step_request(run_id, steps[0]["name"], run=None)
        assert queued.status_code == 202   # the default still re-drives through the queue


def test_run_now_on_a_failed_run_re_drives_it_from_that_step(regions: Any, azurite: Any, seeded: Any) -> None:
    host = queue_host(azurite)
    engine = engine_for(regions, azurite)
    with serving(engine):
        run_id = start_run()
        manifest = run_of(run_id)
        first = manifest["steps"][0]["name"]
        engine.fail_poisoned(StepMessage(run_id, PROJECT.name, manifest["target"], first, manifest["fence"]),
                             "the host gave up on it")
        assert run_of(run_id)["status"] == "failed"

        answered = step_request(run_id, first)
        assert answered.status_code == 200, answered.get_body()
        body = json_body(answered)
        assert body["status"] == "running" and body["error"] is None
        assert body["step"]["status"] in ("running", "succeeded")
        host.drain()
        assert run_of(run_id)["status"] == "succeeded"


def test_run_now_refuses_a_step_whose_slice_is_not_request_sized(
    regions: Any, azurite: Any, seeded: Any
) -> None:
    queue_host(azurite)
    with serving(engine_for(regions, azurite)):
        run_id = start_run()
        documents = next(step["name"] for step in run_of(run_id)["steps"] if step["kind"] == "documents")
        refused = step_request(run_id, documents)
        assert refused.status_code == 400
        assert "through the queue" in json_body(refused)["error"]["message"]

"""Request counters and job finish times under /_emulator/: what the benchmarks read."""

from __future__ import annotations

from emulator.timefmt import parse_datetime
from tests.emulator.conftest import Api


def counts(api: Api) -> dict[str, object]:
    body = api.get("/_emulator/requests").get_json()
    assert isinstance(body, dict)
    return body


def test_counts_requests_by_api_and_method_including_refused_ones(api: Api) -> None:
    api.get("/projects")
    api.get("/projects")
    api.post("/projects/Nope/:train", json={"modelLabel": "m", "trainingConfigVersion": "2022-05-01"})
    api.get("/projects", headers={"Ocp-Apim-Subscription-Key": "wrong"})
    api.client.post(
        "/language/analyze-text/jobs",
        json={},
        headers=api.headers,
        query_string={"api-version": "2023-04-01"},
    )
    assert counts(api) == {
        "authoring": {"GET": 3, "POST": 1},
        "runtime": {"POST": 1},
        "other": {},
        "total": 5,
    }


def test_control_routes_are_not_counted_and_both_resets_zero_the_counters(api: Api) -> None:
    api.get("/projects")
    api.control("/requests/reset")
    api.get("/_emulator/jobs")
    assert counts(api)["total"] == 0
    api.get("/projects")
    api.control("/reset")
    assert counts(api) == {"authoring": {}, "runtime": {}, "other": {}, "total": 0}


def test_job_list_gives_finish_time_and_configured_duration(api: Api) -> None:
    project = api.ready_project()
    location = api.accepted(
        api.post(
            f"/projects/{project.name}/:train",
            json={"modelLabel": "m1", "trainingConfigVersion": "2022-05-01"},
        )
    )
    running = [j for j in api.get("/_emulator/jobs").get_json()["value"] if j["kind"] == "train"]
    assert running[0]["finishedDateTime"] is None
    assert running[0]["durationSeconds"] == 600.0
    api.wait(location)
    jobs = {j["kind"]: j for j in api.get("/_emulator/jobs").get_json()["value"]}
    train = jobs["train"]
    elapsed = parse_datetime(train["finishedDateTime"]) - parse_datetime(train["createdDateTime"])
    assert elapsed.total_seconds() == 600.0
    assert jobs["import"]["durationSeconds"] == 10.0

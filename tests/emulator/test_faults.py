"""Contract: fault injection under /_emulator/: outages, bursts, latency, failing jobs, forced 429s."""

from __future__ import annotations

import time

import pytest
import requests

from localdev.sample_project import ner_project
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import AUTHORING, KEY, Api, Served

VERSION = {"api-version": "2023-04-01"}
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}


def projects(served: Served, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(
        f"{served.endpoint}{AUTHORING}/projects", params=VERSION, headers=HEADERS, timeout=5
    )


def control(served: Served, path: str, body: object = None) -> dict[str, object]:
    response = requests.post(f"{served.control_url}/_emulator{path}", json=body or {}, timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_health_answers_on_both_ports_and_the_control_port_serves_nothing_else(serve) -> None:
    served: Served = serve()
    assert requests.get(f"{served.control_url}/_emulator/health", timeout=5).json()["status"] == "healthy"
    assert requests.get(f"{served.endpoint}/_emulator/health", timeout=5).status_code == 200
    assert (
        requests.get(
            f"{served.control_url}{AUTHORING}/projects", params=VERSION, headers=HEADERS, timeout=5
        ).status_code
        == 404
    )


def test_refusing_outage_closes_the_port_and_clearing_reopens_it(serve) -> None:
    served: Served = serve()
    session = requests.Session()
    assert projects(served, session).status_code == 200  # a kept-alive connection exists
    control(served, "/faults/outage", {"mode": "refuse"})
    with pytest.raises(requests.exceptions.ConnectionError):
        projects(served, session)
    with pytest.raises(requests.exceptions.ConnectionError):
        projects(served)
    assert requests.get(f"{served.control_url}/_emulator/health", timeout=5).json()["outage"] == "refuse"
    control(served, "/faults/outage", {"mode": None})
    assert projects(served).status_code == 200


def test_an_outage_can_end_by_itself(serve) -> None:
    served: Served = serve()
    control(served, "/faults/outage", {"mode": "503", "seconds": 0.3})
    assert projects(served).status_code == 503
    time.sleep(0.5)
    assert projects(served).status_code == 200


def test_reset_outage_resets_connections_after_reading_the_request(serve) -> None:
    served: Served = serve()
    control(served, "/faults/outage", {"mode": "reset"})
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        projects(served)
    assert "reset" in str(caught.value).lower() or "aborted" in str(caught.value).lower()
    assert (
        requests.get(f"{served.endpoint}/_emulator/health", timeout=5).status_code == 200
    )  # control still up
    control(served, "/faults/clear")
    assert projects(served).status_code == 200


def test_503_outage_answers_in_the_service_error_shape(serve) -> None:
    served: Served = serve()
    control(served, "/faults/outage", {"mode": "503"})
    response = projects(served)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailable"


def test_a_reset_after_processing_leaves_the_post_applied(serve) -> None:
    served: Served = serve()
    control(
        served,
        "/faults/errors",
        {"method": "PATCH", "path": r"/projects/[^/]+$", "action": "reset-after", "count": 1},
    )
    from azure.storage.blob import BlobServiceClient

    blobs = BlobServiceClient.from_connection_string(
        served.app.extensions["language_emulator"].config.storage_connection_string
    )
    blobs.create_container("docs")
    body = {"projectKind": "CustomEntityRecognition", "storageInputContainerName": "docs", "language": "en"}
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.patch(
            f"{served.endpoint}{AUTHORING}/projects/Loans",
            params=VERSION,
            headers=HEADERS,
            json=body,
            timeout=5,
        )
    # The client saw no answer, yet the project exists: the case a retrying client must handle.
    again = requests.patch(
        f"{served.endpoint}{AUTHORING}/projects/Loans", params=VERSION, headers=HEADERS, json=body, timeout=5
    )
    assert again.status_code == 200


def test_reset_before_processing_leaves_nothing_applied(serve) -> None:
    served: Served = serve()
    control(served, "/faults/errors", {"method": "POST", "path": ":import", "action": "reset-before"})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{served.endpoint}{AUTHORING}/projects/Loans/:import",
            params=VERSION,
            headers=HEADERS,
            json=ner_project().export,
            timeout=5,
        )
    jobs = requests.get(f"{served.control_url}/_emulator/jobs", timeout=5).json()["value"]
    assert jobs == []


def test_error_bursts_hit_the_chosen_route_count_times(api: Api) -> None:
    api.control(
        "/faults/errors",
        {"method": "GET", "path": "^/language/authoring/analyze-text/projects$", "count": 2, "status": 500},
    )
    assert api.get("/projects/Other").status_code == 404  # another route is untouched
    first, second = api.get("/projects"), api.get("/projects")
    assert first.status_code == second.status_code == 500
    assert error_of(first)["code"] == "InternalServerError"
    assert api.get("/projects").status_code == 200
    api.control(
        "/faults/errors",
        {"path": "projects", "status": 503, "code": "ServiceUnavailable", "message": "Try later"},
    )
    for _ in range(3):
        assert error_of(api.get("/projects")) == {"code": "ServiceUnavailable", "message": "Try later"}
    api.control("/faults/clear")
    assert api.get("/projects").status_code == 200


def test_latency_delays_matching_requests(api: Api) -> None:
    api.control("/faults/latency", {"method": "GET", "path": "/projects", "seconds": 0.3, "count": 1})
    started = time.monotonic()
    assert api.get("/projects").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get("/projects")
    assert time.monotonic() - started < 0.3


def test_forced_429s(api: Api) -> None:
    api.control("/faults/throttle", {"method": "POST", "count": 1, "retryAfterSeconds": 7})
    response = api.post("/projects/X/:train", json={})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert "Please retry after 7 seconds." in error_of(response)["message"]
    assert api.post("/projects/X/:train", json={}).status_code == 400  # past the gateway again


def test_failing_jobs_fail_with_the_given_error(api: Api) -> None:
    project = api.ready_project()
    api.control(
        "/faults/jobs",
        {
            "kind": "train",
            "count": 1,
            "code": "Unspecified",
            "message": "Something happened. Please retry after some time.",
        },
    )
    job = api.train(project.name)
    assert job["status"] == "failed"
    assert job["errors"] == [
        {"code": "Unspecified", "message": "Something happened. Please retry after some time."}
    ]
    assert job["result"]["trainingStatus"]["status"] == "failed"
    assert job["result"]["evaluationStatus"] == {"percentComplete": 0, "status": "notStarted"}
    assert api.get(f"/projects/{project.name}/models").get_json()["value"] == []
    assert api.train(project.name)["status"] == "succeeded"


def test_fault_requests_are_validated(api: Api) -> None:
    for path, body in (
        ("/faults/outage", {"mode": "explode"}),
        ("/faults/errors", {"path": "("}),
        ("/faults/errors", {"count": 0}),
        ("/faults/latency", {"seconds": -1}),
        ("/faults/jobs", {"kind": "nope"}),
        ("/behaviour", {"importKeepsModels": "maybe"}),
        ("/behaviour", {"unknown": 1}),
    ):
        response = api.client.post(f"/_emulator{path}", json=body)
        assert response.status_code == 400, (path, body)
        assert error_of(response)["code"] == "InvalidArgument"


def test_job_inspection_lists_every_submitted_job(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    jobs = api.get("/_emulator/jobs").get_json()["value"]
    assert [(j["kind"], j["project"], j["status"]) for j in jobs] == [
        ("import", project.name, "succeeded"),
        ("train", project.name, "succeeded"),
        ("deploy", project.name, "succeeded"),
    ]
    assert jobs[1]["modelLabel"] == "model1" and jobs[2]["deploymentName"] == "prod"
    assert all(j["createdDateTime"].endswith("Z") for j in jobs)


def test_jobs_can_be_expired_ahead_of_their_seven_days_and_models_stay(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    assert api.control("/jobs/expire", {"project": "Other"}) == {"expired": 0}
    assert api.control("/jobs/expire", {"project": project.name}) == {"expired": 3}
    assert api.get("/_emulator/jobs").get_json()["value"] == []
    assert api.get(f"/projects/{project.name}/train/jobs").get_json()["value"] == []
    assert [m["label"] for m in api.get(f"/projects/{project.name}/models").get_json()["value"]] == ["model1"]


def test_reset_empties_everything(api: Api) -> None:
    api.ready_project(deploy="prod")
    api.control("/faults/latency", {"seconds": 0.01})
    api.control("/behaviour", {"importKeepsModels": False})
    api.control("/durations", {"train": 1})
    assert api.control("/reset") == {"status": "reset"}
    assert api.get("/projects").get_json()["value"] == []
    assert api.get("/_emulator/jobs").get_json()["value"] == []
    assert api.get("/_emulator/faults").get_json()["latency"] == []
    assert api.get("/_emulator/behaviour").get_json()["importKeepsModels"] is True
    assert api.context.config.job_seconds["train"] == 600


def test_the_runtime_missing_deployment_switch_reaches_the_runtime_routes(api: Api) -> None:
    body = {
        "analysisInput": {"documents": [{"id": "1", "language": "en", "text": "hello"}]},
        "tasks": [
            {"kind": "CustomEntityRecognition", "parameters": {"projectName": "Nope", "deploymentName": "x"}}
        ],
    }

    def submit() -> int:
        return api.client.post(
            "/language/analyze-text/jobs?api-version=2023-04-01", json=body, headers=api.headers
        ).status_code

    assert submit() == 404
    api.control("/behaviour", {"runtimeMissingDeployment": "fail-task"})
    assert submit() == 202
    api.control("/reset")
    assert submit() == 404


def test_refuse_then_clear_at_once_reopens_the_port(serve) -> None:
    served: Served = serve()
    for _ in range(3):
        control(served, "/faults/outage", {"mode": "refuse"})
        control(served, "/faults/outage", {"mode": None})
        assert projects(served).status_code == 200


def test_refuse_requested_on_the_service_port_itself(serve) -> None:
    served: Served = serve()
    response = requests.post(f"{served.endpoint}/_emulator/faults/outage", json={"mode": "refuse"}, timeout=5)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        projects(served)
    control(served, "/faults/clear")
    assert projects(served).status_code == 200


def test_job_inspection_filters(api: Api) -> None:
    project = api.ready_project(train=True)
    api.post(
        f"/projects/{project.name}/:train", json={"modelLabel": "m2", "trainingConfigVersion": "2022-05-01"}
    )
    trainings = api.get("/_emulator/jobs", query={"project": project.name, "kind": "train"}).get_json()[
        "value"
    ]
    assert [j["status"] for j in trainings] == ["succeeded", "notStarted"]
    running = api.get("/_emulator/jobs", query={"kind": "train", "status": "notStarted"}).get_json()["value"]
    assert [j["modelLabel"] for j in running] == ["m2"]
    assert api.get("/_emulator/jobs", query={"project": "Other"}).get_json()["value"] == []


def test_runtime_jobs_can_be_made_to_fail_and_their_results_expire_scaled(make_api) -> None:
    api: Api = make_api(time_scale=0.001)
    project = api.ready_project(deploy="prod")
    text = project.documents["agreement-001.txt"]
    body = {
        "analysisInput": {"documents": [{"id": "1", "language": "en", "text": text}]},
        "tasks": [
            {
                "kind": "CustomEntityRecognition",
                "parameters": {"projectName": project.name, "deploymentName": "prod"},
            }
        ],
    }

    def run() -> tuple[str, dict]:
        location = api.accepted(
            api.client.post(
                "/language/analyze-text/jobs?api-version=2023-04-01", json=body, headers=api.headers
            )
        )
        return location, api.wait(location, step=1.0)

    api.control("/faults/jobs", {"kind": "runtime", "code": "InternalServerError", "message": "Injected."})
    _, failed = run()
    assert failed["status"] == "failed"
    assert failed["errors"] == [
        {"code": "InternalServerError", "message": "Injected.", "target": "#/tasks/items/0"}
    ]
    location, succeeded = run()  # the fault was for one job only
    assert succeeded["status"] == "succeeded"
    assert succeeded["tasks"]["items"][0]["results"]["documents"][0]["entities"]
    # Results are kept 24 hours times --time-scale: 86.4 s here.
    api.clock.advance(80)
    assert api.get(location).status_code == 200
    api.clock.advance(10)
    assert api.get(location).status_code == 404


def test_refusals_answer_as_the_service_refuses_each_doctor_check(api: Api) -> None:
    api.control("/faults/refuse", {"check": "region"})
    refused = api.call("GET", "/projects/global/training-config-versions",
                       query={"projectKind": "CustomEntityRecognition"})
    assert refused.status_code == 400 and error_of(refused)["code"] == "OperationNotSupported"
    assert api.get("/projects").status_code == 200  # nothing else is refused
    api.control("/faults/refuse", {"check": "subdomain", "count": 1})
    denied = api.get("/projects")
    assert denied.status_code == 401 and "custom subdomain" in error_of(denied)["message"]
    assert api.get("/projects").status_code == 200
    response = api.client.post("/_emulator/faults/refuse", json={"check": "everything"})
    assert response.status_code == 400 and error_of(response)["code"] == "InvalidArgument"

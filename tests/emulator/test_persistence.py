"""--state-dir: the resource survives a restart, and jobs in flight finish by the clock."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from localdev.sample_project import ner_project, upload_documents
from localdev.services import Azurite, EmulatorRegion
from tests.emulator.conftest import AUTHORING, Api


def test_state_is_reloaded_and_jobs_in_flight_complete_after_restart(make_api, tmp_path: Path) -> None:
    first: Api = make_api(state_dir=tmp_path)
    project = first.ready_project(deploy="prod")
    location = first.accepted(
        first.post(
            f"/projects/{project.name}/:train",
            json={"modelLabel": "model2", "trainingConfigVersion": "2022-05-01"},
        )
    )
    assert first.get(location).get_json()["status"] == "notStarted"

    second: Api = make_api(state_dir=tmp_path)  # the same resource, a new process
    assert (
        second.get(f"/projects/{project.name}").get_json()
        == first.get(f"/projects/{project.name}").get_json()
    )
    assert second.get(f"/projects/{project.name}/deployments/prod").status_code == 200
    assert second.wait(location)["status"] == "succeeded"
    assert {m["label"] for m in second.get(f"/projects/{project.name}/models").get_json()["value"]} == {
        "model1",
        "model2",
    }
    assert second.context.resource.deployed_artifact(project.name, "prod") is not None


def test_the_state_route_shows_what_is_persisted(make_api, tmp_path: Path) -> None:
    api: Api = make_api(state_dir=tmp_path)
    project = api.ready_project()
    state = api.get("/_emulator/state").get_json()
    assert state == json.loads((tmp_path / "resource-state.json").read_text(encoding="utf-8"))
    assert project.name in json.dumps(state)


def test_without_state_dir_nothing_survives(make_api) -> None:
    first: Api = make_api()
    first.ready_project()
    assert make_api().get("/projects").get_json()["value"] == []


def test_a_killed_region_comes_back_with_its_projects(azurite: Azurite, tmp_path: Path) -> None:
    region = EmulatorRegion(
        azurite.connection_string("primarydocs"), time_scale=0.001, state_dir=tmp_path / "s"
    )
    project = ner_project()
    from azure.storage.blob import BlobServiceClient

    upload_documents(
        BlobServiceClient.from_connection_string(
            azurite.connection_string("primarydocs")
        ).get_container_client(project.container),
        project,
    )
    headers = {"Ocp-Apim-Subscription-Key": region.key}
    params = {"api-version": "2023-04-01"}
    try:
        region.start()
        response = requests.post(
            f"{region.endpoint}{AUTHORING}/projects/{project.name}/:import",
            params=params,
            headers=headers,
            json=project.export,
            timeout=10,
        )
        assert response.status_code == 202
        region.kill()  # mid-job, no goodbye
        region.start()
        location = response.headers["operation-location"]
        for _ in range(100):
            status = requests.get(location, headers=headers, timeout=10).json()["status"]
            if status == "succeeded":
                break
        assert status == "succeeded"
        names = [
            p["projectName"]
            for p in requests.get(
                f"{region.endpoint}{AUTHORING}/projects", params=params, headers=headers, timeout=10
            ).json()["value"]
        ]
        assert names == [project.name]
    finally:
        region.stop()

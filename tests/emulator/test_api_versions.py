"""The same flow under api-version 2022-05-01, with that version's differences from 2023-04-01."""

from __future__ import annotations

import copy

from localdev.sample_project import ner_project
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import Api


def test_the_whole_flow_under_2022_05_01(api: Api) -> None:
    api.api_version = "2022-05-01"
    project = api.ready_project(ner_project(), deploy="prod")
    assert "hasSnapshot" not in api.get(f"/projects/{project.name}/models/model1").get_json()
    assert api.get(f"/projects/{project.name}").get_json()["settings"] == {}
    changed = copy.deepcopy(project.export)
    changed["assets"]["documents"] = changed["assets"]["documents"][:3]
    assert (
        api.wait(api.accepted(api.post(f"/projects/{project.name}/:import", json=changed)))["status"]
        == "succeeded"
    )
    # 2022-05-01 has no model-scoped export: trainedModelLabel is ignored and the working copy exported.
    location = api.accepted(
        api.post(
            f"/projects/{project.name}/:export",
            query={"stringIndexType": "Utf16CodeUnit", "trainedModelLabel": "model1"},
        )
    )
    assert location.endswith("?api-version=2022-05-01")
    job = api.wait(location)
    assert job["resultUrl"].endswith("?api-version=2022-05-01")
    assert api.get(job["resultUrl"]).get_json()["assets"]["documents"] == changed["assets"]["documents"]
    assert api.get(f"/projects/{project.name}/deployments/prod").status_code == 200


def test_a_job_started_under_one_version_can_be_polled_under_the_other(api: Api) -> None:
    project = api.ready_project()
    location = api.accepted(
        api.post(
            f"/projects/{project.name}/:train",
            json={"modelLabel": "m", "trainingConfigVersion": "2022-05-01"},
            api_version="2022-05-01",
        )
    )
    job_path = location.split("/analyze-text", 1)[1].split("?")[0]
    assert api.get(job_path, api_version="2023-04-01").get_json()["result"]["modelLabel"] == "m"


def test_the_retired_2021_11_01_preview_is_answered_as_an_unsupported_version(api: Api) -> None:
    legacy = {"api-version": "2021-11-01-preview"}
    headers = {"Ocp-Apim-Subscription-Key": api.headers["Ocp-Apim-Subscription-Key"]}
    # Its own paths (no /authoring/), as the 2022 recipe called them, and today's paths alike.
    for response in (
        api.client.post("/language/analyze-text/projects/myProject/:import", query_string=legacy,
                        headers=headers, json={"api-version": "2021-11-01-preview"}),
        api.client.get("/language/analyze-text/projects/myProject", query_string=legacy, headers=headers),
        api.get("/projects/myProject", api_version="2021-11-01-preview"),
    ):
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "InvalidRequest" and "2021-11-01-preview" in error["message"]
        assert error["innererror"]["code"] == "InvalidParameterValue"
    current = api.client.get("/language/analyze-text/projects", query_string={"api-version": "2023-04-01"},
                             headers=headers)
    assert current.status_code == 404

"""Contract: import validation and jobs, export jobs and the authenticated result download."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from localdev.sample_project import multi_label_project, ner_project, single_label_project
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import Api


def import_status(api: Api, body: Any, name: str = "LoanAgreements") -> tuple[int, Any]:
    response = api.post(f"/projects/{name}/:import", json=body)
    return response.status_code, response.get_json()


def test_import_creates_the_project_when_the_job_completes(api: Api) -> None:
    project = ner_project()
    api.upload(project)
    location = api.accepted(api.post(f"/projects/{project.name}/:import", json=project.export))
    assert f"/projects/{project.name}/import/jobs/" in location
    assert api.get(f"/projects/{project.name}").status_code == 404
    assert api.wait(location)["status"] == "succeeded"
    body = api.get(f"/projects/{project.name}").get_json()
    assert body["projectKind"] == "CustomEntityRecognition"
    assert body["storageInputContainerName"] == project.container


@pytest.mark.parametrize("make", [ner_project, single_label_project, multi_label_project])
def test_export_round_trips_the_imported_assets_without_text(api: Api, make: Any) -> None:
    project = api.ready_project(make())
    location = api.accepted(
        api.post(f"/projects/{project.name}/:export", query={"stringIndexType": "Utf16CodeUnit"})
    )
    assert f"/projects/{project.name}/export/jobs/" in location
    job = api.wait(location)
    assert job["status"] == "succeeded"
    job_id = location.split("/")[-1].split("?")[0]
    assert job["resultUrl"].endswith(f"/export/jobs/{job_id}/result?api-version=2023-04-01")
    unauthenticated = api.client.get(job["resultUrl"])
    assert unauthenticated.status_code == 401
    exported = api.get(job["resultUrl"]).get_json()
    assert exported["projectFileVersion"] == "2022-05-01"
    assert exported["stringIndexType"] == "Utf16CodeUnit"
    assert exported["assets"] == project.export["assets"]
    assert exported["metadata"]["projectName"] == project.name
    assert exported["metadata"]["storageInputContainerName"] == project.container
    text = job["resultUrl"]
    serialized = api.get(text).get_data(as_text=True)
    for document in list(project.documents.values())[:3]:
        assert document[:40] not in serialized


def test_export_requires_utf16_string_index_type(api: Api) -> None:
    project = api.ready_project()
    for query in ({}, {"stringIndexType": "TextElements_v8"}):
        response = api.post(f"/projects/{project.name}/:export", query=query)
        assert response.status_code == 400
        assert "StringIndexType" in error_of(response)["message"]
    assert api.post("/projects/Nope/:export", query={"stringIndexType": "Utf16CodeUnit"}).status_code == 404


def test_export_accepts_and_ignores_the_documented_body(api: Api) -> None:
    project = api.ready_project()
    response = api.post(
        f"/projects/{project.name}/:export",
        query={"stringIndexType": "Utf16CodeUnit"},
        json={"assetsToExport": ["*"]},
    )
    assert response.status_code == 202


def test_import_rejects_missing_string_index_type_with_the_service_message(api: Api) -> None:
    body = copy.deepcopy(ner_project().export)
    del body["stringIndexType"]
    status, error = import_status(api, body)
    assert status == 400
    assert (
        error["error"]["message"] == "The value `` provided for the parameter `StringIndexType` is invalid."
    )


def test_import_rejects_kind_mismatch(api: Api) -> None:
    body = copy.deepcopy(ner_project().export)
    body["assets"]["projectKind"] = "CustomSingleLabelClassification"
    status, error = import_status(api, body)
    assert status == 400
    assert error["error"]["code"] == "InvalidArgument"
    assert "must match the assets' project kind" in error["error"]["message"]


def test_kind_case_is_ignored_by_default_and_enforced_in_strict_mode(api: Api) -> None:
    project = multi_label_project()
    api.upload(project)
    body = copy.deepcopy(project.export)
    body["assets"]["projectKind"] = "customMultiLabelClassification"  # as in Microsoft's movie sample
    location = api.accepted(api.post(f"/projects/{project.name}/:import", json=body))
    assert api.wait(location)["status"] == "succeeded"
    api.control("/behaviour", {"projectKindCase": "strict"})
    status, error = import_status(api, body, project.name)
    assert status == 400
    assert "must match" in error["error"]["message"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update({"project-file-version": b.pop("projectFileVersion")}),
        lambda b: b["metadata"].update({"projectKind": "customNamedEntityRecognition"}),
        lambda b: b["metadata"].update({"projectKind": "customEntityRecognition"}),
        lambda b: b["assets"].update({"extractors": [{"name": "Date"}]}),
        lambda b: b.pop("projectFileVersion"),
        lambda b: b["metadata"].pop("storageInputContainerName"),
        lambda b: b["metadata"].pop("language"),
        lambda b: b["metadata"].pop("projectName"),
        lambda b: b["metadata"].update({"multilingual": "false"}),
        lambda b: b["assets"]["documents"][0]["entities"][0]["labels"][0].update({"category": "Undeclared"}),
        lambda b: b["assets"]["documents"][0]["entities"][0]["labels"][0].update({"offset": -1}),
        lambda b: b["assets"]["documents"][0].update({"dataset": "Validation"}),
        lambda b: b["assets"]["documents"].append(dict(b["assets"]["documents"][0])),
        lambda b: b["assets"].update({"entities": [{"category": f"C{i}"} for i in range(201)]}),
        lambda b: b["assets"]["documents"][0]["entities"][0].update(
            {
                "regionOffset": 0,
                "regionLength": 5000,
                "labels": [{"category": "Date", "offset": 0, "length": 501}],
            }
        ),
    ],
    ids=[
        "draft-file-version",
        "draft-kind",
        "camel-kind",
        "legacy-extractors",
        "no-file-version",
        "no-container",
        "no-language",
        "no-name",
        "string-multilingual",
        "undeclared-category",
        "negative-offset",
        "bad-dataset",
        "duplicate-document",
        "201-entity-types",
        "501-character-entity",
    ],
)
def test_import_validation(api: Api, mutate: Any) -> None:
    body = copy.deepcopy(ner_project().export)
    mutate(body)
    status, error = import_status(api, body)
    assert status == 400, error
    assert error["error"]["code"] == "InvalidArgument"
    assert api.get("/_emulator/jobs").get_json()["value"] == []


def test_import_into_a_missing_container_fails_the_job(api: Api) -> None:
    project = ner_project()  # documents never uploaded: the container does not exist
    job = api.import_project(project)
    assert job["status"] == "failed"
    assert project.container in job["errors"][0]["message"]
    assert api.get(f"/projects/{project.name}").status_code == 404


def test_import_into_a_missing_container_can_be_refused_synchronously(api: Api) -> None:
    api.control("/behaviour", {"importMissingContainer": "sync"})
    status, error = import_status(api, ner_project().export)
    assert status == 400
    assert "loans" in error["error"]["message"]


def test_import_over_a_project_of_another_kind_is_refused(api: Api) -> None:
    project = api.ready_project()
    other = single_label_project(name=project.name)
    status, error = import_status(api, other.export, project.name)
    assert status == 400
    assert "already exists" in error["error"]["message"]


def test_reimport_replaces_assets_and_bumps_last_modified(api: Api) -> None:
    project = api.ready_project()
    before = api.get(f"/projects/{project.name}").get_json()
    api.clock.advance(10)
    body = copy.deepcopy(project.export)
    body["assets"]["documents"] = body["assets"]["documents"][:5]
    body["metadata"]["description"] = "replaced"
    assert (
        api.wait(api.accepted(api.post(f"/projects/{project.name}/:import", json=body)))["status"]
        == "succeeded"
    )
    after = api.get(f"/projects/{project.name}").get_json()
    assert after["description"] == "replaced"
    assert after["lastModifiedDateTime"] > before["lastModifiedDateTime"]
    assert after["createdDateTime"] == before["createdDateTime"]
    job = api.wait(
        api.accepted(
            api.post(f"/projects/{project.name}/:export", query={"stringIndexType": "Utf16CodeUnit"})
        )
    )
    assert len(api.get(job["resultUrl"]).get_json()["assets"]["documents"]) == 5


def test_import_uses_the_url_name_over_the_file_name(api: Api) -> None:
    project = ner_project()
    api.upload(project)
    assert api.import_project(project, name="Renamed")["status"] == "succeeded"
    assert api.get("/projects/Renamed").get_json()["projectName"] == "Renamed"


def test_unknown_job_ids_are_not_found(api: Api) -> None:
    project = api.ready_project()
    response = api.get(f"/projects/{project.name}/import/jobs/00000000-0000-0000-0000-000000000000_1")
    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFound"

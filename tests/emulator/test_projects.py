"""Contract: projects list/get/PATCH/delete, deletion jobs, paging, api-versions, error bodies."""

from __future__ import annotations

import re
from datetime import timedelta

from azure.storage.blob import BlobServiceClient
from werkzeug.test import TestResponse

from emulator.timefmt import parse_datetime
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import AUTHORING, Api

JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_\d{18}$")


def create(api: Api, name: str, container: str = "docs", **extra: object) -> TestResponse:
    blobs = BlobServiceClient.from_connection_string(api.azurite.connection_string("primarydocs"))
    if not blobs.get_container_client(container).exists():
        blobs.create_container(container)
    body = {
        "projectKind": "CustomEntityRecognition",
        "storageInputContainerName": container,
        "language": "en",
        **extra,
    }
    return api.call(
        "PATCH", f"/projects/{name}", json=body, headers={"Content-Type": "application/merge-patch+json"}
    )


def test_list_is_empty_then_shows_created_projects(api: Api) -> None:
    assert api.get("/projects").get_json() == {"value": [], "nextLink": None}
    response = create(api, "Loans", description="d", settings={"confidenceThreshold": 0.4})
    assert response.status_code == 201
    body = response.get_json()
    assert body["projectName"] == "Loans"
    assert body["projectKind"] == "CustomEntityRecognition"
    assert body["settings"] == {"confidenceThreshold": 0.4}
    assert body["multilingual"] is False and body["language"] == "en" and body["description"] == "d"
    assert "lastTrainedDateTime" not in body and "lastDeployedDateTime" not in body
    assert body["createdDateTime"].endswith("Z")
    assert [p["projectName"] for p in api.get("/projects").get_json()["value"]] == ["Loans"]
    assert api.get("/projects/Loans").get_json() == body


def test_patch_updates_an_existing_project_with_200(api: Api) -> None:
    create(api, "Loans")
    api.clock.advance(5)
    response = api.call("PATCH", "/projects/Loans", json={"description": "new"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["description"] == "new"
    assert parse_datetime(body["lastModifiedDateTime"]) > parse_datetime(body["createdDateTime"])


def test_patch_refuses_changing_kind_and_missing_container(api: Api) -> None:
    create(api, "Loans")
    changed = api.call("PATCH", "/projects/Loans", json={"projectKind": "CustomSingleLabelClassification"})
    assert changed.status_code == 400
    assert error_of(changed)["code"] == "InvalidArgument"
    missing = api.call(
        "PATCH",
        "/projects/Other",
        json={
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": "nope",
            "language": "en",
        },
    )
    assert missing.status_code == 400
    assert "nope" in error_of(missing)["message"]


def test_2022_05_01_reports_empty_settings(api: Api) -> None:
    create(api, "Loans", settings={"confidenceThreshold": 0.4})
    assert api.get("/projects/Loans", api_version="2022-05-01").get_json()["settings"] == {}


def test_unknown_project_is_project_not_found(api: Api) -> None:
    response = api.get("/projects/Nope")
    assert response.status_code == 404
    assert error_of(response)["code"] == "ProjectNotFound"


def test_invalid_names_are_rejected(api: Api) -> None:
    for name in ("has space", "a" * 51, "semi;colon"):
        response = create(api, name)
        assert response.status_code == 400, name
        assert error_of(response)["code"] == "InvalidArgument"


def test_delete_runs_a_deletion_job_that_moves_through_its_states(api: Api) -> None:
    create(api, "Loans")
    response = api.call("DELETE", "/projects/Loans")
    location = api.accepted(response)
    assert location.startswith(f"http://localhost{AUTHORING}/projects/global/deletion-jobs/")
    assert location.endswith("?api-version=2023-04-01")
    job_id = location.split("/")[-1].split("?")[0]
    assert JOB_ID.match(job_id)
    first = api.get(location).get_json()
    assert first["status"] == "notStarted"
    assert first["jobId"] == job_id
    created = parse_datetime(first["createdDateTime"])
    assert parse_datetime(first["expirationDateTime"]) - created == timedelta(days=7)
    assert api.get("/projects/Loans").status_code == 200  # still there while the job runs
    api.clock.advance(2)
    assert api.get(location).get_json()["status"] == "running"
    api.clock.advance(60)
    done = api.get(location).get_json()
    assert done["status"] == "succeeded"
    assert done["errors"] == [] and done["warnings"] == []
    assert api.get("/projects/Loans").status_code == 404


def test_operation_location_echoes_the_request_api_version(api: Api) -> None:
    create(api, "Loans")
    location = api.accepted(api.call("DELETE", "/projects/Loans", api_version="2022-05-01"))
    assert location.endswith("?api-version=2022-05-01")


def test_paging_with_top_skip_and_maxpagesize(api: Api) -> None:
    for index in range(5):
        create(api, f"P{index}")
        api.clock.advance(1)
    first = api.get("/projects", query={"maxpagesize": "2"}).get_json()
    assert [p["projectName"] for p in first["value"]] == ["P0", "P1"]
    assert first["nextLink"].startswith("http://localhost/language/")
    second = api.get(first["nextLink"]).get_json()
    assert [p["projectName"] for p in second["value"]] == ["P2", "P3"]
    third = api.get(second["nextLink"]).get_json()
    assert [p["projectName"] for p in third["value"]] == ["P4"] and third["nextLink"] is None
    window = api.get("/projects", query={"skip": "1", "top": "3", "maxpagesize": "2"}).get_json()
    assert [p["projectName"] for p in window["value"]] == ["P1", "P2"]
    rest = api.get(window["nextLink"]).get_json()
    assert [p["projectName"] for p in rest["value"]] == ["P3"] and rest["nextLink"] is None
    bad = api.get("/projects", query={"top": "-1"})
    assert bad.status_code == 400


def test_api_version_is_required_and_checked(api: Api) -> None:
    missing = api.get("/projects", api_version="")
    assert missing.status_code == 400
    assert error_of(missing)["code"] == "InvalidRequest"
    unsupported = api.get("/projects", api_version="2025-05-15-preview")
    assert unsupported.status_code == 400
    assert "2025-05-15-preview" in error_of(unsupported)["message"]


def test_unknown_route_and_method_answer_with_an_error_body(api: Api) -> None:
    assert error_of(api.get("/nothing-here"))["code"] == "404"
    response = api.call("PUT", "/projects")
    assert response.status_code == 405
    assert error_of(response)["code"] == "405"


def test_malformed_json_is_a_400_never_a_500(api: Api) -> None:
    for path, method in (
        ("/projects/X", "PATCH"),
        ("/projects/X/:import", "POST"),
        ("/projects/X/:train", "POST"),
    ):
        response = api.call(method, path, data=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400, path
        assert error_of(response)["code"] == "InvalidRequest"
    empty = api.post("/projects/X/:import", data=b"")
    assert empty.status_code == 400
    assert error_of(empty)["innererror"]["code"] == "EmptyRequest"
    not_object = api.post("/projects/X/:import", json=[1, 2])
    assert not_object.status_code == 400


def test_supported_languages_are_listed_in_a_page(api: Api) -> None:
    body = api.get("/projects/global/languages").get_json()
    assert body["nextLink"] is None
    assert {"languageName": "English", "languageCode": "en"} in body["value"]
    assert api.get("/projects/global/languages", api_version="2021-01-01").status_code == 400

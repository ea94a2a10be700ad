"""Contract: training jobs, cancel, training configs, trained models, evaluation, snapshots."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from azure.storage.blob import BlobServiceClient

from emulator.timefmt import parse_datetime
from localdev.sample_project import multi_label_project, ner_project, single_label_project
from tests.emulator.authoring_client import MODEL_FIELDS, error_of
from tests.emulator.conftest import Api

TRAIN = {"modelLabel": "model1", "trainingConfigVersion": "2022-05-01"}


def start_training(api: Api, project: str, **body: object) -> str:
    return api.accepted(api.post(f"/projects/{project}/:train", json={**TRAIN, **body}))


def test_training_job_reports_training_then_evaluation_progress(api: Api) -> None:
    project = api.ready_project()
    location = start_training(api, project.name)
    assert f"/projects/{project.name}/train/jobs/" in location
    queued = api.get(location).get_json()
    assert queued["status"] == "notStarted"
    assert queued["result"]["modelLabel"] == "model1"
    assert queued["result"]["trainingConfigVersion"] == "2022-05-01"
    assert queued["result"]["trainingStatus"] == {"percentComplete": 0, "status": "notStarted"}
    assert parse_datetime(queued["result"]["estimatedEndDateTime"]) > parse_datetime(
        queued["createdDateTime"]
    )
    api.clock.advance(200)
    running = api.get(location).get_json()
    assert running["status"] == "running"
    assert running["result"]["trainingStatus"]["status"] == "running"
    assert 0 < running["result"]["trainingStatus"]["percentComplete"] < 100
    assert running["result"]["evaluationStatus"]["status"] == "notStarted"
    api.clock.advance(300)
    evaluating = api.get(location).get_json()["result"]
    assert evaluating["trainingStatus"]["status"] == "succeeded"
    assert evaluating["evaluationStatus"]["status"] == "running"
    api.clock.advance(200)
    done = api.get(location).get_json()
    assert done["status"] == "succeeded"
    assert done["result"]["trainingStatus"]["percentComplete"] == 100
    assert done["result"]["evaluationStatus"]["status"] == "succeeded"
    assert parse_datetime(done["expirationDateTime"]) - parse_datetime(done["createdDateTime"]) == timedelta(
        days=7
    )
    jobs = api.get(f"/projects/{project.name}/train/jobs").get_json()
    assert [j["jobId"] for j in jobs["value"]] == [done["jobId"]]
    assert jobs["value"][0]["result"]["modelLabel"] == "model1"


def test_trained_model_and_project_timestamps(api: Api) -> None:
    project = api.ready_project(train=True)
    model = api.get(f"/projects/{project.name}/models/model1").get_json()
    assert set(model) == MODEL_FIELDS
    assert model["modelId"].startswith("model1-")
    assert model["hasSnapshot"] is True
    assert model["modelTrainingConfigVersion"] == "2022-05-01"
    assert model["lastTrainingDurationInSeconds"] == 600
    configs = api.get(
        "/projects/global/training-config-versions", query={"projectKind": "CustomEntityRecognition"}
    ).get_json()["value"]
    assert model["modelExpirationDate"] == configs[0]["modelExpirationDate"]
    assert (
        "hasSnapshot"
        not in api.get(f"/projects/{project.name}/models/model1", api_version="2022-05-01").get_json()
    )
    details = api.get(f"/projects/{project.name}").get_json()
    assert details["lastTrainedDateTime"] == model["lastTrainedDateTime"]
    listed = api.get(f"/projects/{project.name}/models").get_json()
    assert listed == {"value": [model], "nextLink": None}


def test_evaluation_summary_and_document_results(api: Api) -> None:
    project = api.ready_project(train=True)
    summary = api.get(f"/projects/{project.name}/models/model1/evaluation/summary-result").get_json()
    assert summary["projectKind"] == "CustomEntityRecognition"
    assert "customEntityRecognitionEvaluation" in summary
    assert summary["evaluationOptions"]["kind"] == "percentage"
    results = api.get(
        f"/projects/{project.name}/models/model1/evaluation/result",
        query={"stringIndexType": "Utf16CodeUnit", "maxpagesize": "2"},
    ).get_json()
    assert len(results["value"]) == 2 and results["nextLink"]
    assert "customEntityRecognitionResult" in results["value"][0]
    assert api.get(f"/projects/{project.name}/models/model1/evaluation/result").status_code == 400


def test_manual_split_uses_each_documents_dataset(api: Api) -> None:
    project = api.ready_project(single_label_project())
    job = api.train(project.name, evaluationOptions={"kind": "manual"})
    assert job["status"] == "succeeded", job
    summary = api.get(f"/projects/{project.name}/models/model1/evaluation/summary-result").get_json()
    assert summary["evaluationOptions"]["kind"] == "manual"
    assert "customSingleLabelClassificationEvaluation" in summary
    tested = {d["location"] for d in project.export["assets"]["documents"] if d.get("dataset") == "Test"}
    results = api.get(
        f"/projects/{project.name}/models/model1/evaluation/result",
        query={"stringIndexType": "Utf16CodeUnit"},
    ).get_json()["value"]
    assert {r["location"] for r in results} == tested


def test_only_one_training_job_per_project(api: Api) -> None:
    project = api.ready_project()
    start_training(api, project.name)
    conflict = api.post(f"/projects/{project.name}/:train", json={**TRAIN, "modelLabel": "model2"})
    assert conflict.status_code == 409
    assert error_of(conflict)["code"] == "Conflict"
    api.control("/behaviour", {"trainingConflictStatus": 400})
    assert api.post(f"/projects/{project.name}/:train", json=TRAIN).status_code == 400
    inspected = api.get("/_emulator/jobs").get_json()["value"]
    assert [j["kind"] for j in inspected].count("train") == 1


def test_cancel_moves_the_job_to_cancelled_and_makes_no_model(api: Api) -> None:
    project = api.ready_project()
    location = start_training(api, project.name)
    job_id = location.split("/")[-1].split("?")[0]
    api.clock.advance(100)
    cancel = api.post(f"/projects/{project.name}/train/jobs/{job_id}/:cancel")
    assert api.accepted(cancel) == location
    assert api.get(location).get_json()["status"] == "cancelling"
    api.clock.advance(10)
    assert api.get(location).get_json()["status"] == "cancelled"
    api.clock.advance(1000)
    cancelled = api.get(location).get_json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["result"]["trainingStatus"]["status"] == "cancelled"
    assert 0 < cancelled["result"]["trainingStatus"]["percentComplete"] < 100
    assert cancelled["result"]["evaluationStatus"] == {"percentComplete": 0, "status": "notStarted"}
    assert api.get(f"/projects/{project.name}/models").get_json()["value"] == []
    assert api.post(f"/projects/{project.name}/train/jobs/{job_id}/:cancel").status_code == 400
    assert start_training(api, project.name)  # the project is free again


def test_training_validation(api: Api) -> None:
    project = api.ready_project()
    cases = [
        {"trainingConfigVersion": "2022-05-01"},
        {"modelLabel": "bad label", "trainingConfigVersion": "2022-05-01"},
        {"modelLabel": "m"},
        {**TRAIN, "trainingConfigVersion": "1999-01-01"},
        {**TRAIN, "evaluationOptions": {"kind": "random"}},
        {
            **TRAIN,
            "evaluationOptions": {
                "kind": "percentage",
                "trainingSplitPercentage": 70,
                "testingSplitPercentage": 20,
            },
        },
    ]
    for body in cases:
        response = api.post(f"/projects/{project.name}/:train", json=body)
        assert response.status_code == 400, body
    assert api.post("/projects/Nope/:train", json=TRAIN).status_code == 404


def test_training_config_versions_and_their_lifecycle(api: Api) -> None:
    listed = api.get("/projects/global/training-config-versions").get_json()
    assert [c["trainingConfigVersion"] for c in listed["value"]] == ["2022-05-01"]
    assert listed["nextLink"] is None
    assert api.get("/projects/global/training-config-versions", api_version="2022-05-01").status_code == 400
    assert (
        api.get(
            "/projects/global/training-config-versions",
            api_version="2022-05-01",
            query={"projectKind": "CustomEntityRecognition"},
        ).status_code
        == 200
    )
    project = api.ready_project()
    api.control("/expiry/training-configs", {"trainingConfigVersion": "2022-05-01", "inDays": -1})
    expired = api.post(f"/projects/{project.name}/:train", json=TRAIN)
    assert expired.status_code == 400
    assert "expired" in error_of(expired)["message"]
    api.control("/expiry/training-configs", {"trainingConfigVersion": "2024-01-01", "inDays": 200})
    latest = api.wait(start_training(api, project.name, trainingConfigVersion="latest"))
    assert latest["result"]["trainingConfigVersion"] == "2024-01-01"
    api.control("/expiry/training-configs", {"trainingConfigVersion": "2024-01-01", "offered": False})
    withdrawn = api.post(
        f"/projects/{project.name}/:train", json={**TRAIN, "trainingConfigVersion": "2024-01-01"}
    )
    assert withdrawn.status_code == 400
    assert "not supported" in error_of(withdrawn)["message"]


def test_training_fails_naming_missing_and_empty_documents(api: Api) -> None:
    project = api.ready_project()
    container = BlobServiceClient.from_connection_string(
        api.azurite.connection_string("primarydocs")
    ).get_container_client(project.container)
    locations = sorted(project.documents)
    container.delete_blob(locations[0])
    container.upload_blob(locations[1], b"", overwrite=True)
    job = api.train(project.name)
    assert job["status"] == "failed"
    message = job["errors"][0]["message"]
    assert locations[0] in message and locations[1] in message
    assert api.get(f"/projects/{project.name}/models").get_json()["value"] == []


def test_ten_models_per_project_and_retraining_an_existing_label(api: Api) -> None:
    project = api.ready_project()
    for index in range(10):
        assert api.train(project.name, f"m{index}")["status"] == "succeeded"
    refused = api.post(f"/projects/{project.name}/:train", json={**TRAIN, "modelLabel": "m10"})
    assert refused.status_code == 400
    assert "10" in error_of(refused)["message"]
    before = api.get(f"/projects/{project.name}/models/m3").get_json()["modelId"]
    assert api.train(project.name, "m3")["status"] == "succeeded"
    assert api.get(f"/projects/{project.name}/models/m3").get_json()["modelId"] != before


def test_delete_model_is_synchronous_204(api: Api) -> None:
    project = api.ready_project(train=True)
    response = api.call("DELETE", f"/projects/{project.name}/models/model1")
    assert response.status_code == 204 and response.get_data() == b""
    missing = api.get(f"/projects/{project.name}/models/model1")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    assert api.call("DELETE", f"/projects/{project.name}/models/model1").status_code == 404


def test_model_keeps_its_snapshot_for_export_and_load_snapshot(api: Api) -> None:
    project = api.ready_project(multi_label_project(), train=True)
    changed = copy.deepcopy(project.export)
    changed["assets"]["documents"] = changed["assets"]["documents"][:4]
    assert (
        api.wait(api.accepted(api.post(f"/projects/{project.name}/:import", json=changed)))["status"]
        == "succeeded"
    )

    def export(**query: str) -> dict[str, object]:
        job = api.wait(
            api.accepted(
                api.post(
                    f"/projects/{project.name}/:export", query={"stringIndexType": "Utf16CodeUnit", **query}
                )
            )
        )
        return dict(api.get(job["resultUrl"]).get_json())

    assert export()["assets"] == changed["assets"]
    assert export(trainedModelLabel="model1")["assets"] == project.export["assets"]
    assert (
        api.post(
            f"/projects/{project.name}/:export",
            query={"stringIndexType": "Utf16CodeUnit", "trainedModelLabel": "nope"},
        ).status_code
        == 404
    )
    location = api.accepted(api.post(f"/projects/{project.name}/models/model1/:load-snapshot"))
    assert "/models/model1/load-snapshot/jobs/" in location
    assert api.wait(location)["status"] == "succeeded"
    assert export()["assets"] == project.export["assets"]
    assert (
        api.post(
            f"/projects/{project.name}/models/model1/:load-snapshot", api_version="2022-05-01"
        ).status_code
        == 404
    )


def test_import_keeps_models_and_deployments_unless_switched(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    assert api.import_project(project)["status"] == "succeeded"
    assert len(api.get(f"/projects/{project.name}/models").get_json()["value"]) == 1
    assert len(api.get(f"/projects/{project.name}/deployments").get_json()["value"]) == 1
    api.control("/behaviour", {"importKeepsModels": False})
    assert api.import_project(project)["status"] == "succeeded"
    assert api.get(f"/projects/{project.name}/models").get_json()["value"] == []
    assert api.get(f"/projects/{project.name}/deployments").get_json()["value"] == []


def test_jobs_are_purged_seven_days_after_creation_but_models_stay(api: Api) -> None:
    project = api.ready_project(train=True)
    location = start_training(api, project.name, modelLabel="model2")
    api.clock.advance(days=7, seconds=1)
    assert api.get(location).status_code == 404
    assert api.get(f"/projects/{project.name}/train/jobs").get_json()["value"] == []
    assert api.get("/_emulator/jobs").get_json()["value"] == []
    assert {m["label"] for m in api.get(f"/projects/{project.name}/models").get_json()["value"]} == {
        "model1",
        "model2",
    }


def test_an_unexpected_failure_fails_the_job_and_leaves_the_resource_working(
    azurite, clock, monkeypatch
) -> None:
    from azure.core.exceptions import ServiceRequestError

    from emulator.app import create_app
    from emulator.config import EmulatorConfig
    from emulator.documents import LinkedStorage
    from tests.emulator.conftest import KEY

    storage = LinkedStorage(azurite.connection_string("primarydocs"))
    api = Api(
        create_app(EmulatorConfig(key=KEY, storage_connection_string="unused"), clock=clock, storage=storage),
        clock,
        azurite,
    )
    project = api.ready_project()

    def unreachable(container: str, locations: object) -> None:
        raise ServiceRequestError("storage unreachable")

    monkeypatch.setattr(storage, "read", unreachable)
    job = api.train(project.name)
    assert job["status"] == "failed"
    assert job["errors"][0]["code"] == "InternalServerError"
    assert "storage unreachable" in job["errors"][0]["message"]
    assert api.get(f"/projects/{project.name}").status_code == 200
    monkeypatch.undo()
    assert api.train(project.name)["status"] == "succeeded"


def test_a_running_training_can_be_made_to_block_data_changes(api: Api) -> None:
    project = api.ready_project(train=True)
    start_training(api, project.name, modelLabel="model2")
    assert api.post(f"/projects/{project.name}/:import", json=project.export).status_code == 202
    api.control("/behaviour", {"trainingBlocksDataChanges": True})
    for response in (
        api.post(f"/projects/{project.name}/:import", json=project.export),
        api.post(f"/projects/{project.name}/models/model1/:load-snapshot"),
        api.call("DELETE", f"/projects/{project.name}"),
    ):
        assert response.status_code == 409
        assert error_of(response)["code"] == "Conflict"
    assert (
        api.post(f"/projects/{project.name}/:export", query={"stringIndexType": "Utf16CodeUnit"}).status_code
        == 202
    )
    api.clock.advance(3600)
    assert api.post(f"/projects/{project.name}/:import", json=project.export).status_code == 202


def test_documents_over_the_length_limit_fail_training(api: Api, monkeypatch) -> None:
    from emulator import resource

    project = api.ready_project()
    longest = max(project.documents, key=lambda location: len(project.documents[location]))
    monkeypatch.setattr(resource, "MAX_DOCUMENT_CHARACTERS", len(project.documents[longest]) - 1)
    job = api.train(project.name)
    assert job["status"] == "failed"
    assert longest in job["errors"][0]["message"]


def test_a_resource_holds_at_most_500_projects(api: Api, monkeypatch) -> None:
    from emulator import resource

    monkeypatch.setattr(resource, "MAX_PROJECTS", 1)
    project = api.ready_project()
    other = single_label_project()
    refused = api.post(f"/projects/{other.name}/:import", json=other.export)
    assert refused.status_code == 400 and "maximum" in error_of(refused)["message"]
    assert api.import_project(project)["status"] == "succeeded"  # an existing project can be re-imported


def _tested(api: Api, project: str, label: str) -> set[str]:
    results = api.get(
        f"/projects/{project}/models/{label}/evaluation/result", query={"stringIndexType": "Utf16CodeUnit"}
    ).get_json()
    return {r["location"] for r in results["value"]}


def test_each_training_draws_its_own_percentage_split_reproducibly_when_seeded(make_api: Any) -> None:
    # The service draws a percentage split at random per training: two trainings of the same data
    # generally test on different documents; a manual split never moves. --split-seed replays the draws.
    percentage = {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 30}

    def two_trainings(api: Api, options: dict[str, Any]) -> tuple[set[str], set[str]]:
        project = api.ready_project(ner_project(documents=30))
        assert api.train(project.name, "a", evaluationOptions=options)["status"] == "succeeded"
        assert api.train(project.name, "b", evaluationOptions=options)["status"] == "succeeded"
        return _tested(api, project.name, "a"), _tested(api, project.name, "b")

    api = make_api(split_seed=16)
    first, second = two_trainings(api, percentage)
    assert len(first) == len(second) == 9 and first != second
    api.control("/reset")
    assert two_trainings(api, percentage) == (first, second)
    manual_a, manual_b = two_trainings(api, {"kind": "manual"})
    assert manual_a == manual_b

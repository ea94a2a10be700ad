"""The analyze-conversations authoring API: projects, :import/:export, :train, models, deployments, jobs.

Field names and enums are those of analyzeconversations-authoring.json, api-version 2023-04-01,
as read from Azure/azure-rest-api-specs at commit 0298a5834a8a1e876ce7f7b3d2ea4f57b57518a9
(specification/cognitiveservices/data-plane/Language/stable/2023-04-01/).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.emulator.authoring_client import DEPLOYMENT_FIELDS, MODEL_FIELDS, error_of
from tests.emulator.conversations.conftest import ConversationApi

# ConversationalAnalysisAuthoringProjectMetadata.required
PROJECT_REQUIRED = {"createdDateTime", "lastModifiedDateTime", "projectKind", "projectName", "language"}
EVALUATION_REQUIRED = {"microF1", "microPrecision", "microRecall", "macroF1", "macroPrecision", "macroRecall"}


def test_import_then_export_round_trips_the_project(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    assert conv.import_project(coffee)["status"] == "succeeded"
    location = conv.accepted(
        conv.post("/projects/CoffeeOrders/:export", query={"stringIndexType": "Utf16CodeUnit"})
    )
    job = conv.wait(location)
    assert job["status"] == "succeeded" and job["resultUrl"].startswith("http")
    exported = conv.get(job["resultUrl"]).get_json()
    assert exported["assets"] == coffee["assets"]
    assert exported["metadata"] == coffee["metadata"]
    assert exported["stringIndexType"] == "Utf16CodeUnit"
    assert exported["projectFileVersion"] == "2023-04-01"


def test_project_body_has_the_spec_fields_and_no_storage_container(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    body = conv.get("/projects/CoffeeOrders").get_json()
    assert set(body) >= PROJECT_REQUIRED
    assert body["projectKind"] == "Conversation"
    assert body["settings"] == {"confidenceThreshold": 0.5}
    assert "storageInputContainerName" not in body
    listed = conv.get("/projects").get_json()
    assert [p["projectName"] for p in listed["value"]] == ["CoffeeOrders"]


def test_conversation_and_text_projects_are_listed_apart(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    text = conv.get("http://localhost/language/authoring/analyze-text/projects?api-version=2023-04-01")
    assert text.get_json()["value"] == []


def test_create_project_by_patch_needs_no_container(conv: ConversationApi) -> None:
    response = conv.call(
        "PATCH",
        "/projects/Empty",
        json={"projectKind": "Orchestration", "language": "en", "projectName": "Empty"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["projectKind"] == "Orchestration"
    wrong = conv.call(
        "PATCH", "/projects/Other", json={"projectKind": "CustomSingleLabelClassification", "language": "en"}
    )
    assert wrong.status_code == 400 and error_of(wrong)["target"] == "projectKind"
    no_language = conv.call("PATCH", "/projects/Other", json={"projectKind": "Conversation"})
    assert no_language.status_code == 400 and error_of(no_language)["target"] == "language"


def test_project_names_may_be_longer_than_text_projects(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    long_name = "P" * 100
    assert conv.import_project(coffee, name=long_name)["status"] == "succeeded"
    assert conv.get(f"/projects/{long_name}").status_code == 200
    assert error_of(conv.post(f"/projects/{'P' * 101}/:import", json=coffee))["target"] == "projectName"


@pytest.mark.parametrize(
    ("mutate", "target"),
    [
        (lambda p: p["assets"]["utterances"][0].update(intent="Unknown"), "assets.utterances[0].intent"),
        (
            lambda p: p["assets"]["utterances"][0]["entities"][0].update(length=999),
            "assets.utterances[0].entities[0]",
        ),
        (lambda p: p["assets"]["utterances"][0].update(dataset="Validation"), "assets.utterances[0].dataset"),
        (
            lambda p: p["assets"]["entities"][0].update(compositionSetting="merge"),
            "assets.entities[0].compositionSetting",
        ),
        (
            lambda p: p["assets"]["entities"][4]["regex"]["expressions"][0].update(regexPattern="(unclosed"),
            "assets.entities[4].regex.expressions[0].regexPattern",
        ),
        (lambda p: p["metadata"].update(projectKind="CustomEntityRecognition"), "metadata.projectKind"),
        (lambda p: p["assets"].update(projectKind="Orchestration"), "assets.projectKind"),
        (lambda p: p.update(stringIndexType="TextElements_v8"), "stringIndexType"),
        (
            lambda p: p["metadata"].update(settings={"confidenceThreshold": 2}),
            "metadata.settings.confidenceThreshold",
        ),
    ],
)
def test_invalid_imports_are_refused_in_the_service_shape(
    conv: ConversationApi, coffee: dict[str, Any], mutate: Any, target: str
) -> None:
    body = copy.deepcopy(coffee)
    mutate(body)
    response = conv.post("/projects/CoffeeOrders/:import", json=body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] in ("InvalidArgument", "InvalidRequest")
    assert error["target"] == target


def test_orchestration_targets_are_validated(conv: ConversationApi, front_desk: dict[str, Any]) -> None:
    body = copy.deepcopy(front_desk)
    del body["assets"]["intents"][0]["orchestration"]["conversationOrchestration"]["deploymentName"]
    error = error_of(conv.post("/projects/FrontDesk/:import", json=body))
    assert error["target"] == "assets.intents[0].orchestration.conversationOrchestration.deploymentName"


def test_luis_format_is_refused_and_conversation_format_accepted(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    refused = conv.post("/projects/CoffeeOrders/:import", json=coffee, query={"format": "Luis"})
    assert refused.status_code == 400 and error_of(refused)["target"] == "format"
    accepted = conv.post("/projects/CoffeeOrders/:import", json=coffee, query={"format": "Conversation"})
    assert conv.wait(conv.accepted(accepted))["status"] == "succeeded"


def test_train_requires_a_training_mode(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.import_project(coffee)
    missing = conv.post("/projects/CoffeeOrders/:train", json={"modelLabel": "m"})
    assert missing.status_code == 400 and error_of(missing)["target"] == "trainingMode"
    wrong = conv.post("/projects/CoffeeOrders/:train", json={"modelLabel": "m", "trainingMode": "premium"})
    assert wrong.status_code == 400 and error_of(wrong)["target"] == "trainingMode"


@pytest.mark.parametrize("mode", ["standard", "advanced"])
def test_training_job_reports_its_mode_config_and_evaluation_options(
    conv: ConversationApi, coffee: dict[str, Any], mode: str
) -> None:
    conv.import_project(coffee)
    job = conv.train("CoffeeOrders", trainingMode=mode, evaluationOptions={"kind": "manual"})
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["trainingMode"] == mode
    assert result["trainingConfigVersion"] == "2022-05-01"  # "latest" when not given
    assert {"modelLabel", "trainingConfigVersion", "trainingStatus"} <= set(result)
    listed = conv.get("/projects/CoffeeOrders/train/jobs").get_json()["value"]
    assert [j["result"]["trainingMode"] for j in listed] == [mode]
    summary = conv.get("/projects/CoffeeOrders/models/model1/evaluation/summary-result").get_json()
    assert summary["evaluationOptions"] == {"kind": "manual"}
    assert EVALUATION_REQUIRED | {"confusionMatrix", "intents"} <= set(summary["intentsEvaluation"])
    assert EVALUATION_REQUIRED | {"confusionMatrix", "entities"} <= set(summary["entitiesEvaluation"])
    assert summary["intentsEvaluation"]["microF1"] > 0.5


def test_manual_evaluation_scores_exactly_the_test_utterances(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    conv.train("CoffeeOrders", evaluationOptions={"kind": "manual"})
    results = conv.get(
        "/projects/CoffeeOrders/models/model1/evaluation/result", query={"stringIndexType": "Utf16CodeUnit"}
    )
    texts = {r["text"] for r in results.get_json()["value"]}
    assert texts == {u["text"] for u in coffee["assets"]["utterances"] if u["dataset"] == "Test"}
    one = results.get_json()["value"][0]
    assert set(one) == {"text", "language", "entitiesResult", "intentsResult"}


def test_models_deployments_and_their_jobs(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    model = conv.get("/projects/CoffeeOrders/models/model1").get_json()
    assert set(model) >= MODEL_FIELDS
    deployments = conv.get("/projects/CoffeeOrders/deployments").get_json()["value"]
    assert [d["deploymentName"] for d in deployments] == ["production"]
    assert set(deployments[0]) >= DEPLOYMENT_FIELDS and deployments[0]["modelId"] == model["modelId"]
    deleted = conv.wait(conv.accepted(conv.call("DELETE", "/projects/CoffeeOrders/deployments/production")))
    assert deleted["status"] == "succeeded"
    assert conv.get("/projects/CoffeeOrders/deployments/production").status_code == 404


def test_export_of_a_trained_model_returns_its_snapshot(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    conv.train("CoffeeOrders")
    changed = copy.deepcopy(coffee)
    changed["assets"]["utterances"] = changed["assets"]["utterances"][:5]
    conv.import_project(changed)
    query = {"stringIndexType": "Utf16CodeUnit", "trainedModelLabel": "model1"}
    job = conv.wait(conv.accepted(conv.post("/projects/CoffeeOrders/:export", query=query)))
    assert conv.get(job["resultUrl"]).get_json()["assets"] == coffee["assets"]


def test_2022_05_01_is_served_too(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.api_version = "2022-05-01"
    conv.ready(coffee)
    assert conv.get("/projects/CoffeeOrders").status_code == 200
    assert conv.get("/projects").status_code == 200
    unsupported = conv.get("/projects", api_version="2021-11-01-preview")
    assert unsupported.status_code == 400 and error_of(unsupported)["target"] == "api-version"


def test_delete_project(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    job = conv.wait(conv.accepted(conv.call("DELETE", "/projects/CoffeeOrders")))
    assert job["status"] == "succeeded"
    missing = conv.get("/projects/CoffeeOrders")
    assert missing.status_code == 404 and error_of(missing)["code"] == "ProjectNotFound"
    assert conv.analyze("CoffeeOrders", "one latte").status_code == 404


def test_orchestration_training_fails_without_its_connected_project(
    conv: ConversationApi, front_desk: dict[str, Any]
) -> None:
    conv.import_project(front_desk)
    job = conv.train("FrontDesk")
    assert job["status"] == "failed"
    assert "CoffeeOrders" in job["errors"][0]["message"]


def test_prebuilt_entities_lists_what_the_learner_recognises(conv: ConversationApi) -> None:
    listed = conv.get("/projects/global/prebuilt-entities").get_json()["value"]
    assert {p["category"] for p in listed} == {"Quantity.Number", "DateTime", "General.Email"}
    assert all(set(p) == {"category", "description", "examples"} for p in listed)


def test_training_config_versions_take_conversation_project_kinds(conv: ConversationApi) -> None:
    ok = conv.get("/projects/global/training-config-versions", query={"projectKind": "Orchestration"})
    assert ok.status_code == 200 and ok.get_json()["value"]
    refused = conv.get(
        "/projects/global/training-config-versions", query={"projectKind": "CustomEntityRecognition"}
    )
    assert refused.status_code == 400 and error_of(refused)["target"] == "projectKind"

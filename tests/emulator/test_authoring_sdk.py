"""Microsoft's authoring SDK, unchanged, drives import, train, deploy and export against the emulator."""

from __future__ import annotations

import time

import requests
from azure.ai.textanalytics.authoring import TextAuthoringClient, TextAuthoringProjectClient
from azure.core.credentials import AzureKeyCredential
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import ner_project, upload_documents
from localdev.services import Azurite
from tests.conftest import Regions

FAST = {"polling_interval": 0.01}


def wait_for(client: TextAuthoringProjectClient, location: str) -> None:
    for _ in range(500):
        status = client.send_request(HttpRequest("GET", location)).json()["status"]
        if status in ("succeeded", "failed", "cancelled"):
            assert status == "succeeded"
            return
        time.sleep(0.01)
    raise AssertionError("import never finished")


def test_sdk_import_train_deploy_export(regions: Regions, azurite: Azurite) -> None:
    region = regions.primary
    project = ner_project()
    upload_documents(
        BlobServiceClient.from_connection_string(
            azurite.connection_string("primarydocs")
        ).get_container_client(project.container),
        project,
    )
    client = TextAuthoringProjectClient(
        region.endpoint, AzureKeyCredential(region.key), project_name=project.name, api_version="2023-04-01"
    )

    # SDK 1.0.0b1 bug: begin_import forwards format=None to an inner method whose version check then
    # refuses api-version 2023-04-01. Its own pipeline (send_request) carries the import instead.
    imported = client.send_request(
        HttpRequest(
            "POST",
            f"/authoring/analyze-text/projects/{project.name}/:import?api-version=2023-04-01",
            json=project.export,
        )
    )
    assert imported.status_code == 202
    wait_for(client, imported.headers["operation-location"])
    details = client.project.get_project()
    assert details.project_name == project.name
    assert details.project_kind == "CustomEntityRecognition"

    training = client.project.begin_train(
        {
            "modelLabel": "model1",
            "trainingConfigVersion": "2022-05-01",
            "evaluationOptions": {
                "kind": "percentage",
                "trainingSplitPercentage": 80,
                "testingSplitPercentage": 20,
            },
        },
        **FAST,
    )
    training.result()
    assert training.status() == "succeeded"
    model = client.trained_model.get_trained_model("model1")
    assert model.label == "model1" and model.has_snapshot is True

    client.deployment.begin_deploy_project("prod", {"trainedModelLabel": "model1"}, **FAST).result()
    deployment = client.deployment.get_deployment("prod")
    assert deployment.model_id == model.model_id
    assert [d.deployment_name for d in client.project.list_deployments()] == ["prod"]

    exporting = client.project.begin_export(
        string_index_type="Utf16CodeUnit", trained_model_label="model1", **FAST
    )
    exporting.result()
    status = exporting.polling_method()._pipeline_response.http_response.json()  # the SDK drops resultUrl
    exported = requests.get(
        status["resultUrl"], headers={"Ocp-Apim-Subscription-Key": region.key}, timeout=10
    )
    assert exported.json()["assets"] == project.export["assets"]

    resource = TextAuthoringClient(region.endpoint, AzureKeyCredential(region.key), api_version="2023-04-01")
    assert [p.project_name for p in resource.list_projects()] == [project.name]
    versions = list(resource.list_training_config_versions(project_kind="CustomEntityRecognition"))
    assert [v.training_config_version for v in versions] == ["2022-05-01"]

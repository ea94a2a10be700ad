"""The whole flow across two emulator processes and Azurite: a replica answers exactly like its primary.

Primary: upload, import, train, deploy, predict, export the deployed model's snapshot.
Secondary: copy the documents, import the export, train with the same label and config,
deploy, predict — the same texts must give the same entities and classes.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import (
    SampleProject,
    multi_label_project,
    ner_project,
    single_label_project,
    upload_documents,
)
from localdev.services import Azurite, EmulatorRegion
from tests.conftest import Regions

AUTHORING = "/language/authoring/analyze-text"
VERSION = {"api-version": "2023-04-01"}


class Region:
    def __init__(self, region: EmulatorRegion) -> None:
        self.endpoint = region.endpoint
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = region.key

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if "://" in path else f"{self.endpoint}{path}"
        params = {**VERSION, **kwargs.pop("params", {})} if "://" not in path else kwargs.pop("params", None)
        return self.session.request(method, url, params=params, timeout=30, **kwargs)

    def job(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 202, response.text
        location = response.headers["operation-location"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = self.call("GET", location).json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                assert body["status"] == "succeeded", body
                return dict(body)
            time.sleep(0.02)
        raise AssertionError(f"job {location} did not finish")

    def predict(self, project: str, kind: str, texts: list[str]) -> list[dict[str, Any]]:
        parameters: dict[str, Any] = {"projectName": project, "deploymentName": "production"}
        if kind == "CustomEntityRecognition":
            parameters["stringIndexType"] = "Utf16CodeUnit"
        body = {
            "analysisInput": {
                "documents": [{"id": str(i), "language": "en", "text": t} for i, t in enumerate(texts)]
            },
            "tasks": [{"kind": kind, "parameters": parameters}],
        }
        result = self.job("POST", "/language/analyze-text/jobs", json=body)
        return list(result["tasks"]["items"][0]["results"]["documents"])


def copy_documents(azurite: Azurite, project: SampleProject, exported: dict[str, Any]) -> None:
    source = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    target = BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs"))
    container = target.get_container_client(project.container)
    container.create_container()
    for document in exported["assets"]["documents"]:
        data = source.get_blob_client(project.container, document["location"]).download_blob().readall()
        container.upload_blob(document["location"], data)


@pytest.mark.parametrize(
    "make",
    [ner_project, single_label_project, multi_label_project],
    ids=["ner", "single-label", "multi-label"],
)
def test_a_replica_trained_from_the_export_predicts_exactly_like_the_primary(
    regions: Regions, azurite: Azurite, make: Any
) -> None:
    project = make()
    primary, secondary = Region(regions.primary), Region(regions.secondary)
    upload_documents(
        BlobServiceClient.from_connection_string(
            azurite.connection_string("primarydocs")
        ).get_container_client(project.container),
        project,
    )
    base = f"{AUTHORING}/projects/{project.name}"
    train = {
        "modelLabel": "model1",
        "trainingConfigVersion": "2022-05-01",
        "evaluationOptions": {"kind": "manual"},
    }

    primary.job("POST", f"{base}/:import", json=project.export)
    primary.job("POST", f"{base}/:train", json=train)
    primary.job("PUT", f"{base}/deployments/production", json={"trainedModelLabel": "model1"})
    unseen = "An unseen text dated March 3, 2026 about Contoso Ltd. 🚀"
    texts = [*list(project.documents.values())[:6], unseen]
    expected = primary.predict(project.name, project.kind, texts)
    assert any(d.get("entities") or d.get("class") for d in expected)

    exported_job = primary.job(
        "POST", f"{base}/:export", params={"stringIndexType": "Utf16CodeUnit", "trainedModelLabel": "model1"}
    )
    exported = primary.call("GET", exported_job["resultUrl"]).json()
    copy_documents(azurite, project, exported)
    secondary.job("POST", f"{base}/:import", json=exported)
    primary_model = primary.call("GET", f"{base}/models/model1").json()
    secondary.job(
        "POST",
        f"{base}/:train",
        json={**train, "trainingConfigVersion": primary_model["modelTrainingConfigVersion"]},
    )
    secondary.job("PUT", f"{base}/deployments/production", json={"trainedModelLabel": "model1"})

    assert secondary.predict(project.name, project.kind, texts) == expected
    secondary_model = secondary.call("GET", f"{base}/models/model1").json()
    assert secondary_model["modelId"] != primary_model["modelId"]  # resources never share model ids

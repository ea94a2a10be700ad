"""Microsoft's three official sample projects (../shared/data) import as published.

Skipped when the folder is not beside the checkout; the default suite never needs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import Api

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SAMPLES = {
    "custom-ner-loan-agreements": "loanAgreementsLabels.json",
    "custom-single-class-web-of-science": "webOfScience_labelsFile.json",
    "custom-multi-class-movie-summaries": "movieLabels.json",
}

pytestmark = [
    pytest.mark.reference_data,
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not beside the checkout"),
]


def load(api: Api, folder: str, container: str) -> dict[str, Any]:
    """Upload the sample's documents byte for byte and return its labels file, pointed at `container`."""
    root = SHARED_DATA / folder
    labels = json.loads((root / SAMPLES[folder]).read_bytes().decode("utf-8"))
    labels["metadata"]["storageInputContainerName"] = container
    client = BlobServiceClient.from_connection_string(api.azurite.connection_string("primarydocs"))
    target = client.get_container_client(container)
    target.create_container()
    for document in labels["assets"]["documents"]:
        target.upload_blob(document["location"], (root / document["location"]).read_bytes())
    return dict(labels)


@pytest.mark.parametrize("folder", sorted(SAMPLES))
def test_official_sample_imports_and_exports_unchanged(api: Api, folder: str) -> None:
    labels = load(api, folder, folder[:40].lower())
    name = labels["metadata"]["projectName"]
    job = api.wait(api.accepted(api.post(f"/projects/{name}/:import", json=labels)))
    assert job["status"] == "succeeded", job
    exported_job = api.wait(
        api.accepted(api.post(f"/projects/{name}/:export", query={"stringIndexType": "Utf16CodeUnit"}))
    )
    exported = api.get(exported_job["resultUrl"]).get_json()
    assert exported["assets"]["documents"] == labels["assets"]["documents"]
    assert (
        exported["assets"]["projectKind"] == labels["metadata"]["projectKind"]
    )  # the movie sample's case fixed


def test_the_movie_samples_kind_case_is_refused_in_strict_mode(api: Api) -> None:
    api.control("/behaviour", {"projectKindCase": "strict"})
    labels = load(api, "custom-multi-class-movie-summaries", "movies")
    response = api.post("/projects/Movies/:import", json=labels)
    assert response.status_code == 400
    assert "must match" in error_of(response)["message"]


def test_the_loan_agreements_sample_trains_and_recovers_its_labels(api: Api) -> None:
    labels = load(api, "custom-ner-loan-agreements", "loans")
    assert (
        api.wait(api.accepted(api.post("/projects/LoanAgreement/:import", json=labels)))["status"]
        == "succeeded"
    )
    job = api.train("LoanAgreement")
    assert job["status"] == "succeeded", job
    summary = api.get("/projects/LoanAgreement/models/model1/evaluation/summary-result").get_json()
    assert set(summary["customEntityRecognitionEvaluation"]["entities"]) == {
        e["category"] for e in labels["assets"]["entities"]
    }

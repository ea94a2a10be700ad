"""Microsoft's own custom NER sample (../shared/data, when present) replicates like our generated one."""

import json
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from shared.runs.manifest import SUCCEEDED

from .support import authoring, export_of, harness, predict, wait_job

SAMPLE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "custom-ner-loan-agreements"

pytestmark = pytest.mark.reference_data


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/data is not present")
def test_the_official_loan_agreements_sample_replicates(regions, azurite):
    export = json.loads((SAMPLE / "loanAgreementsLabels.json").read_bytes())
    export["metadata"]["storageInputContainerName"] = "loan-agreements"
    export["metadata"]["projectName"] = "LoanAgreements"
    documents = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    container = documents.get_container_client("loan-agreements")
    container.create_container()
    for document in export["assets"]["documents"]:
        container.upload_blob(document["location"], (SAMPLE / document["location"]).read_bytes())
    primary = authoring(regions.primary)
    wait_job(primary, primary.start_import("LoanAgreements", json.dumps(export).encode()))
    wait_job(primary, primary.start_training("LoanAgreements", model_label="v1",
                                             training_config_version="2022-05-01"))
    wait_job(primary, primary.start_deployment("LoanAgreements", "prod", trained_model_label="v1"))

    h = harness(regions, azurite)
    [start] = h.engine.start_runs()
    h.run()
    assert h.engine.get_run("LoanAgreements", start.run_id).status == SUCCEEDED
    replica = export_of(authoring(regions.secondary), "LoanAgreements")
    assert replica["assets"] == export_of(primary, "LoanAgreements")["assets"]
    texts = [(SAMPLE / name).read_bytes().decode("utf-8") for name in ("Test 1.txt", "Test 2.txt")]
    kind = "CustomEntityRecognition"
    assert predict(regions.secondary, "LoanAgreements", "prod", kind, texts) == predict(
        regions.primary, "LoanAgreements", "prod", kind, texts)

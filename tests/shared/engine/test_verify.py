"""The verify step against two emulated regions: predictions on a sample must agree at the threshold."""

import copy
import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import SampleProject, ner_project
from shared.clock import FakeClock
from shared.language.credentials import KeyAuth
from shared.language.runtime import RuntimeClient
from shared.replication.plan import WORKING
from shared.replication.steps import Side, StepFailed, StepMachine, StepOptions
from shared.replication.training_budget import TrainingBudget
from shared.runs.manifest import SUCCEEDED, RunManifest, StepRecord
from shared.storage.json_blobs import JsonBlobs
from shared.storage.snapshots import SnapshotStore

from .support import authoring, seed


class Slice:
    """The least a step needs from the slice running it: a manifest, kept in memory."""

    def __init__(self, manifest: RunManifest) -> None:
        self.manifest = manifest

    def checkpoint(self) -> None:
        pass

    def record_job_url(self, step: StepRecord, url: str) -> None:
        step.job_url = url

    def hook(self, point: str, step: StepRecord) -> None:
        pass


def relabelled(project: SampleProject) -> SampleProject:
    """The same documents with most labels removed: a model trained on it predicts differently."""
    export = copy.deepcopy(project.export)
    for document in export["assets"]["documents"]:
        for entity in document["entities"]:
            entity["labels"] = entity["labels"][:1]
    return replace(project, export=export)


@pytest.fixture
def two_sides(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    seed(regions.secondary, azurite.connection_string("secondarydocs"), relabelled(project))
    clock = FakeClock(datetime.now(UTC))
    state = BlobServiceClient.from_connection_string(azurite.connection_string())
    snapshots = SnapshotStore(state.get_container_client("snapshots"), clock)
    working = snapshots.save_bytes(project.name, json.dumps(project.export).encode(),
                                   source_endpoint=regions.primary.endpoint, reason="working-copy")

    def side(region, account):
        container = BlobServiceClient.from_connection_string(azurite.connection_string(account))
        return Side(authoring(region), RuntimeClient(region.endpoint, KeyAuth(region.key)),
                    container.get_container_client(project.container))

    def verify(threshold: float) -> StepRecord:
        machine = StepMachine(side(regions.primary, "primarydocs"), side(regions.secondary, "secondarydocs"),
                              snapshots, TrainingBudget(JsonBlobs(state.get_container_client("state")), 3),
                              clock, StepOptions(verify_sample=5, agreement_threshold=threshold))
        step = StepRecord("verify", "verify")
        manifest = RunManifest(
            "run", project.name, "secondary", "manual", False, clock.now(), clock.now(),
            steps=[StepRecord("export:working", "export", WORKING, status=SUCCEEDED,
                              detail={"snapshot": working.name}), step],
            context={"observed": {"projectKind": project.kind, "deployments": {"prod": {"label": "v1"}}}})
        for _ in range(1000):  # each call is one slice: submit, then poll the runtime jobs
            if machine.run(Slice(manifest), step) is None:
                return step
            time.sleep(0.01)
        raise TimeoutError("verify did not finish")

    return verify


def test_predictions_that_disagree_fail_verify_below_the_threshold(two_sides):
    with pytest.raises(StepFailed) as failed:
        two_sides(1.0)
    assert failed.value.code == "PredictionsDisagree"
    assert "below the threshold 100%" in failed.value.message


def test_a_lower_threshold_accepts_the_agreement_it_measured(two_sides):
    step = two_sides(0.0)
    assert step.status == SUCCEEDED
    assert step.detail["compared"] == 5
    assert step.detail["agreement"] < 1.0 and step.detail["disagreements"]

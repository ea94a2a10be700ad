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

    def verify(threshold: float, tolerance: float = 0.02) -> StepRecord:
        machine = StepMachine(side(regions.primary, "primarydocs"), side(regions.secondary, "secondarydocs"),
                              snapshots, TrainingBudget(JsonBlobs(state.get_container_client("state")), 3),
                              clock, StepOptions(verify_sample=5, agreement_threshold=threshold,
                                                 evaluation_tolerance=tolerance))
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
    assert " documents sampled," in failed.value.message   # a text project's word for its items


def test_a_lower_threshold_accepts_the_agreement_it_measured(two_sides):
    step = two_sides(0.0, tolerance=1.0)
    assert step.status == SUCCEEDED
    assert step.detail["compared"] == 5
    assert step.detail["agreement"] < 1.0 and step.detail["disagreements"]


def test_a_lost_label_is_caught_by_the_models_evaluations_on_the_same_test_set(two_sides):
    # Both sides trained on the same manual split; the secondary lost most labels on the way.
    with pytest.raises(StepFailed) as failed:
        two_sides(0.0)
    assert failed.value.code == "EvaluationDiffers"
    reason = failed.value.message
    assert "model v1: F1 differs" in reason and "same test set of 4" in reason
    assert "primary: microF1" in reason and "target: microF1" in reason  # both tables


def test_the_run_record_keeps_both_evaluations_and_says_which_threshold_applied(two_sides):
    step = two_sides(0.0, tolerance=1.0)
    parity = step.detail["evaluation"]["v1"]
    assert parity["sameTestSet"] is True and parity["tolerance"] == 1.0
    assert parity["primary"]["testDocuments"] == parity["target"]["testDocuments"] == 4
    assert parity["primary"]["f1"]["categories"]["LenderName"] == 1.0
    assert parity["target"]["f1"]["categories"]["LenderName"] == 0.0
    assert step.detail["threshold"] == {"kind": "exact", "value": 0.0,
                                        "why": "the same train/test split on both sides"}

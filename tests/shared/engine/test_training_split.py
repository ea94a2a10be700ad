"""The secondary's model learns from the primary's own train/test split (TRAINING_SPLIT), whatever
evaluation options trained the primary; verify's threshold says whether the split was the same."""

import pytest

from localdev.sample_project import ner_project
from shared.replication.evaluation import read_evaluation, read_test_set
from shared.runs.manifest import FAILED, SUCCEEDED

from .support import authoring, export_of, harness, seed, wait_job
from .test_replication import without_container

PERCENTAGE = {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 30}


def seed_trained_with(regions, azurite, options):
    """The primary, trained with `options` (None: the service's default split) and deployed."""
    project = ner_project(documents=20)
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project, train=False)
    wait_job(primary, primary.start_training(
        project.name, model_label="v1", training_config_version="2022-05-01", evaluation_options=options))
    wait_job(primary, primary.start_deployment(project.name, "prod", trained_model_label="v1"))
    return project, primary


def replicate(regions, azurite, **settings):
    h = harness(regions, azurite, **settings)
    [start] = h.engine.start_runs()
    h.run()
    return h.engine.get_run(start.project, start.run_id)


@pytest.mark.parametrize("options", [PERCENTAGE, {"kind": "manual"}, None],
                         ids=["percentage", "manual", "none"])
def test_the_secondary_learns_from_the_primarys_exact_split(regions, azurite, options):
    project, primary = seed_trained_with(regions, azurite, options)
    run = replicate(regions, azurite)
    assert run.status == SUCCEEDED, run.to_json()

    secondary = authoring(regions.secondary)
    tested = read_test_set(primary, project.name, "v1")
    assert tested and read_test_set(secondary, project.name, "v1") == tested
    assert run.step("import:v1").detail["split"] == "rebuilt"
    assert run.step("train:v1").detail["split"] == "rebuilt"
    verify = run.step("verify")
    assert verify.detail["threshold"]["kind"] == "exact" and verify.detail["agreement"] == 1.0
    parity = verify.detail["evaluation"]["v1"]
    assert parity["sameTestSet"] and parity["largestGap"] == 0.0
    # The rebuilt split lived only in the label's import: the working copy is the primary's, unchanged.
    assert without_container(export_of(secondary, project.name)) == without_container(
        export_of(primary, project.name))


def test_a_percentage_split_left_to_the_service_is_drawn_again_and_verified_at_the_resampled_threshold(
        regions, azurite):
    project, primary = seed_trained_with(regions, azurite, PERCENTAGE)
    run = replicate(regions, azurite, TRAINING_SPLIT="service", VERIFY_AGREEMENT_THRESHOLD_RESAMPLED="0")
    assert run.status == SUCCEEDED, run.to_json()

    assert run.step("train:v1").detail["split"] == "service"
    secondary = authoring(regions.secondary)
    target = read_evaluation(secondary, project.name, "v1")
    source = read_evaluation(primary, project.name, "v1")
    assert target is not None and source is not None
    assert target.options == source.options == PERCENTAGE  # sent unchanged
    assert target.test_set != source.test_set  # the service drew another split
    verify = run.step("verify")
    assert verify.detail["threshold"]["kind"] == "resampled" and verify.detail["threshold"]["value"] == 0.0
    assert verify.detail["evaluation"]["v1"]["sameTestSet"] is False
    assert not verify.detail["evaluationFailures"]  # different test sets: reported, never failing


def test_a_resampled_split_is_held_to_its_own_threshold(regions, azurite):
    seed_trained_with(regions, azurite, PERCENTAGE)
    run = replicate(regions, azurite, TRAINING_SPLIT="service", VERIFY_AGREEMENT_THRESHOLD_RESAMPLED="1.0")
    assert run.status == FAILED
    assert run.error and run.error["code"] == "PredictionsDisagree", run.error
    assert "another test set" in run.step("verify").detail["threshold"]["why"]


def test_the_drift_report_shows_both_models_scores_stored_at_the_last_sync(regions, azurite):
    project, _ = seed_trained_with(regions, azurite, PERCENTAGE)
    h = harness(regions, azurite)
    [start] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()

    entry = h.engine.drift_report().project(project.name)
    assert entry.evaluation == run.step("verify").detail["evaluation"]
    assert entry.to_json()["evaluation"]["v1"]["sameTestSet"] is True
    assert "model v1 F1 of entities micro/macro: primary" in h.engine.drift_report().to_text()

"""The planner's decisions, from observed state alone (no service needed)."""

from datetime import UTC, datetime

from shared.api_versions import TextApiVersion
from shared.replication.plan import DIVERGED, DRIFTED, IN_SYNC, MISSING, Observed, plan_run
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.replication.verdict import UNFINISHED_RUN, deployment_records
from shared.runs.manifest import SKIPPED

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-02T00:00:00Z"

V2023 = TextApiVersion.V2023_04_01


def model(label, trained=T0, snapshot=True):
    return {"label": label, "modelId": f"{label}-id", "lastTrainedDateTime": trained,
            "modelTrainingConfigVersion": "2022-05-01", "hasSnapshot": snapshot}


def observed(*, record=None, secondary=True, primary_modified=T0, trained=T0, fingerprint="fp",
             secondary_modified=T1, snapshot=True):
    models = {"v1": model("v1", trained, snapshot)}
    deployments = {"prod": DeploymentRecord("v1", trained, "2022-05-01")}
    return Observed(
        project="Loans", target="secondary",
        primary={"projectKind": "CustomEntityRecognition", "storageInputContainerName": "loans",
                 "lastModifiedDateTime": primary_modified},
        primary_deployments=deployments, primary_models=models, documents_fingerprint=fingerprint,
        secondary={"lastModifiedDateTime": secondary_modified} if secondary else None,
        secondary_models={"v1": model("v1")} if secondary else {},
        secondary_deployments={"prod": {"deploymentName": "prod", "modelId": "v1-id"}} if secondary else {},
        record=record)


def record(**changes):
    values = dict(target="secondary", project="Loans", primary_last_modified=T0,
                  deployments={"prod": DeploymentRecord("v1", T0, "2022-05-01")}, content_hash="h",
                  documents_fingerprint="fp", secondary_last_modified=T1, snapshots=(),
                  synced_at=datetime(2026, 1, 2, tzinfo=UTC), project_kind="CustomEntityRecognition",
                  trained_labels={"v1": T0})
    values.update(changes)
    return SyncRecord(**values)


def test_deployments_map_to_labels_through_model_ids():
    models = {"v1": model("v1"), "v2": model("v2")}
    records = deployment_records([{"deploymentName": "prod", "modelId": "v2-id", "lastTrainedDateTime": T1,
                                   "modelTrainingConfigVersion": "2022-05-01"},
                                  {"deploymentName": "gone", "modelId": "deleted-id"}], models.values())
    assert records == {"prod": DeploymentRecord("v2", T1, "2022-05-01")}


def test_a_deployment_keeps_its_label_when_the_label_was_retrained_without_a_redeploy():
    superseded = f"v1-20260101T000000-{'0' * 32}"
    records = deployment_records([{"deploymentName": "prod", "modelId": superseded, "lastTrainedDateTime": T0,
                                   "modelTrainingConfigVersion": "2022-05-01"},
                                  {"deploymentName": "old", "modelId": f"gone-20260101T000000-{'0' * 32}"}],
                                 [model("v1", T1)])
    # "old" serves a model whose label was deleted on the primary: nothing to rebuild.
    assert records == {"prod": DeploymentRecord("v1", T0, "2022-05-01")}


def test_a_missing_target_plans_the_whole_sequence_without_backup():
    plan = plan_run(observed(secondary=False), force=False, api_version=V2023)
    assert plan.state == MISSING
    assert [s.name for s in plan.steps] == ["export:v1", "documents:v1", "import:v1", "train:v1",
                                            "export:working", "documents:working", "import:working",
                                            "deploy:prod", "verify"]


def test_nothing_changed_means_no_steps_unless_forced():
    assert plan_run(observed(record=record()), force=False, api_version=V2023).steps == []
    forced = plan_run(observed(record=record()), force=True, api_version=V2023)
    assert forced.state == IN_SYNC and forced.steps[0].name == "backup"
    assert all(step.status != SKIPPED for step in forced.steps)


def test_only_documents_changed_skips_the_billed_label_steps():
    plan = plan_run(observed(record=record(), fingerprint="other"), force=False, api_version=V2023)
    assert plan.reasons == ["the documents in container 'loans' changed (text edited, added or removed in "
                            "blob storage)"]
    skipped = {s.name for s in plan.steps if s.status == SKIPPED}
    assert skipped == {"export:v1", "documents:v1", "import:v1", "train:v1"}


def test_a_retrained_model_is_trained_again():
    plan = plan_run(observed(record=record(), trained=T1), force=False, api_version=V2023)
    assert any("retrained" in reason for reason in plan.reasons)
    assert plan.steps and all(s.status != SKIPPED for s in plan.steps)


def test_an_edited_target_is_diverged_but_not_when_the_edit_was_our_own_import():
    edited = observed(record=record(), primary_modified=T1, secondary_modified="2026-01-03T00:00:00Z")
    assert plan_run(edited, force=False, api_version=V2023).state == DIVERGED
    ours = plan_run(edited, force=False, api_version=V2023,
                    our_modifications=frozenset({"2026-01-03T00:00:00Z"}))
    assert ours.state == DRIFTED and any(reason.startswith(UNFINISHED_RUN) for reason in ours.reasons)


def test_after_a_successful_run_a_forced_plan_does_not_claim_an_unfinished_run():
    synced = observed(record=record())
    forced = plan_run(synced, force=True, api_version=V2023, our_modifications=frozenset({T1}))
    assert forced.state == IN_SYNC and forced.reasons == ["forced"]


def test_a_label_retrained_without_redeploy_stays_in_sync_when_the_target_has_the_served_model():
    retrained = observed(record=record(), trained=T0)
    retrained.primary_models["v1"] = model("v1", T1)  # the label moved on; "prod" still serves T0
    plan = plan_run(retrained, force=False, api_version=V2023)
    assert plan.state == IN_SYNC and plan.steps == []


def test_a_superseded_model_the_target_never_had_is_replaced_by_the_newest_with_a_warning():
    retrained = observed(record=record(trained_labels={"v1": "2025-12-01T00:00:00Z"}), trained=T0,
                         fingerprint="other")
    retrained.primary_models["v1"] = model("v1", T1)
    plan = plan_run(retrained, force=False, api_version=V2023)
    assert plan.state == DRIFTED
    assert [s.name for s in plan.steps if s.status == SKIPPED] == []
    assert "deployment prod serves a superseded model that cannot be reproduced" in plan.warnings[0]
    assert plan.steps[-2].detail == {"superseded": True}


def test_a_target_project_we_never_replicated_is_diverged():
    assert plan_run(observed(), force=False, api_version=V2023).state == DIVERGED


def test_without_model_scoped_export_labels_train_from_the_working_copy_and_warn():
    for version, snapshot in ((TextApiVersion.V2022_05_01, True), (V2023, False)):
        plan = plan_run(observed(secondary=False, snapshot=snapshot), force=False, api_version=version)
        assert plan.steps[0].detail["fromWorkingCopy"] is True
        assert plan.warnings and "working copy" in plan.warnings[0]


def test_a_connected_clu_project_replicated_since_the_last_sync_re_trains_every_label():
    unchanged = observed(record=record())
    assert plan_run(unchanged, force=False, api_version=V2023).steps == []
    unchanged.connected_synced = {"Coffee": datetime(2026, 1, 3, tzinfo=UTC)}
    plan = plan_run(unchanged, force=False, api_version=V2023)
    assert plan.state == DRIFTED and "connected CLU project 'Coffee'" in plan.reasons[0]
    assert [s.name for s in plan.steps if s.status != SKIPPED][:5] == [
        "backup", "export:v1", "documents:v1", "import:v1", "train:v1"]

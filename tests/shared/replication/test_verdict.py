"""The one classifier: each state from observed signals alone (no service needed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.replication.verdict import (
    UNFINISHED_RUN,
    DriftState,
    FailbackChange,
    Observation,
    classify,
    failback_change,
    ignoring_target_edits,
    listed_signals,
    moved_signals,
    needs_export,
    settle,
)

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-02T00:00:00Z"
T2 = "2026-01-03T00:00:00Z"
PROD = {"prod": DeploymentRecord("v1", T0, "2022-05-01")}


def synced(**changes) -> Observation:
    """Both sides exactly as our last successful sync left them."""
    record = SyncRecord(target="secondary", project="Loans", primary_last_modified=T0, deployments=dict(PROD),
                        content_hash="h", documents_fingerprint="fp", secondary_last_modified=T1,
                        snapshots=(),
                        synced_at=datetime(2026, 1, 2, tzinfo=UTC), project_kind="CustomEntityRecognition",
                        trained_labels={"v1": T0})
    observation = Observation(
        project="Loans", target="secondary",
        primary={"projectKind": "CustomEntityRecognition", "lastModifiedDateTime": T0,
                 "storageInputContainerName": "loans"},
        primary_deployments=dict(PROD), documents_fingerprint="fp",
        secondary={"lastModifiedDateTime": T1}, secondary_models={"v1": {"label": "v1", "modelId": "s-v1"}},
        secondary_deployments={"prod": {"deploymentName": "prod", "modelId": "s-v1"}}, record=record)
    return replace(observation, **changes)


def test_untouched_is_in_sync():
    assert classify(synced()) == (DriftState.IN_SYNC, ())


def test_no_project_on_the_target_is_missing_whatever_the_record_says():
    assert classify(synced(secondary=None))[0] is DriftState.MISSING
    assert classify(synced(secondary=None, record=None))[0] is DriftState.MISSING


def test_someone_else_s_project_is_diverged_but_our_own_unfinished_first_run_is_drift():
    assert classify(synced(record=None))[0] is DriftState.DIVERGED
    state, reasons = classify(synced(record=None, our_modifications=frozenset({T1})))
    assert state is DriftState.DRIFTED and reasons[0].startswith(UNFINISHED_RUN)


def test_a_target_changed_after_our_import_is_diverged_unless_the_change_was_our_import():
    edited = synced(secondary={"lastModifiedDateTime": T2})
    state, reasons = classify(edited)
    assert state is DriftState.DIVERGED and "someone edited it" in reasons[0]
    state, reasons = classify(replace(edited, our_modifications=frozenset({T2})))
    assert state is DriftState.DRIFTED and reasons[0].startswith(UNFINISHED_RUN)


def test_a_target_deployment_not_serving_the_label_s_model_is_drift():
    state, reasons = classify(synced(secondary_deployments={}))
    assert state is DriftState.DRIFTED
    assert reasons == ("the target's deployment 'prod' does not serve model 'v1'",)


def test_a_moved_timestamp_alone_is_decided_by_one_export():
    touched = synced(primary={"projectKind": "CustomEntityRecognition", "lastModifiedDateTime": T1,
                              "storageInputContainerName": "loans"})
    assert needs_export(touched)
    exports: list[str] = []

    def content_hash(project: str) -> str:
        exports.append(project)
        return "h"

    same = settle(touched, content_hash)
    assert exports == ["Loans"] and classify(same)[0] is DriftState.IN_SYNC
    assert "a fresh export has the content we replicated" in classify(same)[1][0]
    changed = replace(touched, content_changed=True)
    assert classify(changed)[0] is DriftState.DRIFTED
    # Already decided by another change: no export.
    assert not needs_export(replace(touched, documents_fingerprint="other"))


def test_a_retrain_without_redeploy_changes_nothing_served_and_a_redeploy_does():
    # The deployment still serves the model trained at T0: the observation is the same as at the sync.
    assert classify(synced())[0] is DriftState.IN_SYNC
    redeployed = synced(primary_deployments={"prod": DeploymentRecord("v1", T1, "2022-05-01")})
    state, reasons = classify(redeployed)
    assert state is DriftState.DRIFTED and "was retrained and redeployed" in reasons[0]


def test_a_promoted_target_is_promoted_whatever_else_is_true():
    for observation in (synced(), synced(secondary={"lastModifiedDateTime": T2}), synced(secondary=None),
                        synced(record=None), synced(primary_deployments={})):
        state, reasons = classify(replace(observation, promoted=True))
        assert state is DriftState.PROMOTED and "acting primary" in reasons[0]


def test_failback_masks_the_other_side_s_edits_and_decides_which_side_changed():
    # forward: primary -> acting primary; reverse: acting primary -> primary. T2 is an edit on a target.
    target_edited = {"secondary": {"lastModifiedDateTime": T2}}
    source_moved = {"primary": {**synced().primary, "lastModifiedDateTime": T2}, "content_changed": True}

    def decide(forward: dict, reverse: dict) -> FailbackChange:
        return failback_change(ignoring_target_edits(synced(promoted=True, **forward)),
                               ignoring_target_edits(synced(**reverse)))[0]

    assert decide({}, {}) is FailbackChange.NONE
    # The acting primary edited: the reverse direction's source moved, the forward one's target did.
    assert decide(target_edited, source_moved) is FailbackChange.ACTING
    assert decide(source_moved, target_edited) is FailbackChange.ORIGINAL
    assert decide({**source_moved, **target_edited}, {**source_moved, **target_edited}) is FailbackChange.BOTH
    # A save without changes on the acting primary changes nothing.
    assert decide({}, {**source_moved, "content_changed": False}) is FailbackChange.NONE


def test_a_connected_clu_project_replicated_after_the_orchestration_s_last_sync_is_drift():
    before = datetime(2026, 1, 1, tzinfo=UTC)
    after = datetime(2026, 1, 3, tzinfo=UTC)
    assert classify(synced(connected_synced={"Coffee": before}))[0] is DriftState.IN_SYNC
    state, reasons = classify(synced(connected_synced={"Coffee": after, "Tea": before}))
    assert state is DriftState.DRIFTED
    assert reasons == ("connected CLU project 'Coffee' was replicated to the target at 2026-01-03T00:00:00Z, "
                       "after this orchestration's last sync (2026-01-02T00:00:00Z): its training reads "
                       "that project",)


SIGNALS = {"lastModifiedDateTime": T0, "lastTrainedDateTime": T0, "lastDeployedDateTime": T1}


def with_signals(observation: Observation) -> SyncRecord:
    assert observation.record is not None and observation.secondary is not None
    return replace(observation.record, primary_signals=dict(SIGNALS),
                   secondary_signals=listed_signals(observation.secondary))


@pytest.mark.parametrize("side", ["primary", "target"])
@pytest.mark.parametrize("name", ["lastModifiedDateTime", "lastTrainedDateTime", "lastDeployedDateTime"])
def test_each_project_list_timestamp_that_moves_is_a_signal_on_either_side(side, name):
    observation = synced()
    record = with_signals(observation)
    primary, secondary = dict(SIGNALS), dict(observation.secondary or {})
    assert moved_signals(record, primary, secondary) == ()

    (primary if side == "primary" else secondary)[name] = T2

    assert moved_signals(record, primary, secondary) == (f"{side} {name}",)


def test_no_record_an_old_record_or_a_missing_side_always_needs_the_per_project_observation():
    observation = synced()
    record = with_signals(observation)
    assert moved_signals(None, SIGNALS, observation.secondary) == ("no sync record",)
    assert moved_signals(replace(record, primary_signals=None), SIGNALS, observation.secondary)
    assert moved_signals(record, SIGNALS, None) == ("the project is missing on a side",)


def test_a_vouched_target_is_not_asked_for_its_deployments_and_the_rest_is_still_decided():
    """The project-list path: no target model or deployment listed, the record's deployments stand in."""
    vouched = synced(secondary_models={}, secondary_deployments={}, serving_vouched=True)
    assert classify(vouched) == (DriftState.IN_SYNC, ())
    state, reasons = classify(replace(vouched, documents_fingerprint="fp2"))
    assert state is DriftState.DRIFTED and "documents in container 'loans' changed" in reasons[0]
    assert classify(replace(vouched, promoted=True))[0] is DriftState.PROMOTED

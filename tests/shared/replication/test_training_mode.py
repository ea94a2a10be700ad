"""A conversation project's trainingMode: the newest job's per label, else the recorded one, else the
configured default, said in the run and as a risk in the drift report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.replication.drift import unknown_training_modes
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.replication.training_mode import has_training_modes, seen_training_modes, training_mode_for
from shared.settings import settings_from_values
from tests.shared.setting_values import offline_values


class Jobs:
    """The jobs list as the service returns it (a plain stand-in: no HTTP involved)."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = jobs

    def list_training_jobs(self, project: str) -> list[dict[str, Any]]:
        return self.jobs


def job(label: str, mode: str | None, created: str) -> dict[str, Any]:
    result: dict[str, Any] = {"modelLabel": label}
    if mode is not None:
        result["trainingMode"] = mode
    return {"jobId": f"{label}-{created}", "createdDateTime": created, "result": result}


def test_the_newest_job_of_each_label_gives_its_mode() -> None:
    jobs = Jobs([job("v1", "advanced", "2026-03-02T00:00:00Z"), job("v1", "standard", "2026-03-01T00:00:00Z"),
                 job("v2", "standard", "2026-03-01T00:00:00Z"), job("v3", None, "2026-03-03T00:00:00Z")])
    assert seen_training_modes(jobs, "P") == {"v1": "advanced", "v2": "standard"}


def test_seen_then_recorded_then_the_default_which_is_said() -> None:
    assert training_mode_for("v1", {"v1": "advanced"}, {"v1": "standard"}, "standard").mode == "advanced"
    recorded = training_mode_for("v1", {}, {"v1": "advanced"}, "standard")
    assert (recorded.mode, recorded.known, recorded.warning("v1")) == ("advanced", True, None)
    unknown = training_mode_for("v1", {}, {}, "standard")
    assert (unknown.mode, unknown.known) == ("standard", False)
    warning = unknown.warning("v1")
    assert warning is not None and "the mode CLU_DEFAULT_TRAINING_MODE sets" in warning
    assert "expired" in warning and "standard" not in warning


def record(**modes: str) -> SyncRecord:
    return SyncRecord(target="secondary", project="Coffee", primary_last_modified="t",
                      deployments={"production": DeploymentRecord("v1", "t", "latest")}, content_hash="c",
                      documents_fingerprint="", secondary_last_modified=None, snapshots=(),
                      synced_at=datetime(2026, 3, 1, tzinfo=UTC), training_modes=dict(modes))


def test_the_drift_report_names_a_deployed_model_whose_mode_is_unknown() -> None:
    values = offline_values(REPLICATED_PROJECTS="Coffee", CLU_DEFAULT_TRAINING_MODE="advanced")
    settings = settings_from_values(values)
    conversation = {"projectKind": "Conversation"}
    [risk] = unknown_training_modes(settings, conversation, record())
    assert "model 'v1'" in risk and "the mode CLU_DEFAULT_TRAINING_MODE sets" in risk
    assert "advanced" not in risk
    assert list(unknown_training_modes(settings, conversation, record(v1="standard"))) == []
    assert list(unknown_training_modes(settings, {"projectKind": "CustomEntityRecognition"}, record())) == []
    assert has_training_modes("Orchestration") and not has_training_modes("CustomSingleLabelClassification")


def test_the_sync_record_keeps_the_modes() -> None:
    kept = record(v1="advanced")
    assert SyncRecord.from_json(kept.to_json()).training_modes == {"v1": "advanced"}

"""Drift detection: unit tests of the verdicts over an in-memory primary and target."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import FakeClock
from shared.errors import ReplicatorError
from shared.language.project_kinds import ANALYZE_TEXT, ROUTE_FAMILIES, RouteFamily, project_kind
from shared.replication.drift import (
    OBSERVED_FROM_LISTS,
    OBSERVED_IN_FULL,
    DriftState,
    check_drift,
    evaluation_lines,
    format_age,
)
from shared.replication.evaluation import scores_of
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.replication.verdict import listed_signals
from shared.settings import Settings, settings_from_values
from tests.shared.setting_values import offline_values

SYNCED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRIMARY_MODIFIED = "2026-03-01T10:00:00Z"
SECONDARY_AFTER_IMPORT = "2026-03-01T11:30:00Z"
TRAINED = "2026-03-01T09:00:00Z"
CONFIG = "2022-05-01"


def model_id(label: str, stamp: str = "20260301T090000") -> str:
    return f"{label}-{stamp}-{'0123456789abcdef' * 2}"


def make_settings(**overrides: str) -> Settings:
    return settings_from_values(offline_values(**overrides))


class FakeResource:
    """An authoring API's read side, in memory, counting every request it answers."""

    def __init__(self) -> None:
        self.projects: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        self.models: dict[str, dict[str, dict[str, Any]]] = {}
        self.configs: list[dict[str, Any]] = [
            {"trainingConfigVersion": CONFIG, "modelExpirationDate": "2027-10-22"}
        ]
        self.calls: list[str] = []
        self.fail: ReplicatorError | None = None

    def add(self, name: str, modified: str, *, container: str = "loans") -> None:
        self.projects[name] = {
            "projectName": name, "projectKind": "CustomEntityRecognition", "lastModifiedDateTime": modified,
            "storageInputContainerName": container, "language": "en",
        }
        self.deployments.setdefault(name, [])
        self.models.setdefault(name, {})

    def train(self, project: str, label: str, *, trained: str = TRAINED, config: str = CONFIG) -> str:
        """Train `label` (again): a new model id; deployments keep serving the model they were given."""
        stamp = trained[:19].replace("-", "").replace(":", "")
        self.models[project][label] = {"label": label, "modelId": model_id(label, stamp),
                                       "lastTrainedDateTime": trained, "modelTrainingConfigVersion": config}
        return str(self.models[project][label]["modelId"])

    def deploy(self, project: str, name: str, label: str, *, trained: str = TRAINED, config: str = CONFIG,
               expires: str = "2027-10-22") -> None:
        self.deployments[project] = [d for d in self.deployments[project] if d["deploymentName"] != name]
        self.deployments[project].append({
            "deploymentName": name, "modelId": self.train(project, label, trained=trained, config=config),
            "lastTrainedDateTime": trained, "lastDeployedDateTime": trained,
            "deploymentExpirationDate": expires, "modelTrainingConfigVersion": config,
        })

    def list_projects(self, *, families: Sequence[RouteFamily] = ROUTE_FAMILIES) -> Iterator[dict[str, Any]]:
        if ANALYZE_TEXT in families:   # a call per family: the call is counted once, with the text family
            self.calls.append("list_projects")
        if self.fail:
            raise self.fail
        kinds = {name: project_kind(project.get("projectKind")) for name, project in self.projects.items()}
        return iter([project for name, project in self.projects.items()
                     if (kind := kinds[name]) is None or kind.routes in families])

    def list_deployments(self, project: str) -> list[dict[str, Any]]:
        self.calls.append(f"list_deployments:{project}")
        return list(self.deployments.get(project, []))

    def list_models(self, project: str) -> list[dict[str, Any]]:
        self.calls.append(f"list_models:{project}")
        return list(self.models.get(project, {}).values())

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]:
        self.calls.append(f"training_config_versions:{project_kind}")
        return list(self.configs)


class FakeRecords:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SyncRecord] = {}

    def get(self, target: str, project: str) -> SyncRecord | None:
        return self.records.get((target, project))


class World:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or make_settings()
        self.primary = FakeResource()
        self.secondary = FakeResource()
        self.records = FakeRecords()
        self.clock = FakeClock(SYNCED_AT + timedelta(days=2))
        self.fingerprints: dict[str, str] = {}
        self.export_hashes: dict[str, str] = {}
        self.exports: list[str] = []

    def synced(self, project: str = "Loans", *, deployments: dict[str, str] | None = None) -> None:
        """The primary and target as a successful run leaves them."""
        self.primary.add(project, PRIMARY_MODIFIED)
        self.secondary.add(project, SECONDARY_AFTER_IMPORT)
        for name, label in (deployments or {"prod": "model1"}).items():
            self.primary.deploy(project, name, label)
            self.secondary.deploy(project, name, label, trained=SECONDARY_AFTER_IMPORT)
        self.fingerprints[project] = "docs-v1"
        self.export_hashes[project] = "hash-v1"
        self.records.records[("secondary", project)] = SyncRecord(
            target="secondary", project=project, primary_last_modified=PRIMARY_MODIFIED,
            deployments={name: DeploymentRecord(label, TRAINED, CONFIG)
                         for name, label in (deployments or {"prod": "model1"}).items()},
            content_hash="hash-v1", documents_fingerprint="docs-v1",
            secondary_last_modified=SECONDARY_AFTER_IMPORT, snapshots=(), synced_at=SYNCED_AT, run_id="run-1",
        )

    def fingerprint(self, project: str, container: str) -> str:
        return self.fingerprints[project]

    def content_hash(self, project: str) -> str:
        self.exports.append(project)
        return self.export_hashes[project]

    def check(self, **kwargs: Any):
        return check_drift(self.settings, self.primary, {"secondary": self.secondary}, self.records,
                           self.fingerprint, self.content_hash, self.clock, **kwargs)


def test_untouched_project_is_in_sync_without_any_export():
    world = World()
    world.synced()

    entry = world.check().project("Loans")

    assert entry.state is DriftState.IN_SYNC
    assert entry.reasons == ()
    assert world.exports == []
    assert entry.recovery_point_age == timedelta(days=2)  # unchanged: time since our last sync


def test_missing_target_project():
    world = World()
    world.primary.add("Loans", PRIMARY_MODIFIED)

    report = world.check()

    entry = report.project("Loans", "secondary")
    assert entry.state is DriftState.MISSING
    assert entry.needs_replication
    assert entry.recovery_point_age is None
    assert report.attention_needed and not report.in_sync


def test_target_project_we_never_synced_is_diverged_so_nobody_s_work_is_replaced_unasked():
    world = World()
    world.primary.add("Loans", PRIMARY_MODIFIED)
    world.secondary.add("Loans", PRIMARY_MODIFIED)

    entry = world.check().project("Loans")

    assert entry.state is DriftState.DIVERGED
    assert not entry.needs_replication
    assert "never replicated" in entry.reasons[0]


def test_timestamp_moved_but_export_has_the_same_content_is_in_sync():
    world = World()
    world.synced()
    world.primary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T08:00:00Z"

    entry = world.check().project("Loans")

    assert entry.state is DriftState.IN_SYNC
    assert entry.export_checked
    assert world.exports == ["Loans"]
    assert "fresh export has the content we replicated" in entry.reasons[0]


def test_timestamp_moved_and_labels_changed_is_drifted_with_the_age_of_the_served_state():
    world = World()
    world.synced()
    world.primary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T08:00:00Z"
    world.export_hashes["Loans"] = "hash-v2"

    entry = world.check().project("Loans")

    assert entry.state is DriftState.DRIFTED
    assert entry.export_checked
    assert "labels or settings differ" in entry.reasons[0]
    # The target serves the primary as modified at 10:00 on the 1st; now is 12:00 on the 3rd.
    assert entry.recovery_point_age == timedelta(days=2, hours=2)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p.deploy("Loans", "prod", "model2"), "now serves model 'model2' (was 'model1')"),
        (lambda p: p.deploy("Loans", "prod", "model1", trained="2026-03-02T09:00:00Z"), "was retrained"),
        (lambda p: p.deploy("Loans", "prod", "model1", config="2025-11-01"), "training config 2025-11-01"),
        (lambda p: p.deploy("Loans", "staging", "model1"), "deployment 'staging' was added"),
        (lambda p: p.deployments.__setitem__("Loans", []), "deployment 'prod' was removed"),
    ],
    ids=["re-pointed", "retrained", "new-config", "added", "removed"],
)
def test_deployment_changes_are_drift_on_their_own_without_an_export(change, expected):
    world = World()
    world.synced()
    change(world.primary)
    # Retraining and deploying also move the project's timestamp; the deployment change is proof enough.
    world.primary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T09:00:00Z"

    entry = world.check().project("Loans")

    assert entry.state is DriftState.DRIFTED
    assert any(expected in reason for reason in entry.reasons), entry.reasons
    assert world.exports == []


def test_a_deployed_label_retrained_without_redeploying_stays_in_sync_until_it_is_redeployed():
    world = World()
    world.synced()
    # The label moves on; its deployment keeps serving the model it was given, and so does the target's.
    world.primary.train("Loans", "model1", trained="2026-03-02T09:00:00Z")
    assert world.check().project("Loans").state is DriftState.IN_SYNC

    world.primary.deploy("Loans", "prod", "model1", trained="2026-03-02T09:00:00Z")
    entry = world.check().project("Loans")

    assert entry.state is DriftState.DRIFTED
    assert "model 'model1' behind deployment 'prod' was retrained and redeployed" in entry.reasons[0]


def test_model_id_is_never_compared_across_resources():
    world = World()
    world.synced()
    world.primary.deployments["Loans"][0]["modelId"] = model_id("model1", "20260302T090000")

    assert world.check().project("Loans").state is DriftState.IN_SYNC


def test_a_model_id_of_unknown_shape_is_resolved_through_the_models_list():
    world = World()
    world.synced()
    world.primary.deployments["Loans"][0]["modelId"] = "model1@opaque"
    world.primary.models["Loans"]["model1"]["modelId"] = "model1@opaque"

    assert world.check().project("Loans").state is DriftState.IN_SYNC


def test_document_text_edited_in_blob_storage_is_drift_even_with_unchanged_timestamps():
    world = World()
    world.synced()
    world.fingerprints["Loans"] = "docs-v2"

    entry = world.check().project("Loans")

    assert entry.state is DriftState.DRIFTED
    assert "documents in container 'loans' changed" in entry.reasons[0]
    assert world.exports == []


def test_target_modified_after_our_import_is_diverged_and_not_exported_for():
    world = World()
    world.synced()
    world.secondary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T07:00:00Z"
    world.primary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T08:00:00Z"

    report = world.check()
    entry = report.project("Loans")

    assert entry.state is DriftState.DIVERGED
    assert not entry.needs_replication
    assert "after our last import" in entry.reasons[0]
    assert any("primary was modified" in reason for reason in entry.reasons[1:])
    assert world.exports == []
    assert report.attention_needed


def test_expiry_dates_near_are_risks():
    world = World()
    world.synced()
    world.primary.deploy("Loans", "prod", "model1", expires="2026-03-10")
    world.primary.configs = [{"trainingConfigVersion": CONFIG, "modelExpirationDate": "2026-02-01"}]

    entry = world.check().project("Loans")

    assert entry.state is DriftState.IN_SYNC
    assert any("deployment 'prod' expires on 2026-03-10" in risk for risk in entry.risks)
    assert any(f"training with config {CONFIG}" in risk and "ended on 2026-02-01" in risk
               for risk in entry.risks)


def test_expiry_warning_days_sets_the_horizon_and_an_old_recovery_point_is_a_risk():
    world = World(make_settings(EXPIRY_WARNING_DAYS="5", RECOVERY_POINT_MAX_AGE_HOURS="72"))
    world.synced()
    world.primary.deploy("Loans", "prod", "model1", expires="2026-03-10")

    entry = world.check().project("Loans")
    assert entry.risks == ()  # expires in 7 days, beyond the 5-day horizon; the recovery point is 48 h old

    world.clock.advance(timedelta(days=2))
    entry = world.check().project("Loans")
    assert any("deployment 'prod' expires on 2026-03-10" in risk for risk in entry.risks)
    said = "recovery point is 4d 0h old, older than the 3d 0h that RECOVERY_POINT_MAX_AGE_HOURS allows"
    assert any(said in risk for risk in entry.risks)


def test_shared_documents_are_flagged_as_a_dr_risk():
    world = World(make_settings(SECONDARY_DOCUMENTS_STORAGE="", DOCUMENTS_SHARED="true"))
    world.synced()

    entry = world.check().project("Loans")

    assert any("(DOCUMENTS_SHARED is on)" in risk for risk in entry.risks)


def test_many_projects_cost_one_project_list_per_resource():
    world = World()
    for index in range(40):
        world.synced(f"Project{index:02d}")

    report = world.check()

    assert report.in_sync and len(report.projects) == 40
    assert world.primary.calls.count("list_projects") == 1
    assert world.secondary.calls.count("list_projects") == 1
    # No GET per project for metadata: each project's deployment and model lists (what the planner
    # observes too), and one config list per kind; on the target, its models and deployments.
    assert len(world.primary.calls) == 1 + 40 * 2 + 1
    assert report.requests["secondary"] == {"GET": 1 + 40 * 2}


class NoFullPassDue:
    """Between full passes: only moved timestamps lead to per-project reads; records what was read in full."""

    def __init__(self) -> None:
        self.observed_in_full: list[tuple[str, str]] = []
        self.saved = 0

    def due(self, target: str, project: str, now: datetime) -> bool:
        return False

    def observed(self, target: str, project: str, now: datetime) -> None:
        self.observed_in_full.append((target, project))

    def save(self) -> None:
        self.saved += 1


def with_signals(world: World, project: str) -> None:
    """The sync record as a run now writes it: both sides' project-list timestamps at the sync."""
    key = ("secondary", project)
    world.records.records[key] = replace(
        world.records.records[key], primary_signals=listed_signals(world.primary.projects[project]),
        secondary_signals=listed_signals(world.secondary.projects[project]))


def test_between_full_passes_unmoved_replicas_cost_only_the_project_lists():
    world = World()
    for index in range(40):
        world.synced(f"Project{index:02d}")
        with_signals(world, f"Project{index:02d}")
    full_passes = NoFullPassDue()

    report = world.check(full_passes=full_passes)

    assert report.in_sync and {entry.observed for entry in report.projects} == {OBSERVED_FROM_LISTS}
    # The expiry check's training-config list stays (one per kind); nothing per project.
    assert world.primary.calls == ["list_projects", "training_config_versions:CustomEntityRecognition"]
    assert world.secondary.calls == ["list_projects"]
    assert full_passes.observed_in_full == [] and full_passes.saved == 1


def test_a_moved_timestamp_sends_that_replica_alone_to_the_full_read_and_an_old_record_too():
    world = World()
    for name in ("Moved", "Quiet", "OldRecord"):
        world.synced(name)
    for name in ("Moved", "Quiet"):
        with_signals(world, name)
    world.primary.projects["Moved"]["lastDeployedDateTime"] = "2026-03-02T08:00:00Z"
    full_passes = NoFullPassDue()

    report = world.check(full_passes=full_passes)

    observed = {entry.project: entry.observed for entry in report.projects}
    assert observed == {"Moved": OBSERVED_IN_FULL, "Quiet": OBSERVED_FROM_LISTS,
                        "OldRecord": OBSERVED_IN_FULL}
    assert "list_deployments:Quiet" not in world.primary.calls + world.secondary.calls
    assert sorted(full_passes.observed_in_full) == [("secondary", "Moved"), ("secondary", "OldRecord")]


def test_a_drift_found_in_full_is_not_recorded_as_a_full_pass_so_it_is_read_in_full_again():
    world = World()
    world.synced("Loans")
    with_signals(world, "Loans")
    world.primary.deployments["Loans"] = []  # deleted: no timestamp moves
    world.records.records[("secondary", "Loans")] = replace(
        world.records.records[("secondary", "Loans")], primary_signals={})  # force the full read
    full_passes = NoFullPassDue()

    entry = world.check(full_passes=full_passes).project("Loans")

    assert entry.state is DriftState.DRIFTED and entry.observed == OBSERVED_IN_FULL
    assert full_passes.observed_in_full == []


def test_configured_projects_only_and_a_missing_primary_project_is_an_error():
    world = World(make_settings(REPLICATED_PROJECTS="Loans,Ghost"))
    world.synced("Loans")
    world.synced("Other")

    report = world.check()

    assert [entry.project for entry in report.projects] == ["Loans", "Ghost"]
    assert report.project("Ghost").state is DriftState.ERROR
    assert report.has_errors and not report.attention_needed


def test_an_unreachable_primary_makes_every_project_an_error_not_an_exception():
    world = World(make_settings(REPLICATED_PROJECTS="Loans"))
    world.primary.fail = ReplicatorError("HTTP 503 ServiceUnavailable")

    report = world.check()

    assert report.project("Loans").state is DriftState.ERROR
    assert "cannot list the primary's projects" in report.project("Loans").reasons[0]


def test_an_unreachable_primary_with_every_project_replicated_is_still_an_error():
    world = World()
    world.primary.fail = ReplicatorError("HTTP 503 ServiceUnavailable")

    report = world.check()

    assert [(entry.project, entry.state) for entry in report.projects] == [("*", DriftState.ERROR)]
    assert not report.in_sync and report.has_errors


def test_only_replicable_kinds_are_checked_when_every_project_is_replicated():
    world = World()
    world.synced("Loans")
    world.primary.add("Summaries", PRIMARY_MODIFIED)
    world.primary.projects["Summaries"]["projectKind"] = "CustomAbstractiveSummarization"

    assert [entry.project for entry in world.check().projects] == ["Loans"]


def test_a_failing_document_listing_fails_that_project_only():
    from azure.core.exceptions import ServiceRequestError

    world = World()
    world.synced("Loans")
    world.synced("Tickets")

    def fingerprint(project: str, container: str) -> str:
        if project == "Loans":
            raise ServiceRequestError("connection refused")
        return world.fingerprints[project]

    world.fingerprint = fingerprint  # type: ignore[method-assign]
    report = world.check()

    assert report.project("Loans").state is DriftState.ERROR
    assert "connection refused" in report.project("Loans").reasons[0]
    assert report.project("Tickets").state is DriftState.IN_SYNC


def test_json_and_text_forms():
    world = World()
    world.synced("Loans")
    world.primary.add("Tickets", PRIMARY_MODIFIED)

    report = world.check()
    data = json.loads(json.dumps(report.to_json()))
    text = report.to_text()

    assert data["inSync"] is False
    assert data["counts"]["in_sync"] == 1 and data["counts"]["missing"] == 1
    loans = next(p for p in data["projects"] if p["project"] == "Loans")
    assert loans["state"] == "in_sync" and loans["recoveryPointAgeSeconds"] == 2 * 86400
    assert loans["lastSyncedAt"] == "2026-03-01T12:00:00Z"
    header, *rows = text.splitlines()[1:4]
    assert header.split() == ["PROJECT", "TARGET", "STATE", "RECOVERY", "POINT", "AGE", "LAST", "SYNC"]
    assert rows[0].split()[:5] == ["Loans", "secondary", "in_sync", "2d", "0h"]
    assert rows[1].split()[:3] == ["Tickets", "secondary", "missing"]
    assert "the target has no project 'Tickets'" in text
    assert text.splitlines()[-1] == "Summary: 1 in_sync, 1 missing"


def test_format_age():
    assert format_age(timedelta(seconds=42)) == "42s"
    assert format_age(timedelta(minutes=3, seconds=5)) == "3m 5s"
    assert format_age(timedelta(hours=5, minutes=1)) == "5h 1m"
    assert format_age(timedelta(days=3, hours=4, minutes=9)) == "3d 4h"


# -- against Azurite and two emulated regions, after a real replication ----------------------------------

INTEGRATION_PROJECT = "LoanAgreements"


@pytest.fixture
def replicated(regions, azurite):
    """A NER project seeded on the primary and replicated by the engine: the state drift starts from."""
    from localdev.sample_project import ner_project
    from tests.shared.engine.support import harness, seed

    project = ner_project(INTEGRATION_PROJECT, documents=12)
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    [start] = h.engine.start_runs()
    h.run()
    assert h.engine.get_run(project.name, start.run_id).status == "succeeded"
    return project, primary, h


def test_a_fresh_replica_is_in_sync_for_a_few_gets_and_no_export(replicated):
    _, _, h = replicated

    report = h.engine.drift_report()

    entry = report.project(INTEGRATION_PROJECT)
    assert entry.state is DriftState.IN_SYNC, entry
    assert not entry.export_checked
    # The primary's project list in each route family (the kinds are learnt from it), the project's
    # deployment and model lists and one training-config list; on the target, the list of the one family
    # replicated here and its model and deployment lists (the planner observes the same).
    assert report.requests == {"primary": {"GET": 5}, "secondary": {"GET": 3}}


def test_a_save_without_changes_on_the_primary_is_settled_by_one_export(replicated):
    import json

    from tests.shared.engine.support import export_of, wait_job

    _, primary, h = replicated
    same = export_of(primary, INTEGRATION_PROJECT)
    wait_job(primary, primary.start_import(INTEGRATION_PROJECT, json.dumps(same).encode()))

    entry = h.engine.drift_report().project(INTEGRATION_PROJECT)

    assert entry.state is DriftState.IN_SYNC, entry
    assert entry.export_checked


def test_a_label_change_on_the_primary_is_drift(replicated):
    import json

    from tests.shared.engine.support import export_of, wait_job

    _, primary, h = replicated
    changed = export_of(primary, INTEGRATION_PROJECT)
    labels = changed["assets"]["documents"][0]["entities"][0]["labels"]
    labels.pop()
    wait_job(primary, primary.start_import(INTEGRATION_PROJECT, json.dumps(changed).encode()))

    report = h.engine.drift_report()
    entry = report.project(INTEGRATION_PROJECT)

    assert entry.state is DriftState.DRIFTED, entry
    assert entry.export_checked and "labels or settings differ" in entry.reasons[0]
    assert report.requests["primary"]["POST"] == 1


def test_a_document_edited_in_blob_storage_is_drift(replicated, azurite):
    from azure.storage.blob import BlobServiceClient

    project, _, h = replicated
    container = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")) \
        .get_container_client(project.container)
    location = next(iter(project.documents))
    container.upload_blob(location, (project.documents[location] + " Amended.").encode(), overwrite=True)

    entry = h.engine.drift_report().project(INTEGRATION_PROJECT)

    assert entry.state is DriftState.DRIFTED, entry
    assert any("documents in container" in reason for reason in entry.reasons)
    assert not entry.export_checked


def test_a_retrain_without_redeploy_is_in_sync_and_a_redeploy_is_drift(replicated):
    from tests.shared.engine.support import retrain, wait_job

    _, primary, h = replicated
    retrain(primary, INTEGRATION_PROJECT, "v1")

    entry = h.engine.drift_report().project(INTEGRATION_PROJECT)
    [plan] = h.engine.start_runs(dry_run=True)

    assert entry.state is DriftState.IN_SYNC and plan.status == "in_sync", (entry, plan)
    wait_job(primary, primary.start_deployment(INTEGRATION_PROJECT, "prod", trained_model_label="v1"))
    entry = h.engine.drift_report().project(INTEGRATION_PROJECT)
    assert entry.state is DriftState.DRIFTED, entry
    assert any("was retrained and redeployed" in reason for reason in entry.reasons)


def test_a_replica_edited_after_our_import_is_diverged(replicated, regions):
    import json

    from tests.shared.engine.support import authoring, export_of, wait_job

    _, _, h = replicated
    secondary = authoring(regions.secondary)
    edited = export_of(secondary, INTEGRATION_PROJECT)
    edited["metadata"]["description"] = "edited in the secondary during an outage"
    wait_job(secondary, secondary.start_import(INTEGRATION_PROJECT, json.dumps(edited).encode()))

    entry = h.engine.drift_report().project(INTEGRATION_PROJECT)

    assert entry.state is DriftState.DIVERGED, entry
    assert "after our last import" in entry.reasons[0]
    assert not entry.needs_replication


def test_a_promoted_target_is_promoted_and_the_other_targets_stay_replicas_of_the_primary():
    world = World(make_settings(**{
        "SECONDARY_TARGETS": "far", "SECONDARY__FAR__LANGUAGE_ENDPOINT": "https://far.cognitiveservices.azure.com",
        "SECONDARY__FAR__DOCUMENTS_STORAGE": "https://fardocs.blob.core.windows.net"}))
    world.synced()
    far = FakeResource()
    far.add("Loans", SECONDARY_AFTER_IMPORT)
    far.deploy("Loans", "prod", "model1", trained=SECONDARY_AFTER_IMPORT)
    records = world.records.records
    records[("far", "Loans")] = replace(records[("secondary", "Loans")], target="far")
    world.secondary.projects["Loans"]["lastModifiedDateTime"] = "2026-03-02T08:00:00Z"  # outage work on it
    world.primary.deploy("Loans", "prod", "model1", trained="2026-03-02T09:00:00Z")     # the primary moved on

    def check(promoted: str):
        return check_drift(world.settings, world.primary, {"secondary": world.secondary, "far": far},
                           world.records, world.fingerprint, world.content_hash, world.clock,
                           is_promoted=lambda target, project: target == promoted)

    report = check("secondary")
    # Not "diverged": the acting primary's own work is expected, and it is never written to.
    assert report.project("Loans", "secondary").state is DriftState.PROMOTED
    assert not report.project("Loans", "secondary").needs_replication
    # Any other target keeps following the original primary, as without a promotion.
    assert report.project("Loans", "far").state is DriftState.DRIFTED
    assert check("nobody").project("Loans", "secondary").state is DriftState.DIVERGED

    world.primary.fail = ReplicatorError("HTTP 503 ServiceUnavailable")  # during the outage itself
    down = check("secondary")  # every project replicated: "*" stands for the names the primary would list
    assert down.project("*", "secondary").state is DriftState.PROMOTED
    assert down.project("*", "far").state is DriftState.ERROR


def _empty_summary() -> dict[str, Any]:
    """Every count zero, as the service answers for a model whose test set is empty."""
    return {"customSingleLabelClassificationEvaluation": {"microF1": 0.0, "macroF1": 0.0, "classes": {}}}


def _recorded(tests: int) -> dict[str, object]:
    side = scores_of(_empty_summary(), frozenset(f"t{i}" for i in range(tests))).to_json()
    return {"sameTestSet": True, "primary": side, "target": side}


def test_the_drift_text_says_an_empty_test_set_was_not_evaluated_instead_of_zero_f1() -> None:
    [empty] = evaluation_lines({"v1": _recorded(0)})
    assert empty == "model v1 F1 of classes: not evaluated (empty test set, at the last sync)"
    [scored] = evaluation_lines({"v1": _recorded(3)})
    assert scored.startswith("model v1 F1 of classes micro/macro: primary 0.000/0.000")

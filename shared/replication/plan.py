"""Decide what a run must do: observe both sides cheaply, compare with the last sync, plan the steps.

The state comes from the one classifier (shared.replication.verdict.classify), which the daily check uses
too; the planner only adds how to repair. Cheap signals first (a few GETs and one container listing);
a fresh export is compared only when the primary's timestamp alone moved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from azure.storage.blob import BlobServiceClient, ContainerClient

from shared.api_versions import ApiVersion
from shared.errors import UnknownProject
from shared.language.authoring import AuthoringClient
from shared.language.project_kinds import project_kind
from shared.replication.step_kinds import StepKind
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.replication.training_mode import CONVERSATION_KINDS, has_training_modes, seen_training_modes
from shared.replication.verdict import (
    DriftState,
    Observation,
    classify,
    connected_changes,
    deployment_records,
    listed_signals,
)
from shared.runs.manifest import SKIPPED, StepRecord
from shared.settings import Settings
from shared.storage.documents import container_fingerprint

IN_SYNC = DriftState.IN_SYNC.value
DRIFTED = DriftState.DRIFTED.value
DIVERGED = DriftState.DIVERGED.value
MISSING = DriftState.MISSING.value
PROMOTED = DriftState.PROMOTED.value
WORKING = ""  # the label of the working copy in step records


@dataclass
class Observed:
    """Both sides of one (target, project), as cheap GETs show them now, plus the primary's models."""

    project: str
    target: str
    primary: dict[str, Any]
    primary_deployments: dict[str, DeploymentRecord]
    primary_models: dict[str, dict[str, Any]]
    documents_fingerprint: str
    secondary: dict[str, Any] | None
    secondary_models: dict[str, dict[str, Any]]
    secondary_deployments: dict[str, dict[str, Any]]
    record: SyncRecord | None
    our_modifications: frozenset[str] = frozenset()
    content_changed: bool | None = None
    promoted: bool = False
    # An orchestration's connected CLU projects -> when each was last synced to this target.
    connected_synced: dict[str, datetime] = field(default_factory=dict)
    # Conversation projects: label -> trainingMode of the primary's newest training job seen for it.
    training_modes: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.primary["projectKind"])

    @property
    def container(self) -> str:
        """The documents container; "" for conversation projects (their utterances are in the export)."""
        return str(self.primary.get("storageInputContainerName") or "")

    def observation(self) -> Observation:
        """What the one classifier decides from (shared.replication.verdict)."""
        return Observation(
            project=self.project, target=self.target, primary=self.primary,
            primary_deployments=self.primary_deployments, documents_fingerprint=self.documents_fingerprint,
            secondary=self.secondary, secondary_models=self.secondary_models,
            secondary_deployments=self.secondary_deployments, record=self.record,
            our_modifications=self.our_modifications, content_changed=self.content_changed,
            promoted=self.promoted, connected_synced=self.connected_synced)

    def to_json(self) -> dict[str, Any]:
        return {
            "primaryLastModifiedDateTime": self.primary.get("lastModifiedDateTime"),
            "primarySignals": listed_signals(self.primary),
            "projectKind": self.kind,
            "container": self.container,
            "deployments": {name: record.to_json()
                            for name, record in sorted(self.primary_deployments.items())},
            "models": {label: {"lastTrainedDateTime": m.get("lastTrainedDateTime"),
                               "trainingConfigVersion": m.get("modelTrainingConfigVersion"),
                               "hasSnapshot": m.get("hasSnapshot")}
                       for label, m in sorted(self.primary_models.items())},
            "documentsFingerprint": self.documents_fingerprint,
            "secondaryLastModifiedDateTime": (self.secondary or {}).get("lastModifiedDateTime"),
            "trainingModes": dict(sorted(self.training_modes.items())),
        }


def observe(project: str, target: str, primary: AuthoringClient, secondary: AuthoringClient,
            primary_documents: ContainerClient | None, record: SyncRecord | None,
            our_modifications: frozenset[str] = frozenset(), *,
            metadata: dict[str, Any] | None = None) -> Observed:
    """`metadata`: the primary's project as the caller already read it (None: read it here)."""
    metadata = metadata if metadata is not None else primary.get_project(project)
    if metadata is None:
        raise UnknownProject(project)
    models = {str(m["label"]): m for m in primary.list_models(project)}
    deployments = deployment_records(primary.list_deployments(project), models.values())
    fingerprint = fingerprint_of(primary_documents)
    kind = str(metadata.get("projectKind"))
    training_modes = seen_training_modes(primary, project) if has_training_modes(kind) else {}
    secondary.note_kind(project, kind)   # the target may not have it yet: no lookup in both families
    secondary_project = secondary.get_project(project)
    secondary_models: dict[str, dict[str, Any]] = {}
    secondary_deployments: dict[str, dict[str, Any]] = {}
    if secondary_project is not None:
        secondary_models = {str(m["label"]): m for m in secondary.list_models(project)}
        secondary_deployments = {str(d["deploymentName"]): d for d in secondary.list_deployments(project)}
    return Observed(project, target, metadata, deployments, models, fingerprint, secondary_project,
                    secondary_models, secondary_deployments, record, our_modifications,
                    training_modes=training_modes)


def documents_container(service: BlobServiceClient, metadata: Mapping[str, Any],
                        place: Callable[[str], str] = str) -> ContainerClient | None:
    """The container holding a project's documents (`place` maps the primary's container name to a
    target's); None for conversation projects, whose utterances travel inside the export."""
    name = metadata.get("storageInputContainerName")
    return service.get_container_client(place(str(name))) if name else None


def fingerprint_of(container: ContainerClient | None) -> str:
    """The documents signal: "" when the project has no container (no documents to drift)."""
    return container_fingerprint(container) if container is not None else ""


def api_version_for(settings: Settings, kind: str) -> ApiVersion:
    """The api-version of the route family serving `kind`: conversations or text."""
    known = project_kind(kind)
    if known is not None and known in CONVERSATION_KINDS:
        return settings.conversations_api_version
    return settings.api_version


@dataclass
class Plan:
    project: str
    target: str
    state: str                                  # in_sync | drifted | diverged
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project, "target": self.target, "state": self.state, "reasons": self.reasons,
            "warnings": self.warnings,
            "steps": [{"name": s.name, "status": s.status, **({"why": s.detail["why"]} if "why" in s.detail
                                                              else {})} for s in self.steps],
        }


def plan_run(observed: Observed, *, force: bool, api_version: ApiVersion,
             our_modifications: frozenset[str] = frozenset()) -> Plan:
    """The steps a run needs, from the one verdict (shared.replication.verdict.classify) plus the models.

    `our_modifications`: the target's lastModifiedDateTime values left by our own imports in recent runs,
    so a run of ours that stopped half-way is not taken for someone's edit."""
    if our_modifications:
        observed = replace(observed, our_modifications=observed.our_modifications | our_modifications)
    drift_state, verdict = classify(observed.observation())
    state, reasons = drift_state.value, list(verdict)
    plan = Plan(observed.project, observed.target, state, reasons)
    if state == PROMOTED:
        return plan  # the acting primary is never written to, forced or not
    if state == IN_SYNC and not force:
        return plan
    if state == IN_SYNC:
        plan.reasons.append("forced")
    steps: list[StepRecord] = []
    if observed.secondary is not None:
        steps.append(StepRecord("backup", StepKind.BACKUP, WORKING))
    labels = sorted({d.label for d in observed.primary_deployments.values()})
    record = observed.record
    # An orchestration trains on its connected CLU projects too: one of them replicated since our last
    # sync makes every label stale on the target, however unchanged on the primary.
    connected = connected_changes(observed.observation())
    unreproducible: set[str] = set()
    for label in labels:
        model = observed.primary_models[label]
        current = str(model.get("lastTrainedDateTime"))
        serving = {name: d.last_trained for name, d in observed.primary_deployments.items()
                   if d.label == label}
        trained = record.trained_labels.get(label) if record is not None else None
        label_steps = [StepRecord(f"export:{label}", StepKind.EXPORT, label),
                       *documents_step(observed, label),
                       StepRecord(f"import:{label}", StepKind.IMPORT, label),
                       StepRecord(f"train:{label}", StepKind.TRAIN, label)]
        # The target's model of this label mirrors what the primary's deployments serve, or, when they
        # serve a superseded model the target never had, the label's newest model.
        unchanged = (not force and not connected and record is not None and state != DIVERGED
                     and trained is not None and (trained in serving.values() or trained == current)
                     and label in observed.secondary_models)
        # Deployments serving an older model of the label than its newest, which the target lacks.
        superseded = sorted(name for name, served in serving.items()
                            if served != current and not (unchanged and trained == served))
        unreproducible.update(superseded)
        for name in superseded:
            plan.warnings.append(f"deployment {name} serves a superseded model that cannot be reproduced: "
                                 f"the target deploys model {label} as the primary trained it last")
        if unchanged:
            for step in label_steps:
                step.status = SKIPPED
                step.detail["why"] = f"model {label} unchanged since the last sync"
        elif not api_version.supports_model_scoped_export or not model.get("hasSnapshot", False):
            why = (f"api-version {api_version.value} has no model-scoped export"
                   if not api_version.supports_model_scoped_export
                   else f"model {label} has no data snapshot")
            plan.warnings.append(f"{why}: {label} is trained from the primary's working copy")
            label_steps[0].detail["fromWorkingCopy"] = True
        steps += label_steps
    steps += [StepRecord("export:working", StepKind.EXPORT, WORKING),
              *documents_step(observed, WORKING),
              StepRecord("import:working", StepKind.IMPORT, WORKING)]
    steps += [StepRecord(f"deploy:{name}", StepKind.DEPLOY, name,
                         detail={"superseded": True} if name in unreproducible else {})
              for name in sorted(observed.primary_deployments)]
    steps.append(StepRecord("verify", StepKind.VERIFY))
    plan.steps = steps
    return plan


def documents_step(observed: Observed, label: str) -> list[StepRecord]:
    """The documents copy of a label; none for kinds without a documents container (utterances inline)."""
    known = project_kind(observed.kind)
    if known is not None and not known.has_documents_container:
        return []
    return [StepRecord(f"documents:{label or 'working'}", StepKind.DOCUMENTS, label)]

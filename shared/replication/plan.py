"""Decide what a run must do: observe both sides cheaply, compare with the last sync, plan the steps.

Cheap signals only (a few GETs and one container listing); the content hash of fresh exports decides
later, inside the run, whether the working copy needs importing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.storage.blob import ContainerClient

from shared.api_versions import TextApiVersion
from shared.errors import UnknownProject
from shared.language.authoring import AuthoringClient
from shared.replication.step_kinds import StepKind
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.runs.manifest import SKIPPED, StepRecord
from shared.storage.documents import container_fingerprint

IN_SYNC = "in_sync"
DRIFTED = "drifted"
DIVERGED = "diverged"
WORKING = ""  # the label of the working copy in step records


@dataclass
class Observed:
    """Both sides of one (target, project), as cheap GETs show them now."""

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

    @property
    def kind(self) -> str:
        return str(self.primary["projectKind"])

    @property
    def container(self) -> str:
        return str(self.primary["storageInputContainerName"])

    def to_json(self) -> dict[str, Any]:
        return {
            "primaryLastModifiedDateTime": self.primary.get("lastModifiedDateTime"),
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
        }


def deployment_records(deployments: list[dict[str, Any]], models: dict[str, dict[str, Any]]
                       ) -> dict[str, DeploymentRecord]:
    """Deployment name -> the label it serves (the API names the modelId, which the models list maps)."""
    label_by_model_id = {str(m.get("modelId")): label for label, m in models.items()}
    records = {}
    for deployment in deployments:
        label = label_by_model_id.get(str(deployment.get("modelId")))
        if label is None:
            continue  # a deployment of a deleted model: nothing we can rebuild
        records[str(deployment["deploymentName"])] = DeploymentRecord(
            label=label, last_trained=str(deployment.get("lastTrainedDateTime", "")),
            training_config_version=str(deployment.get("modelTrainingConfigVersion", "")))
    return records


def observe(project: str, target: str, primary: AuthoringClient, secondary: AuthoringClient,
            primary_documents: ContainerClient | None, record: SyncRecord | None) -> Observed:
    metadata = primary.get_project(project)
    if metadata is None:
        raise UnknownProject(project)
    models = {str(m["label"]): m for m in primary.list_models(project)}
    deployments = deployment_records(primary.list_deployments(project), models)
    fingerprint = container_fingerprint(primary_documents) if primary_documents is not None else ""
    secondary_project = secondary.get_project(project)
    secondary_models: dict[str, dict[str, Any]] = {}
    secondary_deployments: dict[str, dict[str, Any]] = {}
    if secondary_project is not None:
        secondary_models = {str(m["label"]): m for m in secondary.list_models(project)}
        secondary_deployments = {str(d["deploymentName"]): d for d in secondary.list_deployments(project)}
    return Observed(project, target, metadata, deployments, models, fingerprint, secondary_project,
                    secondary_models, secondary_deployments, record)


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


def drift_reasons(observed: Observed, ours: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """(state, reasons) from cheap signals alone; `ours` holds target timestamps our own imports left."""
    record = observed.record
    primary_modified = str(observed.primary.get("lastModifiedDateTime"))
    reasons: list[str] = []
    if observed.secondary is None:
        reasons.append(f"the target has no project {observed.project}")
    if record is None:
        reasons.append("never replicated by us")
    else:
        if primary_modified != record.primary_last_modified:
            reasons.append(f"primary modified at {primary_modified} "
                           f"(last sync saw {record.primary_last_modified})")
        reasons += _deployment_changes(record.deployments, observed.primary_deployments)
        if observed.documents_fingerprint and observed.documents_fingerprint != record.documents_fingerprint:
            reasons.append("documents changed in the primary's container")
        if record.project_kind and record.project_kind != observed.kind:
            reasons.append(f"project kind changed from {record.project_kind} to {observed.kind}")
    if observed.secondary is not None:
        for name, deployment in sorted(observed.primary_deployments.items()):
            secondary_model = observed.secondary_models.get(deployment.label)
            secondary_deployment = observed.secondary_deployments.get(name)
            if secondary_model is None or secondary_deployment is None or \
                    secondary_deployment.get("modelId") != secondary_model.get("modelId"):
                reasons.append(f"the target's deployment {name} does not serve model {deployment.label}")
        diverged = _diverged(observed)
        if diverged and str(observed.secondary.get("lastModifiedDateTime")) not in ours:
            return DIVERGED, [diverged, *reasons]
    return (DRIFTED if reasons else IN_SYNC), reasons


def _diverged(observed: Observed) -> str | None:
    secondary_modified = str((observed.secondary or {}).get("lastModifiedDateTime"))
    record = observed.record
    if record is None:
        return "the target already has a project of this name that we never replicated"
    if record.secondary_last_modified is not None and secondary_modified != record.secondary_last_modified:
        return (f"the target was modified at {secondary_modified}, after our last import "
                f"({record.secondary_last_modified})")
    return None


def _deployment_changes(before: dict[str, DeploymentRecord], now: dict[str, DeploymentRecord]) -> list[str]:
    reasons = []
    for name in sorted(set(before) | set(now)):
        old, new = before.get(name), now.get(name)
        if old is None:
            reasons.append(f"deployment {name} added on the primary")
        elif new is None:
            reasons.append(f"deployment {name} removed from the primary")
        elif old.label != new.label:
            reasons.append(f"deployment {name} re-pointed from {old.label} to {new.label}")
        elif old != new:  # same label, so retrained or another training config
            reasons.append(f"model {new.label} behind deployment {name} was retrained on the primary")
    return reasons


def plan_run(observed: Observed, *, force: bool, api_version: TextApiVersion,
             our_modifications: frozenset[str] = frozenset()) -> Plan:
    """The steps a run needs. `our_modifications`: the target's lastModifiedDateTime values left by our
    own imports in recent runs, so a run of ours that stopped half-way is not taken for someone's edit."""
    state, reasons = drift_reasons(observed, our_modifications)
    if observed.secondary is not None and str(observed.secondary.get("lastModifiedDateTime")) in \
            our_modifications and state != DIVERGED:
        reasons.append("an earlier run of ours did not finish")
    plan = Plan(observed.project, observed.target, state, reasons)
    if state == IN_SYNC and not force:
        return plan
    if state == IN_SYNC:
        plan.reasons.append("forced")
    steps: list[StepRecord] = []
    if observed.secondary is not None:
        steps.append(StepRecord("backup", StepKind.BACKUP, WORKING))
    labels = sorted({d.label for d in observed.primary_deployments.values()})
    record = observed.record
    for label in labels:
        model = observed.primary_models[label]
        label_steps = [StepRecord(f"export:{label}", StepKind.EXPORT, label),
                       StepRecord(f"documents:{label}", StepKind.DOCUMENTS, label),
                       StepRecord(f"import:{label}", StepKind.IMPORT, label),
                       StepRecord(f"train:{label}", StepKind.TRAIN, label)]
        unchanged = (not force and record is not None and state != DIVERGED
                     and record.trained_labels.get(label) == model.get("lastTrainedDateTime")
                     and label in observed.secondary_models)
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
              StepRecord("documents:working", StepKind.DOCUMENTS, WORKING),
              StepRecord("import:working", StepKind.IMPORT, WORKING)]
    steps += [StepRecord(f"deploy:{name}", StepKind.DEPLOY, name)
              for name in sorted(observed.primary_deployments)]
    steps.append(StepRecord("verify", StepKind.VERIFY))
    plan.steps = steps
    return plan

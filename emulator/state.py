"""What one Language resource holds: projects, trained models, deployments, jobs, configs.

Plain dataclasses with JSON round-trips, so `--state-dir` can persist the whole resource
as one snapshot and a restarted process (a region coming back) carries on from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from emulator.jobs import Job
from emulator.timefmt import format_date, format_datetime, parse_date, parse_datetime


def _dt(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


def _parse_dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


@dataclass
class Project:
    name: str
    kind: str
    # CreateProjectOptions minus name and kind: storageInputContainerName, settings, multilingual,
    # description, language.
    metadata: dict[str, Any]
    assets: dict[str, Any] | None
    created: datetime
    last_modified: datetime
    last_trained: datetime | None = None
    last_deployed: datetime | None = None

    def exported_metadata(self) -> dict[str, Any]:
        return {"projectKind": self.kind, **self.metadata, "projectName": self.name}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "metadata": self.metadata,
            "assets": self.assets,
            "created": _dt(self.created),
            "lastModified": _dt(self.last_modified),
            "lastTrained": _dt(self.last_trained),
            "lastDeployed": _dt(self.last_deployed),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Project:
        return cls(
            name=data["name"],
            kind=data["kind"],
            metadata=data["metadata"],
            assets=data.get("assets"),
            created=parse_datetime(data["created"]),
            last_modified=parse_datetime(data["lastModified"]),
            last_trained=_parse_dt(data.get("lastTrained")),
            last_deployed=_parse_dt(data.get("lastDeployed")),
        )


@dataclass
class TrainedModel:
    label: str
    model_id: str
    trained: datetime
    training_seconds: int
    config_version: str
    expiration: date
    # The data the model was trained on: {"metadata": {...}, "assets": {...}} (export with
    # trainedModelLabel returns it, :load-snapshot restores it).
    snapshot: dict[str, Any]
    evaluation_summary: dict[str, Any]
    document_results: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "modelId": self.model_id,
            "trained": _dt(self.trained),
            "trainingSeconds": self.training_seconds,
            "configVersion": self.config_version,
            "expiration": format_date(self.expiration),
            "snapshot": self.snapshot,
            "evaluationSummary": self.evaluation_summary,
            "documentResults": self.document_results,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainedModel:
        return cls(
            label=data["label"],
            model_id=data["modelId"],
            trained=parse_datetime(data["trained"]),
            training_seconds=data["trainingSeconds"],
            config_version=data["configVersion"],
            expiration=parse_date(data["expiration"]),
            snapshot=data["snapshot"],
            evaluation_summary=data["evaluationSummary"],
            document_results=data["documentResults"],
        )


@dataclass
class Deployment:
    name: str
    model_label: str
    model_id: str  # pins the artifact: retraining the label changes nothing served
    last_trained: datetime
    last_deployed: datetime
    config_version: str
    expiration: date

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "modelLabel": self.model_label,
            "modelId": self.model_id,
            "lastTrained": _dt(self.last_trained),
            "lastDeployed": _dt(self.last_deployed),
            "configVersion": self.config_version,
            "expiration": format_date(self.expiration),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        return cls(
            name=data["name"],
            model_label=data["modelLabel"],
            model_id=data["modelId"],
            last_trained=parse_datetime(data["lastTrained"]),
            last_deployed=parse_datetime(data["lastDeployed"]),
            config_version=data["configVersion"],
            expiration=parse_date(data["expiration"]),
        )


@dataclass
class TrainingConfig:
    version: str
    model_expiration: date
    offered: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "modelExpiration": format_date(self.model_expiration),
            "offered": self.offered,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingConfig:
        return cls(data["version"], parse_date(data["modelExpiration"]), bool(data.get("offered", True)))


@dataclass
class ResourceState:
    projects: dict[str, Project] = field(default_factory=dict)
    models: dict[str, dict[str, TrainedModel]] = field(default_factory=dict)  # project -> label -> model
    # project -> name -> deployment
    deployments: dict[str, dict[str, Deployment]] = field(default_factory=dict)
    # modelId -> {"projectKind", "model"}: learner artifacts, kept while a model or deployment uses them.
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    training_configs: list[TrainingConfig] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "projects": [p.to_json() for p in self.projects.values()],
            "models": {p: [m.to_json() for m in ms.values()] for p, ms in self.models.items()},
            "deployments": {p: [d.to_json() for d in ds.values()] for p, ds in self.deployments.items()},
            "artifacts": self.artifacts,
            "jobs": [j.to_json() for j in self.jobs.values()],
            "trainingConfigs": [c.to_json() for c in self.training_configs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceState:
        return cls(
            projects={p["name"]: Project.from_json(p) for p in data.get("projects", [])},
            models={
                project: {m["label"]: TrainedModel.from_json(m) for m in models}
                for project, models in data.get("models", {}).items()
            },
            deployments={
                project: {d["name"]: Deployment.from_json(d) for d in deployments}
                for project, deployments in data.get("deployments", {}).items()
            },
            artifacts=data.get("artifacts", {}),
            jobs={j["jobId"]: Job.from_json(j) for j in data.get("jobs", [])},
            training_configs=[TrainingConfig.from_json(c) for c in data.get("trainingConfigs", [])],
        )


class StateFile:
    """One JSON snapshot in --state-dir, replaced atomically on every change."""

    def __init__(self, directory: Path, name: str = "resource-state.json") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / name

    def load(self) -> ResourceState | None:
        if not self.path.exists():
            return None
        return ResourceState.from_json(json.loads(self.path.read_text(encoding="utf-8")))

    def save(self, state: ResourceState) -> None:
        # Write beside the target and rename, so a crash never leaves half a snapshot.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state.to_json(), handle)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

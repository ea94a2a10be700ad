"""What the primary looked like at our last successful sync, per (target, project).

Written by the engine at the end of a successful run; read by drift detection (cheap signals are
compared against it) and by the engine's planner (unchanged content means no job at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import parse_iso, utc_iso
from shared.errors import ConcurrentUpdate
from shared.storage.json_blobs import JsonBlobs


@dataclass(frozen=True)
class DeploymentRecord:
    label: str                          # the trained model label the deployment points at
    last_trained: str                   # the primary model's lastTrainedDateTime, as the service wrote it
    training_config_version: str

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "lastTrainedDateTime": self.last_trained,
                "trainingConfigVersion": self.training_config_version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentRecord:
        return cls(str(data["label"]), str(data["lastTrainedDateTime"]), str(data["trainingConfigVersion"]))


@dataclass(frozen=True)
class SyncRecord:
    target: str
    project: str
    primary_last_modified: str                          # primary lastModifiedDateTime at sync
    deployments: dict[str, DeploymentRecord]            # deployment name -> what it served
    content_hash: str                                   # normalized hash of the working-copy export
    documents_fingerprint: str                          # primary container fingerprint at sync
    secondary_last_modified: str | None                 # secondary lastModifiedDateTime after our import
    snapshots: tuple[str, ...]                          # snapshot blob names the run wrote
    synced_at: datetime
    run_id: str = ""
    project_kind: str = ""
    # model label -> hash of the data it trained on
    label_hashes: dict[str, str] = field(default_factory=dict)
    # The secondary model each label was trained into: label -> primary lastTrainedDateTime it mirrors.
    trained_labels: dict[str, str] = field(default_factory=dict)
    # label -> both models' evaluation scores as verify compared them (shown without another request).
    evaluation: dict[str, Any] = field(default_factory=dict)
    # Conversation projects: label -> the primary's trainingMode, as last seen in one of its training jobs
    # (the model does not record it and the jobs expire after 7 days).
    training_modes: dict[str, str] = field(default_factory=dict)
    # Both sides' project-list timestamps at the sync (verdict.listed_signals): unmoved, the daily check
    # needs no GET of its own for this replica. None: recorded before they were kept.
    primary_signals: dict[str, str] | None = None
    secondary_signals: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "project": self.project, "projectKind": self.project_kind,
            "primaryLastModifiedDateTime": self.primary_last_modified,
            "deployments": {name: record.to_json() for name, record in sorted(self.deployments.items())},
            "contentHash": self.content_hash, "documentsFingerprint": self.documents_fingerprint,
            "secondaryLastModifiedDateTime": self.secondary_last_modified,
            "snapshots": list(self.snapshots), "syncedAt": utc_iso(self.synced_at), "runId": self.run_id,
            "labelHashes": dict(sorted(self.label_hashes.items())),
            "trainedLabels": dict(sorted(self.trained_labels.items())),
            "evaluation": dict(sorted(self.evaluation.items())),
            "trainingModes": dict(sorted(self.training_modes.items())),
            **({"primarySignals": dict(sorted(self.primary_signals.items()))}
               if self.primary_signals is not None else {}),
            **({"secondarySignals": dict(sorted(self.secondary_signals.items()))}
               if self.secondary_signals is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SyncRecord:
        return cls(
            target=data["target"], project=data["project"], project_kind=data.get("projectKind", ""),
            primary_last_modified=data["primaryLastModifiedDateTime"],
            deployments={name: DeploymentRecord.from_json(value)
                         for name, value in data.get("deployments", {}).items()},
            content_hash=data["contentHash"], documents_fingerprint=data["documentsFingerprint"],
            secondary_last_modified=data.get("secondaryLastModifiedDateTime"),
            snapshots=tuple(data.get("snapshots", ())), synced_at=parse_iso(data["syncedAt"]),
            run_id=data.get("runId", ""), label_hashes=dict(data.get("labelHashes", {})),
            trained_labels=dict(data.get("trainedLabels", {})),
            evaluation=dict(data.get("evaluation") or {}),
            training_modes=dict(data.get("trainingModes") or {}),
            primary_signals=_signals(data.get("primarySignals")),
            secondary_signals=_signals(data.get("secondarySignals")),
        )


def _signals(value: Any) -> dict[str, str] | None:
    return {str(name): str(stamp) for name, stamp in value.items()} if isinstance(value, dict) else None


class SyncRecordStore:
    """One blob per (target, project): sync/{target}/{project}.json, written under an ETag condition."""

    def __init__(self, blobs: JsonBlobs) -> None:
        self.blobs = blobs

    @staticmethod
    def blob_name(target: str, project: str) -> str:
        return f"sync/{target}/{project}.json"

    def get(self, target: str, project: str) -> SyncRecord | None:
        found = self.blobs.read(self.blob_name(target, project))
        return SyncRecord.from_json(found.data) if found else None

    def put(self, record: SyncRecord) -> None:
        """Write `record` unless a newer sync (by synced_at) is already stored."""
        name = self.blob_name(record.target, record.project)
        for _ in range(5):
            found = self.blobs.read(name)
            try:
                if found is None:
                    self.blobs.create(name, record.to_json())
                    return
                if parse_iso(found.data["syncedAt"]) > record.synced_at:
                    return
                self.blobs.replace(name, record.to_json(), found.etag)
                return
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"sync record {name} kept changing")

    def all(self, target: str | None = None) -> list[SyncRecord]:
        prefix = f"sync/{target}/" if target else "sync/"
        records = []
        for name in self.blobs.names(prefix):
            found = self.blobs.read(name)
            if found is not None:
                records.append(SyncRecord.from_json(found.data))
        return records

"""The one place a replica's state is decided: `classify(observation) -> (state, reasons)`.

The daily check (shared.replication.drift), `drift`, `GET /api/drift`, `replicate --dry-run` and the
run's plan (shared.replication.plan) all observe the same things and hand them to `classify`, so they
cannot disagree. The planner then adds only *how* to repair (which steps), never *whether*.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.clock import is_later, utc_iso
from shared.replication.sync_record import DeploymentRecord, SyncRecord

# The service's modelId: `model1-20220418T034749-299f45b8114849538c1a750b21b05a94`.
_MODEL_ID = re.compile(r"^(?P<label>[A-Za-z0-9_.-]{1,50})-\d{8}T\d{6}-[0-9a-f]{32}$")


class DriftState(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"  # the primary changed since our last sync (or a run of ours stopped half-way)
    DIVERGED = "diverged"  # someone changed the target after our last import: never overwritten without force
    MISSING = "missing"  # the target has no such project: replicate
    ERROR = "error"  # unknown: the check itself failed (the reason says why)
    # The target is the acting primary during an outage (`promote`): nothing is written to it until
    # failback; the original primary's later edits wait, they are not drift to repair.
    PROMOTED = "promoted"


# States that a replication run resolves (a diverged target needs a person, or force).
NEEDS_REPLICATION = frozenset({DriftState.DRIFTED, DriftState.MISSING})
UNFINISHED_RUN = "an earlier run of ours did not finish"


@dataclass(frozen=True)
class Observation:
    """Both sides of one (target, project), as a few GETs and a container listing show them now."""

    project: str
    target: str
    primary: Mapping[str, Any]                          # the primary's project metadata
    primary_deployments: Mapping[str, DeploymentRecord]  # what each primary deployment serves
    documents_fingerprint: str                          # "" when not listed
    secondary: Mapping[str, Any] | None                 # the target's project metadata, None: absent
    secondary_models: Mapping[str, Mapping[str, Any]]   # label -> the target's model
    secondary_deployments: Mapping[str, Mapping[str, Any]]
    record: SyncRecord | None
    # The target's lastModifiedDateTime values our own imports left (finished or failed runs).
    our_modifications: frozenset[str] = frozenset()
    # A fresh export of the primary differs from what we replicated; None: not compared (yet).
    content_changed: bool | None = None
    # The target is the acting primary (promoted during an outage).
    promoted: bool = False
    # An orchestration's connected CLU projects -> when each was last synced to this target.
    connected_synced: Mapping[str, datetime] = field(default_factory=dict)
    # The target's models and deployments were not listed: its project-list timestamps have not moved
    # since our sync, which left every primary deployment served there (see `moved_signals`).
    serving_vouched: bool = False

    @property
    def kind(self) -> str:
        return str(self.primary.get("projectKind", ""))


def deployment_records(deployments: Iterable[Mapping[str, Any]], models: Iterable[Mapping[str, Any]]
                       ) -> dict[str, DeploymentRecord]:
    """Deployment name -> the label and training it serves.

    A deployment keeps serving the model it was deployed with when its label is retrained: its modelId
    is then no longer the label's, and the label is read from the modelId's shape. A deployment whose
    label no longer exists on the primary serves a deleted model: nothing we can rebuild, left out.
    """
    models = list(models)
    labels = {str(m.get("label")) for m in models}
    label_by_id = {str(m.get("modelId")): str(m.get("label")) for m in models}
    records: dict[str, DeploymentRecord] = {}
    for deployment in deployments:
        name = str(deployment.get("deploymentName") or "")
        model_id = str(deployment.get("modelId", ""))
        label = label_by_id.get(model_id)
        if label is None:
            match = _MODEL_ID.match(model_id)
            label = match["label"] if match and match["label"] in labels else None
        if not name or label is None:
            continue
        records[name] = DeploymentRecord(
            label=label, last_trained=str(deployment.get("lastTrainedDateTime", "")),
            training_config_version=str(deployment.get("modelTrainingConfigVersion", "")))
    return records


# A project's timestamps in its resource's project list: editing, importing, training and deploying move
# them; a deleted deployment or model does not (in the emulator; unverified on the service).
SIGNAL_TIMESTAMPS = ("lastModifiedDateTime", "lastTrainedDateTime", "lastDeployedDateTime")


def listed_signals(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """A project's SIGNAL_TIMESTAMPS as the project list shows them (absent: never trained, deployed)."""
    if metadata is None:
        return {}
    return {name: str(metadata[name]) for name in SIGNAL_TIMESTAMPS if metadata.get(name)}


def moved_signals(record: SyncRecord | None, primary: Mapping[str, Any] | None,
                  secondary: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Why the project lists alone cannot show a replica unchanged since our last sync; () when they can.

    Empty means both sides' timestamps are exactly as our last sync left them: the primary's deployments
    are the recorded ones and the target still serves them, so `classify` may decide from the project
    lists, the record and the document listing without a GET per project. Anything else needs the
    per-project observation (models and deployments listed on both sides).
    """
    if record is None:
        return ("no sync record",)
    if record.primary_signals is None or record.secondary_signals is None:
        return ("the last sync recorded no project-list timestamps",)
    if primary is None or secondary is None:
        return ("the project is missing on a side",)
    moved = [f"primary {name}" for name in SIGNAL_TIMESTAMPS
             if listed_signals(primary).get(name) != record.primary_signals.get(name)]
    moved += [f"target {name}" for name in SIGNAL_TIMESTAMPS
              if listed_signals(secondary).get(name) != record.secondary_signals.get(name)]
    return tuple(moved)


def needs_export(observation: Observation) -> bool:
    """Only the primary's timestamp moved: a fresh export's content hash must decide (a save without
    changes moves it too, and must not cost a billed training run)."""
    if observation.content_changed is not None or observation.record is None:
        return False
    if not is_later(_text(observation.primary.get("lastModifiedDateTime")),
                  observation.record.primary_last_modified):
        return False
    state, _ = classify(observation)
    return state is DriftState.IN_SYNC


def settle(observation: Observation, content_hash: Callable[[str], str]) -> Observation:
    """The observation, with a fresh export compared when the cheap signals cannot decide."""
    if not needs_export(observation):
        return observation
    assert observation.record is not None
    changed = content_hash(observation.project) != observation.record.content_hash
    return replace(observation, content_changed=changed)


def classify(observation: Observation) -> tuple[DriftState, tuple[str, ...]]:
    """The state of one replica and why. The only place a state is decided."""
    record = observation.record
    secondary = observation.secondary
    project = observation.project
    if observation.promoted:
        return DriftState.PROMOTED, (promoted_reason(observation.target),)
    if secondary is None:
        return DriftState.MISSING, (f"the target has no project {project!r}",)
    secondary_modified = _text(secondary.get("lastModifiedDateTime"))
    ours = secondary_modified is not None and secondary_modified in observation.our_modifications
    changes: list[str] = []
    if record is None:
        if not ours:
            # Someone else's project of the same name: replacing it unasked could destroy their work.
            return DriftState.DIVERGED, (
                "the target already has a project of this name that we never replicated: it is left alone "
                "unless replication is forced (which backs up its assets first)",)
        return DriftState.DRIFTED, (f"{UNFINISHED_RUN} (the target holds our import, never synced)",)
    diverged = None
    if is_later(secondary_modified, record.secondary_last_modified) or (
            record.secondary_last_modified is None and secondary_modified):
        if ours:
            changes.append(f"{UNFINISHED_RUN}: the target holds our import of {secondary_modified}")
        elif record.secondary_last_modified is not None:
            diverged = (f"the target was modified at {secondary_modified}, after our last import "
                        f"({record.secondary_last_modified}): someone edited it; it is left alone unless "
                        "replication is forced")
    changes += _deployment_changes(record.deployments, observation.primary_deployments)
    fingerprint = observation.documents_fingerprint
    if fingerprint and fingerprint != record.documents_fingerprint:
        container = observation.primary.get("storageInputContainerName", "")
        changes.append(f"the documents in container {container!r} changed (text edited, added or removed in "
                       "blob storage)")
    if record.project_kind and record.project_kind != observation.kind:
        changes.append(f"project kind changed from {record.project_kind} to {observation.kind}")
    if not observation.serving_vouched:
        changes += _target_serving(observation)
    changes += connected_changes(observation)
    primary_modified = _text(observation.primary.get("lastModifiedDateTime"))
    notes: list[str] = []
    if is_later(primary_modified, record.primary_last_modified):
        touched = (f"the primary was modified at {primary_modified} "
                   f"(last sync saw {record.primary_last_modified})")
        if changes or diverged:
            changes.insert(0, touched)
        elif observation.content_changed:
            changes.insert(0, f"{touched}, and a fresh export's labels or settings differ")
        elif observation.content_changed is False:
            notes.append(f"{touched}, but a fresh export has the content we replicated")
        # content_changed None: undecided; settle() exports and asks again.
    if diverged:
        return DriftState.DIVERGED, (diverged, *changes)
    if changes:
        return DriftState.DRIFTED, tuple(changes)
    return DriftState.IN_SYNC, tuple(notes)


class Protection(StrEnum):
    """Whether a replica protects its project now: derived from its DriftState and recovery point age."""

    PROTECTED = "protected"
    AT_RISK = "at_risk"
    NOT_PROTECTED = "not_protected"


def protection(state: DriftState, age: timedelta | None, objective: timedelta, *, ever_synced: bool,
               unreplicated_dependencies: Sequence[str] = ()) -> tuple[Protection, str]:
    """Whether one replica protects its project, and why (the status page's per-replica answer).

    Not protected: nothing of ours the target could serve (no replica, or never synced). At risk: it could
    serve, but not what the primary serves now, or we cannot tell (drifted, diverged, promoted, error, or
    a recovery point older than the objective). Protected: in sync within the objective.
    """
    if state is DriftState.MISSING:
        return Protection.NOT_PROTECTED, "the target has no replica"
    if not ever_synced and state is not DriftState.PROMOTED:
        return Protection.NOT_PROTECTED, "never synced: the target holds nothing replicated"
    if state is DriftState.PROMOTED:
        return Protection.AT_RISK, "the target is the acting primary: nothing protects it until failback"
    if state is DriftState.ERROR:
        return Protection.AT_RISK, "the last check could not decide the state"
    if state is DriftState.DIVERGED:
        return Protection.AT_RISK, "the target was edited after our last import"
    if state is DriftState.DRIFTED:
        return Protection.AT_RISK, "the target serves an older version of the primary"
    if age is not None and age > objective:
        return Protection.AT_RISK, "the recovery point is older than its objective"
    if unreplicated_dependencies:
        # In sync, but after a failover it would route to a CLU project the target never received.
        names = ", ".join(repr(name) for name in unreplicated_dependencies)
        return Protection.AT_RISK, (f"it routes to CLU project {names}, which REPLICATED_PROJECTS does not "
                                    "replicate")
    return Protection.PROTECTED, "in sync within the recovery point objective"


class FailbackChange(StrEnum):
    """Which side of a promoted project changed since our last sync, as failback sees it."""

    NONE = "unchanged"      # neither: back to normal direction with no import and no training
    ACTING = "acting"       # edited on the acting primary during the outage: replicated back
    ORIGINAL = "original"   # only the original primary (the recovery-point window): replication brings it
    BOTH = "both"           # both: nothing is overwritten without an explicit choice (--prefer)


def ignoring_target_edits(observation: Observation) -> Observation:
    """The observation as if the target had not been edited since our last import, and not promoted:
    what `classify` then finds is the source side's change alone."""
    record = observation.record
    secondary = observation.secondary
    if record is None or secondary is None:
        return replace(observation, promoted=False)
    masked = {**secondary, "lastModifiedDateTime": record.secondary_last_modified}
    return replace(observation, secondary=masked, promoted=False)


def failback_change(forward: Observation, reverse: Observation) -> tuple[FailbackChange, tuple[str, ...]]:
    """Decide failback for one project from both directions, each settled and `ignoring_target_edits`.

    `forward`: the original primary -> the acting primary, against our last sync record;
    `reverse`: the acting primary -> the original primary, against the baseline recorded at promotion.
    The same `classify` decides each side, so failback and the daily check cannot disagree.
    """
    original_state, original = classify(forward)
    acting_state, acting = classify(reverse)
    original_changed = original_state is not DriftState.IN_SYNC
    acting_changed = acting_state is not DriftState.IN_SYNC
    reasons = (*(f"acting primary: {reason}" for reason in acting if acting_changed),
               *(f"original primary: {reason}" for reason in original if original_changed))
    if original_changed and acting_changed:
        return FailbackChange.BOTH, reasons
    if acting_changed:
        return FailbackChange.ACTING, reasons
    if original_changed:
        return FailbackChange.ORIGINAL, reasons
    return FailbackChange.NONE, ()


def promoted_reason(target: str) -> str:
    """Why a promoted target is left alone (also said when the primary cannot even be observed)."""
    return (f"target {target!r} is the acting primary (promoted): nothing is written to it until failback; "
            "the primary's changes wait until then")


def connected_changes(observation: Observation) -> list[str]:
    """An orchestration's connected CLU projects replicated after its own last sync: training it reads
    their utterances, so the target's orchestration model is stale (the planner re-trains it)."""
    record = observation.record
    if record is None:
        return []
    return [f"connected CLU project {name!r} was replicated to the target at {utc_iso(when)}, after this "
            f"orchestration's last sync ({utc_iso(record.synced_at)}): its training reads that project"
            for name, when in sorted(observation.connected_synced.items()) if when > record.synced_at]


def _target_serving(observation: Observation) -> list[str]:
    """Each primary deployment exists on the target and serves the target's model of the same label."""
    reasons = []
    for name, deployment in sorted(observation.primary_deployments.items()):
        model = observation.secondary_models.get(deployment.label)
        served = observation.secondary_deployments.get(name)
        if model is None or served is None or served.get("modelId") != model.get("modelId"):
            reasons.append(f"the target's deployment {name!r} does not serve model {deployment.label!r}")
    return reasons


def _deployment_changes(recorded: Mapping[str, DeploymentRecord],
                        current: Mapping[str, DeploymentRecord]) -> list[str]:
    """Added, removed, re-pointed or redeployed deployments.

    modelId is never compared: it differs between resources even for the same training data. A label
    retrained without a redeploy changes nothing served, so it is no change here.
    """
    changes: list[str] = []
    for name in sorted(set(recorded) | set(current)):
        before, after = recorded.get(name), current.get(name)
        if before is None and after is not None:
            changes.append(f"deployment {name!r} was added on the primary (model {after.label!r})")
        elif after is None and before is not None:
            changes.append(f"deployment {name!r} was removed from the primary")
        elif before is not None and after is not None:
            if before.label != after.label:
                changes.append(f"deployment {name!r} now serves model {after.label!r} (was {before.label!r})")
            elif after.last_trained != before.last_trained:
                changes.append(f"model {after.label!r} behind deployment {name!r} was retrained and "
                               f"redeployed at {after.last_trained} (last sync saw {before.last_trained})")
            elif after.training_config_version != before.training_config_version:
                changes.append(f"model {after.label!r} behind deployment {name!r} now uses training config "
                               f"{after.training_config_version} (was {before.training_config_version})")
    return changes


def _text(value: Any) -> str | None:
    return str(value) if value else None

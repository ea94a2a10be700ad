"""Point-in-time restore: import a chosen snapshot into a project on the primary or any target.

A restore is a durable run of the engine (run kind "restore"): the same manifest, per-(target, project)
run lock, fencing, scheduler, crash reconciliation, cancel and re-drive as replication. Its steps:

1. `check-snapshot`: the snapshot's sha256, size and content hash are verified and it is parsed and
   checked (kind matches the target project's, documents named) before anything is touched;
2. `backup`: the target project's current assets go to a snapshot of their own (if it exists), so a
   restore is itself undoable;
3. `documents:restore`: the documents the snapshot names are present in the target's container
   (copied from the primary's container for a secondary; only checked on the primary);
4. `import:restore`: the snapshot is imported (under another project name if asked);
5. optionally `train:<label>` (training config fallback as in replication) and `deploy:<name>`.

Rollback without an import: when the snapshot is a model's own data and that very model (same modelId,
`hasSnapshot: true`) is still on the target, steps 3-5 are `load-snapshot:<label>` (the service makes
the model's training data the working copy again) and `deploy:<name>` of that model: no import, no
training. Needs `:load-snapshot` (2023-04-01; not on 2022-05-01).

The target is "primary" or a configured target's name. Restoring to a secondary notes the target's new
lastModifiedDateTime in its sync record, so our own restore is not reported as someone else's edit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from azure.storage.blob import BlobServiceClient

from shared.api_versions import ApiVersion, TextApiVersion
from shared.clock import Clock
from shared.errors import InvalidRequest, MissingParameter
from shared.language.authoring import AuthoringClient
from shared.language.export_format import ExportedProject, to_bytes
from shared.language.export_stream import ExportSummary
from shared.language.project_kinds import item_noun_of, kind_of
from shared.language.runtime import RuntimeClient
from shared.recovery.catalogue import SnapshotCatalogue
from shared.replication.run import TargetClients
from shared.replication.step_kinds import StepAction, StepKind, cancellable, fits_a_request
from shared.replication.steps import Side, StepMachine, StepOptions
from shared.replication.sync_record import SyncRecordStore
from shared.replication.training_budget import TrainingBudget
from shared.runs.kinds import RUN_KIND_KEY
from shared.runs.lock import RunLock
from shared.runs.manifest import PENDING, RunManifest, StepRecord, check_name, new_run_id
from shared.runs.steps import SliceHandle, StepFailed
from shared.storage.documents import copy_documents, missing_documents
from shared.storage.snapshots import SnapshotCorrupt, SnapshotInfo, SnapshotStore

logger = logging.getLogger(__name__)

RESTORE = "restore"
PRIMARY = "primary"
RESTORE_LABEL = ""   # what the restore steps pass to `_snapshot_of` (which ignores it)


@dataclass(frozen=True)
class RestoreRequest:
    snapshot: str                           # a snapshot name, unique prefix, or Project@latest
    target: str = PRIMARY                   # "primary" or a configured target's name
    project: str | None = None              # default: the snapshot's project
    train: bool = False
    model_label: str | None = None          # default: the snapshot's trained model label
    deployments: Sequence[str] | None = None  # default when training: those serving the label now
    training_config_version: str | None = None  # default: the label's current one, else the newest offered

    def to_json(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "target": self.target, "project": self.project,
                "train": self.train, "modelLabel": self.model_label,
                "deployments": list(self.deployments) if self.deployments is not None else None,
                "trainingConfigVersion": self.training_config_version}


@dataclass(frozen=True)
class RestoreStart:
    run_id: str
    project: str
    target: str
    snapshot: str
    steps: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "project": self.project, "target": self.target,
                "snapshot": self.snapshot, "status": "started", "steps": self.steps}


class RestoreHost(Protocol):
    """What restore needs of the engine: the facade (`shared.engine`) provides it; recovery sits below."""

    @property
    def primary(self) -> AuthoringClient: ...
    @property
    def primary_runtime(self) -> RuntimeClient: ...
    @property
    def primary_documents(self) -> BlobServiceClient: ...
    @property
    def targets(self) -> Mapping[str, TargetClients]: ...
    @property
    def snapshots(self) -> SnapshotStore: ...
    @property
    def trainings(self) -> TrainingBudget: ...
    @property
    def sync_records(self) -> SyncRecordStore: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def lock(self) -> RunLock: ...
    @property
    def step_options(self) -> StepOptions: ...
    @property
    def api_version(self) -> TextApiVersion: ...

    def api_version_for(self, kind: str) -> ApiVersion:
        """The api-version of the route family serving `kind`."""
        ...

    def launch(self, manifest: RunManifest) -> None:
        """Store a new run whose run lock the caller holds, and schedule its first slice."""
        ...


class RestoreService:
    """Starts restore runs; the engine executes them like any run (advance / LocalRunner / queue)."""

    def __init__(self, host: RestoreHost) -> None:
        self.host = host
        self.catalogue = SnapshotCatalogue(host.snapshots)

    def start(self, request: RestoreRequest, *, trigger: str = "manual") -> RestoreStart:
        host = self.host
        if request.target != PRIMARY and request.target not in host.targets:
            raise InvalidRequest(f"unknown target {request.target!r}; use primary or one of "
                                 f"{sorted(host.targets)}")
        info = self.catalogue.resolve(request.snapshot)
        # Verified (sha256, size, content hash, parse) before anything is planned; again before use.
        export = host.snapshots.validate(info.name)
        project = check_name("project", request.project or info.project)
        kind = kind_of(export.project_kind)
        if len(project) > kind.max_name_length:
            raise InvalidRequest(f"a {kind.value} project's name has at most {kind.max_name_length} "
                                 "characters")
        side = side_of(host, request.target, None)
        side.authoring.note_kind(project, kind)   # a new name: no lookup in both route families
        label = request.model_label or info.trained_model_label
        if request.train and not label:
            snapshot = info.name.replace("{", "{{").replace("}", "}}")
            raise MissingParameter("model_label", f"snapshot {snapshot} is a working copy without a trained "
                                   "model label: give {parameter} to train")
        if label:
            check_name("model label", label)
        existing = side.authoring.get_project(project)
        deployments: list[str] = []
        current_config = ""
        loadable = self._loadable_model(side, info, project, label) if existing is not None else None
        if loadable is not None and label:
            if request.deployments is None:
                deployments = sorted(str(d["deploymentName"])
                                     for d in side.authoring.list_deployments(project)
                                     if d.get("modelId") == loadable)
            deployments = [check_name("deployment", d) for d in (request.deployments or deployments)]
        elif request.train and label:
            if existing is not None:
                models = {str(m["label"]): m for m in side.authoring.list_models(project)}
                current_config = str((models.get(label) or {}).get("modelTrainingConfigVersion") or "")
                if request.deployments is None:
                    model_id = (models.get(label) or {}).get("modelId")
                    deployments = sorted(
                        str(d["deploymentName"]) for d in side.authoring.list_deployments(project)
                        if model_id is not None and d.get("modelId") == model_id)
            deployments = [check_name("deployment", d) for d in (request.deployments or deployments)]
        elif request.deployments:
            raise InvalidRequest("deployments are redeployed only after training: add train")
        steps = [StepRecord("check-snapshot", StepKind.CHECK_SNAPSHOT)]
        if existing is not None:
            steps.append(StepRecord("backup", StepKind.BACKUP))
        if loadable is not None and label:
            steps.append(StepRecord(f"load-snapshot:{label}", StepKind.LOAD_SNAPSHOT, label, detail={
                "why": f"model {label} ({loadable}) is still on {request.target} with its snapshot: its "
                       "training data is loaded back, with no import and no training"}))
            steps += [StepRecord(f"deploy:{name}", StepKind.DEPLOY, name) for name in deployments]
        else:
            # Conversation projects' utterances are in the snapshot itself: no documents to bring back.
            if kind.has_documents_container:
                steps.append(StepRecord("documents:restore", StepKind.RESTORE_DOCUMENTS))
            steps.append(StepRecord("import:restore", StepKind.RESTORE_IMPORT))
        if request.train and label and loadable is None:
            steps.append(StepRecord(f"train:{label}", StepKind.TRAIN, label))
            steps += [StepRecord(f"deploy:{name}", StepKind.DEPLOY, name) for name in deployments]
        now = host.clock.now()
        run_id = new_run_id(now)
        acquired = host.lock.acquire(request.target, project, run_id)   # RunConflict names the active run
        manifest = RunManifest(
            run_id=run_id, project=project, target=request.target, trigger=trigger, force=True,
            created_at=now, updated_at=now, status=PENDING, steps=steps,
            reasons=[f"restore {info.name} into {project} on {request.target}"], progress_at=now)
        if loadable is not None:
            manifest.reasons.append(f"by :load-snapshot of model {label}: no import, no training")
        if acquired.superseded_run_id:
            manifest.warnings.append(f"took over from run {acquired.superseded_run_id}")
        manifest.context = {
            RUN_KIND_KEY: RESTORE,
            "request": request.to_json(),
            "restoreSnapshot": info.name,
            "sourceProject": info.project,
            "sourceContainer": export.container,
            "projectExisted": existing is not None,
            "loadedSnapshot": loadable is not None,
            # The shapes the shared train and deploy steps read.
            "observed": {
                "projectKind": info.project_kind,
                "models": {label: {"trainingConfigVersion": request.training_config_version or current_config}
                           for label in [label] if label},
                "deployments": {name: {"label": label} for name in deployments},
                # A conversation project's trainingMode, as the syncs of the snapshot's project saw it.
                "trainingModes": recorded_training_modes(host, info.project),
            },
        }
        try:
            host.launch(manifest)
        except BaseException:
            host.lock.release(request.target, project, run_id)
            raise
        logger.info("restore run %s started: %s -> %s on %s", run_id, info.name, project, request.target)
        return RestoreStart(run_id, project, request.target, info.name, [s.name for s in steps])


    def _loadable_model(self, side: Side, info: SnapshotInfo, project: str, label: str | None) -> str | None:
        """The modelId to load back when the snapshot is the data of a model still on the target, unchanged
        and with its snapshot, under the same project; None when the restore must import."""
        if not (label and info.model_id and project == info.project
                and self.host.api_version_for(info.project_kind).supports_load_snapshot):
            return None
        model = side.authoring.get_model(project, label)
        if not model or not model.get("hasSnapshot") or model.get("modelId") != info.model_id:
            return None
        return info.model_id


def recorded_training_modes(host: RestoreHost, project: str) -> dict[str, str]:
    """label -> the primary's trainingMode, from the sync records of `project` on every target."""
    modes: dict[str, str] = {}
    for target in sorted(host.targets):
        record = host.sync_records.get(target, project)
        if record is not None:
            modes.update(record.training_modes)
    return modes


def side_of(host: RestoreHost, target: str, container: str | None) -> Side:
    """The Language resource and document container of the primary or of a target ("" as `container`:
    a conversation project, which has none)."""
    if target == PRIMARY:
        documents = host.primary_documents.get_container_client(container or "unused")
        return Side(host.primary, host.primary_runtime, None if container == "" else documents)
    clients = host.targets[target]
    return Side(clients.authoring, clients.runtime,
                None if container == "" else
                clients.documents.get_container_client(clients.container_for(container or "unused")))


class RestoreMachine(StepMachine):
    """The step machine of a restore run: its own steps, and the replication steps for the rest."""

    def __init__(self, host: RestoreHost, manifest: RunManifest, source_container: str) -> None:
        primary = side_of(host, PRIMARY, source_container)
        target = side_of(host, manifest.target, source_container)
        super().__init__(primary, target, host.snapshots, host.trainings, host.clock,
                         host.step_options)
        self.restores_primary = manifest.target == PRIMARY

    def _snapshot_of(self, slice_: SliceHandle, label: str) -> tuple[str, ExportSummary]:
        """The restored snapshot, whatever the label: the shared train step asks by label."""
        name = str(slice_.manifest.context["restoreSnapshot"])
        try:
            return name, self.snapshots.summarise(name)
        except SnapshotCorrupt as corrupt:
            raise StepFailed("SnapshotCorrupt", f"refusing to restore: {corrupt.message}") from corrupt

    def _restored_export(self, slice_: SliceHandle) -> tuple[str, ExportedProject]:
        """The restored snapshot parsed whole, for the import body that renames the project."""
        name = str(slice_.manifest.context["restoreSnapshot"])
        try:
            return name, self.snapshots.validate(name)
        except SnapshotCorrupt as corrupt:
            raise StepFailed("SnapshotCorrupt", f"refusing to restore: {corrupt.message}") from corrupt

    def _evaluation_options(self, slice_: SliceHandle, step: StepRecord) -> dict[str, Any] | None:
        """A restore trains on the snapshot as it is: the primary (maybe down) has no say in its split."""
        return self._split_of_export(slice_, step)

    def _choose_config(self, slice_: SliceHandle, step: StepRecord) -> None:
        observed = slice_.manifest.context["observed"]
        assert step.label
        if "trainingConfigVersion" not in step.detail and not observed["models"][step.label][
                "trainingConfigVersion"]:
            offered = self.target.authoring.training_config_versions(str(observed["projectKind"]))
            versions = sorted(str(v["trainingConfigVersion"]) for v in offered)
            if not versions:
                raise StepFailed("NoTrainingConfig", f"{step.name}: the target offers no training config")
            step.detail["trainingConfigVersion"] = versions[-1]
            return
        super()._choose_config(slice_, step)

    # -- restore steps ---------------------------------------------------------------------------------

    def _check_snapshot(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        name, export = self._snapshot_of(slice_, RESTORE_LABEL)
        step.detail.update(snapshot=name, contentHash=export.content_hash, sha256Verified=True,
                           **export.counts())
        if export.document_count == 0:
            noun = item_noun_of(export.project_kind)
            raise StepFailed("UnsafeExport", f"snapshot {name} names no {noun}s: refusing to restore it")
        current = self.target.authoring.get_project(slice_.manifest.project)
        if current is not None and current.get("projectKind") != export.project_kind:
            raise StepFailed("UnsafeExport", (
                f"snapshot {name} is a {export.project_kind} project; {slice_.manifest.project} on "
                f"{slice_.manifest.target} is {current.get('projectKind')}: refusing to restore"))
        slice_.manifest.context["observed"]["projectKind"] = export.project_kind
        return None

    def _restore_documents(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        _, export = self._snapshot_of(slice_, RESTORE_LABEL)
        locations = export.document_locations()
        if self.primary.documents is None or self.target.documents is None:
            raise StepFailed("NoDocumentsContainer", f"{step.name}: a {export.project_kind} project has no "
                             "documents container")
        absent = missing_documents(self.target.documents, locations)
        if absent and not self.restores_primary:
            # Only what is missing is fetched: restoring a target must work while the primary is down.
            report = copy_documents(self.primary.documents, self.target.documents, absent)
            step.detail.update(report.to_json())
            absent = missing_documents(self.target.documents, locations)
        step.detail["container"] = self.target.documents.container_name
        if absent:
            where = "the primary's" if self.restores_primary else "the primary's and the target's"
            raise StepFailed("DocumentsMissing", (
                f"{step.name}: {len(absent)} document(s) the snapshot names are missing from {where} "
                f"container {self.target.documents.container_name!r}, e.g. {absent[0]!r} (a snapshot holds "
                "labels, not texts: put the texts back, then re-drive this step)"))
        return None

    def _restore_import(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = slice_.manifest.project
        client = self.target.authoring
        if step.job_url is None:
            snapshot, export = self._restored_export(slice_)
            container = self.target.documents.container_name if self.target.documents is not None else ""
            body = import_body(export, project, container)

            def before() -> None:
                current = client.get_project(project)
                step.detail["modifiedBefore"] = current.get("lastModifiedDateTime") if current else None

            def reconcile() -> bool | None:
                # Import is not billed and the same bytes give the same project: when in doubt, again.
                return None

            step.detail["snapshot"] = snapshot
            return self._submit(slice_, step, lambda: client.start_import(project, body,
                                                                          kind=export.project_kind),
                                reconcile, before)
        _, wait = self._succeeded_job(client, step)
        return wait


    def _load_snapshot(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = slice_.manifest.project
        client = self.target.authoring
        assert step.label
        label = step.label
        if step.job_url is None:
            # Not billed, and loading the same snapshot twice leaves the same working copy: when in doubt,
            # load again.
            return self._submit(slice_, step, lambda: client.start_load_snapshot(project, label),
                                reconcile=lambda: None)
        _, wait = self._succeeded_job(client, step)
        return wait


# -- the restore step kinds (the machine runs the replication kinds too) -------------------------------


class CheckSnapshot(StepAction[RestoreMachine]):
    kind = StepKind.CHECK_SNAPSHOT
    machine = RestoreMachine

    @classmethod
    def run(cls, machine: RestoreMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._check_snapshot(slice_, step)


class RestoreDocuments(StepAction[RestoreMachine]):
    kind = StepKind.RESTORE_DOCUMENTS
    machine = RestoreMachine
    fits_a_request = False   # one copy of any length: queue only

    @classmethod
    def run(cls, machine: RestoreMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._restore_documents(slice_, step)


class RestoreImport(StepAction[RestoreMachine]):
    kind = StepKind.RESTORE_IMPORT
    machine = RestoreMachine

    @classmethod
    def run(cls, machine: RestoreMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._restore_import(slice_, step)


class LoadSnapshot(StepAction[RestoreMachine]):
    kind = StepKind.LOAD_SNAPSHOT
    machine = RestoreMachine

    @classmethod
    def run(cls, machine: RestoreMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._load_snapshot(slice_, step)


def import_body(export: ExportedProject, project: str, container: str) -> bytes:
    """The snapshot as an import body for `project` whose documents live in `container`."""
    body = json.loads(export.with_container(container))
    body["metadata"]["projectName"] = project
    return to_bytes(body)


class RestoreRun:
    """The "restore" run kind, registered with the run executor like replication."""

    name = RESTORE

    def __init__(self, host: RestoreHost) -> None:
        self.host = host

    def machine(self, manifest: RunManifest) -> StepMachine:
        return RestoreMachine(self.host, manifest, str(manifest.context["sourceContainer"]))

    def fits_a_request(self, step: StepRecord) -> bool:
        return fits_a_request(step.kind)

    def cancel_job(self, manifest: RunManifest, step: StepRecord) -> None:
        if cancellable(step.kind) and step.job_url:
            # A restore may target the primary itself, which is no entry of the targets.
            side_of(self.host, manifest.target, None).authoring.cancel_training(step.job_url)

    def finish(self, manifest: RunManifest) -> None:
        host = self.host
        backup = next((s.detail.get("snapshot") for s in manifest.steps if s.kind == StepKind.BACKUP), None)
        manifest.context["result"] = {"restored": manifest.context["restoreSnapshot"], "backup": backup,
                                      "trained": [s.label for s in manifest.steps
                                                  if s.kind == StepKind.TRAIN],
                                      "loadedSnapshot": bool(manifest.context.get("loadedSnapshot"))}
        if manifest.target == PRIMARY:
            return
        record = host.sync_records.get(manifest.target, manifest.project)
        current = host.targets[manifest.target].authoring.get_project(manifest.project)
        if record is not None and current is not None:
            # Our own import moved the target's timestamp: not someone else's edit (divergence).
            modified = str(current["lastModifiedDateTime"])
            host.sync_records.put(replace(record, secondary_last_modified=modified))
            manifest.warnings.append(
                f"{manifest.project} on {manifest.target} now serves the restored snapshot; the next drift "
                "check replicates the primary over it unless the primary was restored too")


__all__ = ["PRIMARY", "RestoreHost", "RestoreRequest", "RestoreRun", "RestoreService", "RestoreStart",
           "import_body"]

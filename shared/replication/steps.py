"""The step machine: what one slice does for each kind of step.

Each kind of step is one registered class (`StepAction`, see `shared.replication.step_kinds`); the
replication kinds are defined at the end of this module and delegate to the machine's methods. Adding a
kind is one class and one plan line.

Each call does one bounded piece of work for the run's current step (a submit, or one poll, or one
copy) and returns either None (the step ended: succeeded, skipped) or the delay before the next slice.

Billed-job safety: before any POST the step's intent is checkpointed; after the 202 the job URL is
checkpointed. A step found with an intent and no URL reconciles first (looks for the job it may have
started, or for the effect it may have had) and submits again only when nothing is found.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, cast

from azure.storage.blob import ContainerClient

from shared.clock import Clock, is_later
from shared.language.authoring import AuthoringClient, JobFailed, JobStatus, LanguageApiError
from shared.language.export_format import UnsafeExport
from shared.language.export_stream import ExportSummary, write_import_body
from shared.language.project_kinds import count_items
from shared.language.retry import RetryLater, SubmissionOutcomeUnknown
from shared.language.runtime import (
    RuntimeClient,
    SampleDocument,
    conversation_predictions,
    job_finished,
    predictions,
)
from shared.replication.agreement import agreement_threshold, measure_agreement, passes, sample_documents
from shared.replication.evaluation import Parity, compare, read_evaluation, read_test_set
from shared.replication.plan import WORKING
from shared.replication.step_kinds import StepAction, StepKind, registered_kinds, step_action
from shared.replication.training_budget import TrainingBudget
from shared.replication.training_mode import has_training_modes, training_mode_for
from shared.runs.manifest import PENDING, RUNNING, SKIPPED, SUCCEEDED, StepRecord
from shared.runs.steps import SliceHandle, StepFailed, retire_job
from shared.storage.documents import copy_documents, missing_documents
from shared.storage.snapshots import SnapshotStore

logger = logging.getLogger(__name__)
# A rewritten import body stays in memory up to this size, then goes to a temporary file.
REWRITE_IN_MEMORY = 1024 * 1024

# The steps that bring one label's data across (skipped when the import drops trained models).
DATA_STEPS = frozenset({StepKind.EXPORT, StepKind.DOCUMENTS, StepKind.IMPORT, StepKind.TRAIN})
# What executes one slice of a step: the delay before the next slice, or None when the step is done.
Action = Callable[[SliceHandle, StepRecord], timedelta | None]


@dataclass(frozen=True)
class StepOptions:
    poll_initial: timedelta = timedelta(seconds=10)
    poll_max: timedelta = timedelta(minutes=2)
    reconcile_retry: timedelta = timedelta(seconds=15)
    verify_sample: int = 5
    agreement_threshold: float = 1.0
    # When the two models' test sets differ (the service drew a new split), they learnt from other documents.
    agreement_threshold_resampled: float = 0.8
    evaluation_tolerance: float = 0.02
    training_split: str = "exact"   # exact: rebuild the primary's split; service: send its evaluationOptions
    default_training_mode: str = "standard"   # a conversation project's, when the primary's is unknown
    max_retryable_failures: int = 1   # a job failed with "Unspecified ... retry" is submitted once more


@dataclass
class Side:
    """One Language resource and its document container (None: conversation projects have none)."""

    authoring: AuthoringClient
    runtime: RuntimeClient
    documents: ContainerClient | None


class StepMachine:
    def __init__(self, primary: Side, target: Side, snapshots: SnapshotStore, trainings: TrainingBudget,
                 clock: Clock, options: StepOptions) -> None:
        self.primary = primary
        self.target = target
        self.snapshots = snapshots
        self.trainings = trainings
        self.clock = clock
        self.options = options

    def kinds(self) -> frozenset[str]:
        """The registered step kinds this machine runs (a kind's class names its machine)."""
        return frozenset(kind for kind, action in registered_kinds().items()
                         if isinstance(self, action.machine))

    def run(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        if step.started_at is None:
            step.started_at = self.clock.now()
        step.status = RUNNING
        action = step_action(step.kind)
        if action is None or not isinstance(self, action.machine):
            raise StepFailed("UnknownStepKind",
                             f"{step.name}: this run kind has no step of kind {step.kind!r}")
        try:
            delay = action.run(self, slice_, step)
        except RetryLater as later:
            step.detail["lastRetry"] = later.reason
            return timedelta(seconds=later.delay)
        if delay is None and step.status == RUNNING:
            self._succeed(step)
        return delay

    def _succeed(self, step: StepRecord) -> None:
        step.status = SUCCEEDED
        step.finished_at = self.clock.now()

    # -- shared mechanics ------------------------------------------------------------------------------

    def _submit(self, slice_: SliceHandle, step: StepRecord, post: Callable[[], str],
                reconcile: Callable[[], str | bool | None], before: Callable[[], None] | None = None
                ) -> timedelta | None:
        """Submit once, safely. `reconcile` returns a job URL found, True if the effect is already
        there, or None when nothing shows the earlier submission took effect."""
        if step.intent_at is not None and step.job_url is None:
            found = reconcile()
            if found is True:
                step.detail["reconciled"] = "the effect was already in place"
                return None
            if isinstance(found, str):
                step.detail["reconciled"] = "adopted the job submitted before a crash"
                slice_.record_job_url(step, found)
                return timedelta(0)
            logger.info("step %s: intent found, no job: submitting", step.name)
        slice_.hook("before-intent", step)
        if before is not None:
            before()
        step.intent_at = self.clock.now()
        step.attempts += 1
        slice_.checkpoint()
        slice_.hook("after-intent", step)
        try:
            url = post()
        except SubmissionOutcomeUnknown as unknown:
            # It may have been accepted: keep the intent, reconcile on the next slice.
            step.detail["lastSubmit"] = unknown.reason
            slice_.checkpoint()
            return self.options.reconcile_retry
        except RetryLater as later:
            # Throttled or out of budget before it was accepted: nothing started.
            step.intent_at = None
            step.attempts -= 1
            step.detail["lastRetry"] = later.reason
            slice_.checkpoint()
            return timedelta(seconds=later.delay)
        except LanguageApiError as error:
            if error.status == 409:
                step.detail["lastSubmit"] = f"{error.service_code}: {error.service_message}"
                slice_.checkpoint()
                return self.options.reconcile_retry
            raise StepFailed(error.service_code, f"{step.name}: the service refused: {error.service_message}"
                             ) from error
        slice_.hook("after-submit", step)
        slice_.record_job_url(step, url)
        slice_.hook("after-job-url", step)
        return timedelta(0)

    def _poll(self, client: AuthoringClient, step: StepRecord) -> tuple[JobStatus | None, timedelta]:
        assert step.job_url is not None
        try:
            status = client.get_job(step.job_url)
        except LanguageApiError as error:
            if error.status == 404:
                # The job is gone (expired, or the service lost it): look for its effect again.
                step.detail["lostJob"] = step.job_url.split("?", 1)[0]
                step.job_url = None
                return None, timedelta(0)
            raise
        step.polls += 1
        step.job_state = status.status
        if status.done:
            return status, timedelta(0)
        return None, self._poll_delay(step, status)

    def _succeeded_job(self, client: AuthoringClient, step: StepRecord
                       ) -> tuple[JobStatus | None, timedelta | None]:
        """Poll the step's job: (its status, None) once it succeeded; else (None, what the step returns:
        when to poll again, or when to retry a retryable failure). A final failure raises StepFailed."""
        status, delay = self._poll(client, step)
        if status is None:
            return None, delay
        try:
            status.raise_for_failure()
        except JobFailed as failure:
            return None, self._job_failed(step, failure)
        return status, None

    def _poll_delay(self, step: StepRecord, status: JobStatus) -> timedelta:
        return poll_delay(step.polls, status.estimated_end, self.clock.now(), self.options)

    def _job_failed(self, step: StepRecord, failure: JobFailed) -> timedelta:
        step.errors.append({"code": failure.status, "message": failure.message, "errors": failure.errors})
        retried = int(step.detail.get("retriedFailures", 0))
        if failure.retryable and retried < self.options.max_retryable_failures:
            step.detail["retriedFailures"] = retried + 1
            retire_job(step)
            return self.options.poll_initial
        first = failure.errors[0] if failure.errors else {"code": failure.status, "message": "no reason"}
        raise StepFailed(str(first.get("code", failure.status)),
                         f"{step.name}: job {failure.status}: {first.get('message', '')}", failure.errors)

    def _project(self, slice_: SliceHandle) -> str:
        project = slice_.manifest.project
        kind = (slice_.manifest.context.get("observed") or {}).get("projectKind")
        if kind:   # both sides address the project in its kind's route family without looking it up
            self.primary.authoring.note_kind(project, str(kind))
            self.target.authoring.note_kind(project, str(kind))
        return project

    def _context(self, slice_: SliceHandle) -> dict[str, Any]:
        return slice_.manifest.context

    # -- backup --------------------------------------------------------------------------------------

    def _backup(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        return self._export_to_snapshot(slice_, step, self.target.authoring, project, None, "backup",
                                        backup=True)

    # -- export --------------------------------------------------------------------------------------

    def _export(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        from_working = step.label == WORKING or bool(step.detail.get("fromWorkingCopy"))
        label = None if from_working else step.label
        reason = "working-copy" if step.label == WORKING else f"model:{step.label}"
        return self._export_to_snapshot(slice_, step, self.primary.authoring, project, label, reason)

    def _export_to_snapshot(self, slice_: SliceHandle, step: StepRecord, client: AuthoringClient,
                            project: str, label: str | None, reason: str, *,
                            backup: bool = False) -> timedelta | None:
        if step.job_url is None:
            # Exports are not billed and change nothing: after a crash, simply export again.
            return self._submit(slice_, step, lambda: client.start_export(project, trained_model_label=label),
                                reconcile=lambda: None)
        status, wait = self._succeeded_job(client, step)
        if status is None:
            return wait
        if not status.result_url:
            raise StepFailed("ExportWithoutResult", f"{step.name}: the export job named no result")
        source = self.target.authoring if backup else self.primary.authoring
        last_modified = None
        metadata = source.get_project(project)
        if metadata is not None:
            last_modified = str(metadata.get("lastModifiedDateTime"))
        # Recorded so a restore onto this same model can load its snapshot instead of importing.
        model = source.get_model(project, label) if label else None
        model_id = str(model["modelId"]) if model and model.get("modelId") else None
        try:
            with client.open_export_result(status.result_url) as stream:
                info = self.snapshots.save_stream(project, stream, source_endpoint=client.endpoint,
                                                  reason="backup-before-overwrite" if backup else reason,
                                                  last_modified=last_modified, trained_model_label=label,
                                                  model_id=model_id)
        except UnsafeExport as unsafe:
            if backup:
                step.warnings.append(f"the target's current project could not be backed up: {unsafe.message}")
                return None
            raise StepFailed("UnsafeExport", f"{step.name}: refusing to import: {unsafe.message}") from unsafe
        step.detail.update(snapshot=info.name, contentHash=info.content_hash, documents=info.documents)
        self._context(slice_).setdefault("snapshots", []).append(info.name)
        if not backup:
            export = self.snapshots.summarise(info.name)
            self._check_safe(slice_, step, export)
        return None

    def _check_safe(self, slice_: SliceHandle, step: StepRecord, export: ExportSummary) -> None:
        expected = self._context(slice_)["observed"]["projectKind"]
        if export.project_kind != expected:
            raise StepFailed("UnsafeExport", f"{step.name}: export is a {export.project_kind} project, the "
                             f"primary is {expected}: refusing to import")
        if export.document_count == 0:
            raise StepFailed("UnsafeExport", f"{step.name}: the export names no documents: "
                             "refusing to import")

    def _snapshot_of(self, slice_: SliceHandle, label: str) -> tuple[str, ExportSummary]:
        name = "export:working" if label == WORKING else f"export:{label}"
        snapshot = str(slice_.manifest.step(name).detail["snapshot"])
        return snapshot, self.snapshots.summarise(snapshot)

    # -- documents -----------------------------------------------------------------------------------

    def _documents(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        assert step.label is not None
        _, export = self._snapshot_of(slice_, step.label)
        locations = export.locations
        if self.primary.documents is None or self.target.documents is None:
            raise StepFailed("NoDocumentsContainer", f"{step.name}: a {export.project_kind} project has no "
                             "documents container")
        report = copy_documents(self.primary.documents, self.target.documents, locations)
        step.detail.update(report.to_json())
        if report.missing:
            raise StepFailed("DocumentsMissing", (
                f"{step.name}: {len(report.missing)} document(s) named by the export are missing from the "
                f"primary's container, e.g. {report.missing[0]!r}: refusing to import"))
        absent = missing_documents(self.target.documents, locations)
        if absent:
            raise StepFailed("DocumentsMissing", f"{step.name}: {len(absent)} document(s) did not arrive in "
                             f"the target's container, e.g. {absent[0]!r}")
        return None

    # -- import --------------------------------------------------------------------------------------

    def _import(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        client = self.target.authoring
        assert step.label is not None
        if step.job_url is None:
            if step.label == WORKING and step.intent_at is None and self._working_copy_current(slice_):
                step.status = SKIPPED
                step.detail["why"] = "the target's working copy already equals the primary's"
                step.finished_at = self.clock.now()
                return None
            snapshot, export = self._snapshot_of(slice_, step.label)
            test_set = self._primary_test_set(slice_, step)
            post = self._import_request(project, snapshot, export, test_set)

            def before() -> None:
                current = client.get_project(project)
                step.detail["modifiedBefore"] = current.get("lastModifiedDateTime") if current else None
                step.detail["modelsBefore"] = sorted(
                    str(m["label"]) for m in client.list_models(project)) if current else []

            def reconcile() -> bool | None:
                current = client.get_project(project)
                if current is None:
                    return None
                before_value = step.detail.get("modifiedBefore")
                changed = before_value is None or is_later(current.get("lastModifiedDateTime"), before_value)
                # Import is not billed: when in doubt, import again (same bytes, same result).
                return True if changed and step.detail.get("importedHash") == export.content_hash else None

            step.detail["snapshot"] = snapshot
            step.detail["importedHash"] = export.content_hash
            delay = self._submit(slice_, step, post, reconcile, before)
            if delay is None:  # reconciled: the import had happened before a crash
                self._context(slice_)["importedAny"] = True
                self._handle_dropped_models(slice_, step)
            return delay
        try:
            status, wait = self._succeeded_job(client, step)
        except StepFailed:
            self._note_our_import(project, step)
            raise
        if status is None:
            return wait
        self._context(slice_)["importedAny"] = True
        self._note_our_import(project, step)
        self._handle_dropped_models(slice_, step)
        return None

    def _note_our_import(self, project: str, step: StepRecord) -> None:
        """Remember the timestamp our import left, finished or failed, so a later check does not mistake
        it for someone's edit."""
        current = self.target.authoring.get_project(project)
        step.detail["modifiedAfter"] = current.get("lastModifiedDateTime") if current else None

    def _handle_dropped_models(self, slice_: SliceHandle, step: StepRecord) -> None:
        """Whether an import keeps a project's trained models is undocumented. Where it drops them (models
        the target had before this import are gone), training a label before the working copy's import
        is wasted: the rest of the per-label steps are skipped, and every model the primary deploys is
        trained once after the working copy's import, from the working copy."""
        manifest = slice_.manifest
        context = self._context(slice_)
        present = {str(m["label"]) for m in self.target.authoring.list_models(manifest.project)}
        dropped = sorted(set(step.detail.get("modelsBefore", [])) - present)
        if dropped and not context.get("importDropsModels"):
            context["importDropsModels"] = True
            self._warn(slice_, step, f"the target's import dropped its trained models ({', '.join(dropped)}):"
                       " every deployed model is trained from the primary's working copy after its import")
        if context.get("importDropsModels"):
            for later in manifest.steps[manifest.steps.index(step) + 1:]:
                if later.label != WORKING and later.kind in DATA_STEPS \
                        and later.status == PENDING and not later.name.startswith("retrain:"):
                    later.status = SKIPPED
                    later.detail["why"] = "the target's import drops models: trained after the working copy"
        if step.label != WORKING:
            return
        needed = sorted({str(d["label"]) for d in context["observed"]["deployments"].values()})
        missing = [label for label in needed if label not in present
                   and not any(s.name == f"retrain:{label}" for s in manifest.steps)]
        position = manifest.steps.index(step) + 1
        manifest.steps[position:position] = [
            StepRecord(f"retrain:{label}", StepKind.TRAIN, label, detail={
                "fromWorkingCopy": True, "why": "the import dropped the target's trained models"})
            for label in missing]

    def _warn(self, slice_: SliceHandle, step: StepRecord, warning: str) -> None:
        step.warnings.append(warning)
        slice_.manifest.warnings.append(warning)

    def _primary_test_set(self, slice_: SliceHandle, step: StepRecord) -> frozenset[str] | None:
        """With TRAINING_SPLIT=exact, a label's import carries the primary model's own train/test split
        (its test documents, as its evaluation lists them) as a manual split; the working copy's import
        stays the primary's working copy, byte for byte."""
        if step.label == WORKING or not step.label or self.options.training_split != "exact":
            return None
        if self.target.documents is None:
            # Conversation exports carry each utterance's dataset: the label's own export is its split.
            return None
        test_set = read_test_set(self.primary.authoring, self._project(slice_), step.label)
        if not test_set:
            step.detail["split"] = "unavailable"
            self._warn(slice_, step, f"model {step.label} on the primary lists no evaluated test documents: "
                       "its split cannot be rebuilt; the target is trained with the primary's options")
            return None
        step.detail.update(split="rebuilt", testDocuments=len(test_set))
        return test_set

    def _import_request(self, project: str, snapshot: str, export: ExportSummary,
                        test_set: frozenset[str] | None = None) -> Callable[[], str]:
        """Stream the snapshot from blob into the import when it needs no rewrite, else stream a rewrite
        (through a temporary file: the import needs its length, and a 429 sends it again)."""
        client = self.target.authoring
        container = self.target.documents.container_name if self.target.documents is not None else ""
        if test_set is not None or not export.imports_as_is(container):
            def rewritten() -> str:
                with tempfile.SpooledTemporaryFile(max_size=REWRITE_IN_MEMORY) as body, \
                        self.snapshots.open(snapshot) as reader:
                    length = write_import_body(reader, container, body, test_set=test_set)
                    body.seek(0)
                    return client.start_import(project, cast(IO[bytes], body), content_length=length)

            return rewritten

        def stream() -> str:
            with self.snapshots.open(snapshot) as reader:
                return client.start_import(project, cast(IO[bytes], reader), content_length=len(reader))

        return stream

    def _working_copy_current(self, slice_: SliceHandle) -> bool:
        context = self._context(slice_)
        record = context.get("record")
        if context.get("importedAny") or not record or slice_.manifest.force:
            return False
        working_hash = slice_.manifest.step("export:working").detail.get("contentHash")
        current = self.target.authoring.get_project(self._project(slice_))
        return (current is not None and working_hash == record.get("contentHash")
                and current.get("lastModifiedDateTime") == record.get("secondaryLastModifiedDateTime"))

    # -- train ---------------------------------------------------------------------------------------

    def _train(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        client = self.target.authoring
        label = step.label
        assert label
        if step.job_url is None:
            def before() -> None:
                self._choose_config(slice_, step)
                # One count per job this step may start: a submission retried after a crash before its
                # POST is the same job; a job submitted again after a retryable failure is another.
                job_number = int(step.detail.get("retriedFailures", 0))
                if not self.trainings.spend(slice_.manifest.target, project, self.clock.now(),
                                            f"{slice_.manifest.run_id}:{step.name}:{job_number}"):
                    raise StepFailed("TrainingCapReached", (
                        f"{step.name}: the cap of {self.trainings.per_day} trainings per project per day "
                        "is reached; the run resumes when re-driven tomorrow"))
                # Kept from the first attempt: a job that shows up late is then still recognised as ours.
                step.detail.setdefault("jobsBefore", sorted(self._training_jobs(project, label)))

            def reconcile() -> str | None:
                known = set(step.detail.get("jobsBefore", []))
                for job_id in sorted(self._training_jobs(project, label)):
                    if job_id not in known:
                        return self._training_job_url(project, job_id)
                return None

            evaluation = self._evaluation_options(slice_, step)
            mode = self._training_mode(slice_, step)
            return self._submit(slice_, step, lambda: client.start_training(
                project, model_label=label, training_config_version=str(step.detail["trainingConfigVersion"]),
                evaluation_options=evaluation, training_mode=mode), reconcile, before)
        status, wait = self._succeeded_job(client, step)
        if status is None:
            return wait
        self._context(slice_).setdefault("trainedLabels", []).append(label)
        return None

    def _training_mode(self, slice_: SliceHandle, step: StepRecord) -> str | None:
        """A conversation project's trainingMode: the primary's as last seen, else the default (said)."""
        context = self._context(slice_)
        observed = context["observed"]
        if not has_training_modes(str(observed["projectKind"])):
            return None
        assert step.label
        recorded = (context.get("record") or {}).get("trainingModes") or {}
        chosen = training_mode_for(step.label, observed.get("trainingModes") or {}, recorded,
                                   self.options.default_training_mode)
        step.detail["trainingMode"] = chosen.mode
        warning = chosen.warning(step.label)
        if warning and warning not in step.warnings:
            self._warn(slice_, step, warning)
        return chosen.mode

    def _evaluation_options(self, slice_: SliceHandle, step: StepRecord) -> dict[str, Any] | None:
        """The training's evaluationOptions, as the primary's were: the rebuilt split as a manual one when
        the label's import carried it; else the primary model's own options, unchanged (the service then
        draws a new percentage split); else, with no evaluation to read, what the export says."""
        assert step.label
        label_import = next((s for s in slice_.manifest.steps if s.kind == StepKind.IMPORT
                             and s.label == step.label and s.status == SUCCEEDED), None)
        if not step.detail.get("fromWorkingCopy") and label_import is not None \
                and label_import.detail.get("split") == "rebuilt":
            step.detail["split"] = "rebuilt"
            return {"kind": "manual"}
        summary = self.primary.authoring.get_evaluation_summary(self._project(slice_), step.label)
        if summary is not None and summary.get("evaluationOptions"):
            step.detail.update(split="service", evaluationOptions=summary["evaluationOptions"])
            return dict(summary["evaluationOptions"])
        return self._split_of_export(slice_, step)

    def _split_of_export(self, slice_: SliceHandle, step: StepRecord) -> dict[str, Any] | None:
        """A manual split when every document of the imported export names its dataset, else the default."""
        assert step.label
        _, export = self._snapshot_of(slice_, WORKING if step.detail.get("fromWorkingCopy") else step.label)
        step.detail["split"] = "export"
        return {"kind": "manual"} if export.has_dataset_split else None

    def _training_jobs(self, project: str, label: str) -> list[str]:
        jobs = self.target.authoring.list_training_jobs(project)
        return [str(job["jobId"]) for job in jobs if (job.get("result") or {}).get("modelLabel") == label]

    def _training_job_url(self, project: str, job_id: str) -> str:
        return self.target.authoring.training_job_url(project, job_id)

    def _choose_config(self, slice_: SliceHandle, step: StepRecord) -> None:
        if "trainingConfigVersion" in step.detail:
            return
        assert step.label
        observed = self._context(slice_)["observed"]
        wanted = str(observed["models"][step.label]["trainingConfigVersion"])
        offered = self.target.authoring.training_config_versions(str(observed["projectKind"]))
        versions = sorted(str(v["trainingConfigVersion"]) for v in offered)
        chosen = wanted
        if versions and wanted not in versions:
            chosen = versions[-1]
            self._warn(slice_, step, f"training config {wanted} of model {step.label} is no longer offered "
                       f"by the target; trained with the newest offered, {chosen}")
        step.detail["trainingConfigVersion"] = chosen
        step.detail["primaryTrainingConfigVersion"] = wanted

    # -- deploy --------------------------------------------------------------------------------------

    def _deploy(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        client = self.target.authoring
        name = step.label
        assert name
        label = str(self._context(slice_)["observed"]["deployments"][name]["label"])
        step.detail["label"] = label
        if step.job_url is None:
            trained_now = label in self._context(slice_).get("trainedLabels", [])
            if step.intent_at is None and not trained_now and not slice_.manifest.force \
                    and self._serves(project, name, label):
                step.status = SKIPPED
                step.detail["why"] = f"deployment {name} already serves model {label}"
                step.finished_at = self.clock.now()
                return None

            def before() -> None:
                current = client.get_deployment(project, name)
                step.detail["deployedBefore"] = current.get("lastDeployedDateTime") if current else None

            def reconcile() -> bool | None:
                current = client.get_deployment(project, name)
                if current is None or not self._serves(project, name, label):
                    return None
                deployed_at = current.get("lastDeployedDateTime")
                deployed_again = is_later(deployed_at, step.detail.get("deployedBefore"))
                return True if deployed_again else None

            return self._submit(slice_, step, lambda: client.start_deployment(
                project, name, trained_model_label=label), reconcile, before)
        status, wait = self._succeeded_job(client, step)
        if status is None:
            return wait
        return None

    def _serves(self, project: str, deployment: str, label: str) -> bool:
        client = self.target.authoring
        current = client.get_deployment(project, deployment)
        model = client.get_model(project, label)
        return bool(current and model and current.get("modelId") == model.get("modelId"))

    # -- verify --------------------------------------------------------------------------------------

    def _verify(self, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        project = self._project(slice_)
        observed = self._context(slice_)["observed"]
        deployments: dict[str, Any] = observed["deployments"]
        wrong = [name for name, deployment in sorted(deployments.items())
                 if not self._serves(project, name, deployment["label"])]
        if wrong:
            raise StepFailed("DeploymentMismatch", (
                f"verify: deployment(s) {', '.join(wrong)} on the target do not serve the primary's "
                "model label"))
        # A primary deployment serving a superseded model the target never had cannot answer alike.
        superseded = sorted(s.label for s in slice_.manifest.steps
                            if s.kind == StepKind.DEPLOY and s.label and s.detail.get("superseded"))
        if superseded and "superseded" not in step.detail:
            step.detail["superseded"] = superseded
            self._warn(slice_, step, f"verify: deployment(s) {', '.join(superseded)} not compared: the "
                       "primary's serve a superseded model that cannot be reproduced")
        compared_names = sorted(set(deployments) - set(superseded))
        if not compared_names:
            step.detail["agreement"] = None
            return None
        if self.target.documents is None:
            return self._verify_conversations(slice_, step, compared_names, str(observed["projectKind"]))
        jobs: dict[str, dict[str, str]] = step.detail.setdefault("jobs", {})
        if not jobs:
            self._compare_evaluations(slice_, step, compared_names)
            sample = self._sample(slice_)
            step.detail["sample"] = [d.id for d in sample]
            for name in compared_names:
                jobs[name] = {
                    "primary": self.primary.runtime.submit(observed["projectKind"], project, name, sample),
                    "target": self.target.runtime.submit(observed["projectKind"], project, name, sample),
                }
            slice_.checkpoint()
            return self.options.poll_initial / 5
        results: dict[str, dict[str, Any]] = {}
        for name, urls in jobs.items():
            primary_body = self.primary.runtime.get(urls["primary"])
            target_body = self.target.runtime.get(urls["target"])
            if not (job_finished(primary_body) and job_finished(target_body)):
                step.polls += 1
                return min(self.options.poll_initial, self.options.poll_max)
            results[name] = {"primary": predictions(primary_body), "target": predictions(target_body)}
        pairs = {name: (pair["primary"], pair["target"]) for name, pair in results.items()}
        return self._judge(step, pairs, str(observed["projectKind"]))

    def _verify_conversations(self, slice_: SliceHandle, step: StepRecord, deployments: list[str],
                              kind: str) -> timedelta | None:
        """The same sampled utterances asked of both regions' deployments (synchronous: no jobs to poll):
        the same top intent and entities (CLU), the same top intent and target kind (orchestration)."""
        project = self._project(slice_)
        self._compare_evaluations(slice_, step, deployments)
        sample = self._sample(slice_)
        step.detail["sample"] = [d.id for d in sample]
        pairs = {name: (conversation_predictions(self.primary.runtime, project, name, sample),
                        conversation_predictions(self.target.runtime, project, name, sample))
                 for name in deployments}
        return self._judge(step, pairs, kind)

    def _judge(self, step: StepRecord, pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
               kind: str) -> timedelta | None:
        """Verify's verdict on both sides' predictions, by the rules verify and the drill share."""
        measured = measure_agreement(pairs, step.detail["sample"])
        step.detail.update(agreement=round(measured.fraction, 4), compared=measured.compared,
                           disagreements=measured.disagreements[:10])
        # A verify begun before thresholds were chosen per run holds the full one.
        chosen = step.detail.get("threshold") or {"value": self.options.agreement_threshold, "why": "default"}
        threshold = float(chosen["value"])
        if not passes(measured, threshold):
            raise StepFailed("PredictionsDisagree", (
                f"verify: predictions agree on {measured.fraction:.0%} of "
                f"{count_items(kind, measured.compared)} sampled, below the threshold {threshold:.0%} "
                f"({chosen['why']})"))
        failures = step.detail.get("evaluationFailures") or []
        if failures:
            raise StepFailed("EvaluationDiffers", "verify: " + " | ".join(failures))
        return None

    def _compare_evaluations(self, slice_: SliceHandle, step: StepRecord, deployments: list[str]) -> None:
        """Compare the two models' own evaluations per deployed label, and choose the agreement threshold:
        in full when every label's two test sets are the same documents, else the resampled one."""
        project = self._project(slice_)
        observed = self._context(slice_)["observed"]
        labels = sorted({str(observed["deployments"][name]["label"]) for name in deployments})
        parities: dict[str, Parity | None] = {}
        for label in labels:
            primary = read_evaluation(self.primary.authoring, project, label)
            target = read_evaluation(self.target.authoring, project, label)
            parities[label] = (compare(label, primary, target, self.options.evaluation_tolerance)
                               if primary is not None and target is not None else None)
        step.detail["evaluation"] = {label: parity.to_json() if parity else None
                                     for label, parity in parities.items()}
        step.detail["evaluationFailures"] = [p.reason() for p in parities.values() if p and p.fails]
        step.detail["threshold"] = agreement_threshold(
            (label for label, p in parities.items() if p is not None and not p.same_test_set),
            exact=self.options.agreement_threshold, resampled=self.options.agreement_threshold_resampled)

    def _sample(self, slice_: SliceHandle) -> list[SampleDocument]:
        _, export = self._snapshot_of(slice_, WORKING)
        return sample_documents(export, self.target.documents, self.options.verify_sample)


# -- the replication step kinds ------------------------------------------------------------------------


class Backup(StepAction[StepMachine]):
    kind = StepKind.BACKUP
    machine = StepMachine

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._backup(slice_, step)


class Export(StepAction[StepMachine]):
    kind = StepKind.EXPORT
    machine = StepMachine

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._export(slice_, step)


class Documents(StepAction[StepMachine]):
    kind = StepKind.DOCUMENTS
    machine = StepMachine
    fits_a_request = False   # one copy of any length: queue only

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._documents(slice_, step)


class Import(StepAction[StepMachine]):
    kind = StepKind.IMPORT
    machine = StepMachine

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._import(slice_, step)


class Train(StepAction[StepMachine]):
    kind = StepKind.TRAIN
    machine = StepMachine
    cancellable = True

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._train(slice_, step)


class Deploy(StepAction[StepMachine]):
    kind = StepKind.DEPLOY
    machine = StepMachine

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._deploy(slice_, step)


class Verify(StepAction[StepMachine]):
    kind = StepKind.VERIFY
    machine = StepMachine

    @classmethod
    def run(cls, machine: StepMachine, slice_: SliceHandle, step: StepRecord) -> timedelta | None:
        return machine._verify(slice_, step)


def poll_delay(polls: int, estimated_end: datetime | None, now: datetime, options: StepOptions) -> timedelta:
    """When to look at a running job again after its `polls`-th poll: a growing interval (x1.5 from
    `poll_initial`, at most `poll_max`), or sooner when the service's estimated end comes first."""
    delay = min(options.poll_initial * (1.5 ** min(max(polls - 1, 0), 10)), options.poll_max)
    if estimated_end is not None and timedelta(0) < estimated_end - now < delay:
        delay = estimated_end - now
    return delay


__all__ = ["Action", "Backup", "Deploy", "Documents", "Export", "Import", "Side", "StepMachine",
           "StepOptions", "Train", "Verify", "poll_delay"]

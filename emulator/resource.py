"""One emulated Language resource: the authoring operations and the effects of their jobs.

Routes (emulator/authoring.py) translate HTTP into calls here; this module knows nothing
of Flask. Every public method takes the lock and first settles the jobs whose time has
come, so each caller sees the state the real service would show at that moment.
"""

from __future__ import annotations

import copy
import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from emulator import jobs as job_states
from emulator.behaviour import Behaviour
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.documents import LinkedStorage
from emulator.errors import ServiceError, error_object
from emulator.jobs import Job
from emulator.state import Deployment, Project, ResourceState, StateFile, TrainedModel, TrainingConfig
from emulator.timefmt import authoring_job_id, format_datetime, model_id
from emulator.validation import (
    NER,
    category_key,
    create_project_options,
    exported_project,
    invalid,
    require_name,
    require_object,
    require_string_index_type,
)
from emulator.versions import V2022

log = logging.getLogger("emulator.resource")

MAX_MODELS = 10
MAX_DEPLOYMENTS = 10
MAX_PROJECTS = 500
MAX_DOCUMENT_CHARACTERS = 128_000
PROJECT_FILE_VERSION = "2022-05-01"
# Deployments outlive their training config by a year (concepts/model-lifecycle.md).
DEPLOYMENT_GRACE = timedelta(days=365)
DEFAULT_CONFIG_VERSION = "2022-05-01"
DEFAULT_CONFIG_LIFETIME = timedelta(days=365)

JobFailureSource = Callable[[str], dict[str, Any] | None]


def project_not_found(name: str) -> ServiceError:
    return ServiceError("ProjectNotFound", f"The project '{name}' could not be found.", target="projectName")


def not_found(what: str, name: str) -> ServiceError:
    return ServiceError("NotFound", f"The {what} '{name}' could not be found.")


class LanguageResource:
    def __init__(
        self,
        config: EmulatorConfig,
        clock: Clock,
        storage: LinkedStorage,
        behaviour: Behaviour,
        job_failures: JobFailureSource = lambda kind: None,
        state_file: StateFile | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.storage = storage
        self.behaviour = behaviour
        self._job_failures = job_failures
        self._state_file = state_file
        self.lock = threading.RLock()
        self._split_draws = random.Random(config.split_seed)
        loaded = state_file.load() if state_file is not None else None
        self.state = loaded or self._empty_state()

    # -- housekeeping ----------------------------------------------------------------------------
    def _empty_state(self) -> ResourceState:
        today = self.clock.now().date()
        return ResourceState(
            training_configs=[
                TrainingConfig(DEFAULT_CONFIG_VERSION, today + DEFAULT_CONFIG_LIFETIME),
            ]
        )

    def reset(self) -> None:
        with self.lock:
            self.state = self._empty_state()
            self._split_draws = random.Random(self.config.split_seed)
            self._save()

    def _save(self) -> None:
        if self._state_file is not None:
            self._state_file.save(self.state)

    def now(self) -> datetime:
        return self.clock.now()

    def settle(self) -> datetime:
        """Apply, in order of completion, the effect of every job whose end has come."""
        with self.lock:
            now = self.clock.now()
            changed = False
            while True:
                due = [
                    (moment, job) for job in self.state.jobs.values() if (moment := job.due(now)) is not None
                ]
                if not due:
                    break
                moment, job = min(due, key=lambda pair: pair[0])
                self._settle_job(job, moment)
                changed = True
            # Jobs are kept for 7 days, then purged like the service's (their models are unaffected).
            expired = [
                job_id for job_id, job in self.state.jobs.items() if job.outcome and job.expires <= now
            ]
            for job_id in expired:
                del self.state.jobs[job_id]
            if changed or expired:
                self._save()
            return now

    def _settle_job(self, job: Job, moment: datetime) -> None:
        job.settled_at = moment
        cancel_at = job.cancel_effective()
        if cancel_at is not None and cancel_at <= job.ends:
            job.outcome = job_states.CANCELLED
            return
        if job.injected_error is not None:
            job.outcome = job_states.FAILED
            job.errors = [error_object(job.injected_error["code"], job.injected_error["message"])]
            return
        try:
            self._apply(job, moment)
        except ServiceError as error:
            job.outcome = job_states.FAILED
            job.errors = [
                error_object(error.code, error.message, error.inner_code, error.target, error.details)
            ]
            return
        except Exception as error:
            # A job must fail, never wedge every later request by failing again on each settle.
            log.exception("job %s (%s) failed unexpectedly", job.job_id, job.kind)
            job.outcome = job_states.FAILED
            job.errors = [
                error_object("InternalServerError", f"The job failed: {type(error).__name__}: {error}")
            ]
            return
        job.outcome = job_states.SUCCEEDED

    def _new_job(
        self, kind: str, project: str, api_version: str, params: dict[str, Any] | None = None
    ) -> Job:
        now = self.clock.now()
        job = Job(
            job_id=authoring_job_id(now),
            kind=kind,
            project=project,
            created=now,
            duration=self.config.job_duration(kind),
            api_version=api_version,
            params=params or {},
            injected_error=self._job_failures(kind),
        )
        self.state.jobs[job.job_id] = job
        self._save()
        return job

    # -- lookups ---------------------------------------------------------------------------------
    def _project(self, name: str) -> Project:
        project = self.state.projects.get(name)
        if project is None:
            raise project_not_found(name)
        return project

    def _model(self, project: str, label: str) -> TrainedModel:
        self._project(project)
        model = self.state.models.get(project, {}).get(label)
        if model is None:
            raise not_found("trained model", label)
        return model

    def _deployment(self, project: str, name: str) -> Deployment:
        self._project(project)
        deployment = self.state.deployments.get(project, {}).get(name)
        if deployment is None:
            raise not_found("deployment", name)
        return deployment

    def deletion_job(self, job_id: str) -> Job:
        """A project deletion job: addressed without its project, which may be gone already."""
        with self.lock:
            self.settle()
            job = self.state.jobs.get(job_id)
            if job is None or job.kind != "delete-project":
                raise not_found("job", job_id)
            return job

    def job(self, project: str, job_id: str, kinds: Sequence[str], **params: str) -> Job:
        """A job of one of `kinds` in `project` (and, where given, of that deployment or model)."""
        with self.lock:
            self.settle()
            job = self.state.jobs.get(job_id)
            if (
                job is None
                or job.project != project
                or job.kind not in kinds
                or any(job.params.get(k) != v for k, v in params.items())
            ):
                raise not_found("job", job_id)
            return job

    # -- projects --------------------------------------------------------------------------------
    def list_projects(self) -> list[Project]:
        with self.lock:
            self.settle()
            return sorted(self.state.projects.values(), key=lambda p: p.created)

    def get_project(self, name: str) -> Project:
        with self.lock:
            self.settle()
            return self._project(name)

    # Properties a new project's body must have (a text project reads its documents from a container).
    REQUIRED_PROJECT_PROPERTIES: tuple[str, ...] = ("storageInputContainerName", "language")

    def create_or_update_project(self, name: str, body: Any) -> tuple[Project, bool]:
        kind, metadata = self._read_project_options(name, body)
        with self.lock:
            now = self.settle()
            existing = self.state.projects.get(name)
            if existing is None:
                self._require_room_for_a_project()
                if kind is None:
                    raise invalid("The property 'projectKind' is required.", "projectKind")
                for key in self.REQUIRED_PROJECT_PROPERTIES:
                    if key not in metadata:
                        raise invalid(f"The property '{key}' is required.", key)
                project = Project(name, kind, self._stored_metadata(metadata), None, now, now)
                self.state.projects[name] = project
                self._save()
                return project, True
            if kind is not None and kind != existing.kind:
                raise invalid("The project kind of an existing project cannot be changed.", "projectKind")
            self._check_project_update(existing, metadata)
            existing.metadata.update(metadata)
            existing.last_modified = now
            self._save()
            return existing, False

    def _require_room_for_a_project(self) -> None:
        if len(self.state.projects) >= MAX_PROJECTS:
            raise ServiceError(
                "InvalidRequest",
                f"The resource already has the maximum of {MAX_PROJECTS} projects.",
                inner_code="InvalidParameterValue",
                target="projectName",
            )

    def _require_container(self, container: str) -> None:
        if not self.storage.container_exists(container):
            raise ServiceError(
                "InvalidRequest",
                f"The storage container '{container}' does not exist in the storage account linked to this "
                "resource.",
                inner_code="InvalidParameterValue",
                target="storageInputContainerName",
            )

    def delete_project(self, name: str, api_version: str) -> Job:
        with self.lock:
            self.settle()
            self._project(name)
            self._refuse_while_training(name, "delete the project")
            return self._new_job("delete-project", name, api_version)

    # -- import and export -----------------------------------------------------------------------
    def _read_project_options(self, name: str, body: Any) -> tuple[str | None, dict[str, Any]]:
        """The project name and a create-or-update body checked: (projectKind or None, metadata)."""
        require_name(name, "project name", "projectName")
        return create_project_options(body)

    def _check_project_update(self, existing: Project, metadata: dict[str, Any]) -> None:
        """What an update of an existing project must pass (a new container must exist)."""
        container = existing.metadata["storageInputContainerName"]
        if metadata.get("storageInputContainerName", container) != container:
            self._require_container(metadata["storageInputContainerName"])

    # The :import and :export jobs are the same for every project family; the hooks below (`_read_import`,
    # `_check_import_now`, `_stored_metadata`, `_export_file`) are where the data shapes differ.
    def import_project(self, name: str, body: Any, api_version: str) -> Job:
        kind, metadata, assets = self._read_import(name, body)
        with self.lock:
            self.settle()
            existing = self.state.projects.get(name)
            if existing is None:
                self._require_room_for_a_project()
            elif existing.kind != kind:
                raise invalid(
                    f"The project '{name}' already exists with kind {existing.kind}.", "metadata.projectKind"
                )
            self._refuse_while_training(name, "import")
            self._check_import_now(metadata)
            return self._new_job(
                "import", name, api_version, {"kind": kind, "metadata": metadata, "assets": assets}
            )

    def _read_import(self, name: str, body: Any) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        """The project name and the :import body checked: (projectKind, metadata, assets)."""
        require_name(name, "project name", "projectName")
        return exported_project(body, strict_kind_case=self.behaviour.projectKindCase == "strict")

    def _check_import_now(self, metadata: dict[str, Any]) -> None:
        """What the service checks before accepting the :import job (a text project's container, if told)."""
        if self.behaviour.importMissingContainer == "sync":
            self._require_container(metadata["storageInputContainerName"])

    def _stored_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """A new project's or an :import job's metadata as stored, with defaults; checked when stored."""
        metadata = dict(metadata)
        self._require_container(metadata["storageInputContainerName"])
        metadata.setdefault("settings", {})
        metadata.setdefault("multilingual", False)
        metadata.setdefault("description", "")
        return metadata

    def _apply_import(self, job: Job, moment: datetime) -> None:
        metadata = self._stored_metadata(job.params["metadata"])
        project = self.state.projects.get(job.project)
        if project is None:
            self._require_room_for_a_project()
            self.state.projects[job.project] = Project(
                job.project, job.params["kind"], metadata, job.params["assets"], moment, moment
            )
            return
        # "The data of that project is replaced"; models and deployments stay unless told otherwise.
        project.metadata = metadata
        project.assets = job.params["assets"]
        project.last_modified = moment
        if not self.behaviour.importKeepsModels:
            self.state.models.pop(job.project, None)
            self.state.deployments.pop(job.project, None)
            project.last_trained = project.last_deployed = None
            self._collect_artifacts()

    def export_project(
        self, name: str, string_index_type: str | None, model_label: str | None, api_version: str
    ) -> Job:
        require_string_index_type(string_index_type)
        with self.lock:
            self.settle()
            project = self._project(name)
            if model_label:
                model = self._model(name, model_label)
                metadata = {**model.snapshot["metadata"], "projectName": name}
                assets = model.snapshot["assets"]
            else:
                metadata, assets = project.exported_metadata(), project.assets
            exported = self._export_file(project.kind, metadata, assets, api_version)
            return self._new_job(
                "export", name, api_version, {"exported": exported, "modelLabel": model_label}
            )

    def _export_file(
        self, kind: str, metadata: dict[str, Any], assets: dict[str, Any] | None, api_version: str
    ) -> dict[str, Any]:
        """The exported project file (copies: the job keeps it while the project moves on)."""
        if api_version == V2022:
            metadata = {**metadata, "settings": {}}
        exported: dict[str, Any] = {
            "projectFileVersion": PROJECT_FILE_VERSION,
            "stringIndexType": "Utf16CodeUnit",
            "metadata": copy.deepcopy(metadata),
        }
        if assets is not None:
            exported["assets"] = copy.deepcopy(assets)
        return exported

    def export_result(self, name: str, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self.job(name, job_id, ("export",))
            if job.outcome != job_states.SUCCEEDED:
                raise ServiceError("NotFound", f"The export job '{job_id}' has no result (yet).")
            return dict(job.params["exported"])

    # -- training --------------------------------------------------------------------------------
    def training_configs(self, kind: str) -> list[TrainingConfig]:
        """The offered versions; the same list for every kind (docs/reference/emulator-fidelity.md)."""
        with self.lock:
            return [c for c in self.state.training_configs if c.offered]

    def _resolve_config(self, version: Any) -> TrainingConfig:
        today = self.clock.now().date()
        offered = [c for c in self.state.training_configs if c.offered]
        if version == "latest":
            usable = [c for c in offered if c.model_expiration >= today]
            if not usable:
                raise invalid(
                    "No training configuration version is currently available.", "trainingConfigVersion"
                )
            return max(usable, key=lambda c: c.version)
        for config in offered:
            if config.version == version:
                if config.model_expiration < today:
                    raise invalid(
                        f"The training configuration version '{version}' expired on "
                        f"{config.model_expiration.isoformat()}. Choose a newer trainingConfigVersion.",
                        "trainingConfigVersion",
                    )
                return config
        available = ", ".join(c.version for c in offered) or "none"
        raise invalid(
            f"The training configuration version '{version}' is not supported. "
            f"Available versions: {available}.",
            "trainingConfigVersion",
        )

    def _evaluation_options(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}
        options = require_object(value, "evaluationOptions")
        kind = options.get("kind", "percentage")
        if kind not in ("percentage", "manual"):
            raise invalid(
                "evaluationOptions.kind must be 'percentage' or 'manual'.", "evaluationOptions.kind"
            )
        if kind == "manual":
            return {"kind": "manual"}
        train = options.get("trainingSplitPercentage", 80)
        test = options.get("testingSplitPercentage", 100 - train if isinstance(train, int) else 20)
        for value_, field in ((train, "trainingSplitPercentage"), (test, "testingSplitPercentage")):
            if isinstance(value_, bool) or not isinstance(value_, int) or not 0 < value_ < 100:
                raise invalid(
                    f"evaluationOptions.{field} must be an integer between 1 and 99.",
                    f"evaluationOptions.{field}",
                )
        if train + test != 100:
            raise invalid(
                "The training and testing split percentages must add up to 100.", "evaluationOptions"
            )
        return {"kind": "percentage", "trainingSplitPercentage": train, "testingSplitPercentage": test}

    def _refuse_while_training(self, project: str, operation: str) -> None:
        if not self.behaviour.trainingBlocksDataChanges:
            return
        active = self.active_training(project)
        if active is not None:
            raise ServiceError(
                "Conflict",
                f"Cannot {operation} while the training job '{active.job_id}' of project '{project}' runs.",
                status=409,
            )

    def active_training(self, project: str) -> Job | None:
        now = self.clock.now()
        for job in self.state.jobs.values():
            if (
                job.project == project
                and job.kind == "train"
                and job.status(now) not in job_states.FINAL_STATES
            ):
                return job
        return None

    def train(self, name: str, body: Any, api_version: str) -> Job:
        options = require_object(body)
        label = require_name(options.get("modelLabel"), "model label", "modelLabel")
        if "trainingConfigVersion" not in options:
            raise invalid("The property 'trainingConfigVersion' is required.", "trainingConfigVersion")
        evaluation = self._evaluation_options(options.get("evaluationOptions"))
        with self.lock:
            self.settle()
            self._project(name)
            config = self._resolve_config(options["trainingConfigVersion"])
            active = self.active_training(name)
            if active is not None:
                status = self.behaviour.trainingConflictStatus
                raise ServiceError(
                    "Conflict" if status == 409 else "InvalidRequest",
                    f"The project '{name}' already has a training job in progress ({active.job_id}); "
                    "only one training job can run per project at a time.",
                    status=status,
                )
            models = self.state.models.get(name, {})
            if label not in models and len(models) >= MAX_MODELS:
                raise ServiceError(
                    "InvalidRequest",
                    f"The project '{name}' already has the maximum of {MAX_MODELS} trained models. "
                    "Delete a model or retrain an existing label.",
                    inner_code="InvalidParameterValue",
                    target="modelLabel",
                )
            return self._new_job(
                "train",
                name,
                api_version,
                {
                    "modelLabel": label,
                    "trainingConfigVersion": config.version,
                    "evaluationOptions": evaluation,
                    # The service draws a percentage split at random for every training.
                    "splitDraw": self._split_draws.getrandbits(63),
                },
            )

    def list_training_jobs(self, name: str) -> list[Job]:
        with self.lock:
            now = self.settle()
            self._project(name)
            return sorted(
                (
                    j
                    for j in self.state.jobs.values()
                    if j.project == name and j.kind == "train" and j.expires > now
                ),
                key=lambda j: j.created,
            )

    def cancel_training(self, name: str, job_id: str) -> Job:
        with self.lock:
            now = self.settle()
            self._project(name)
            job = self.job(name, job_id, ("train",))
            if job.status(now) in job_states.FINAL_STATES:
                raise ServiceError(
                    "InvalidRequest", f"The training job '{job_id}' has already finished ({job.status(now)})."
                )
            if job.cancel_requested is None:
                job.cancel_requested = now
                job.cancel_duration = self.config.job_duration("cancel")
                self._save()
            return job

    def training_result(self, job: Job, now: datetime) -> dict[str, Any]:
        """The `result` of a TrainingJobState: training then evaluation sub-status."""
        span = job.ends - job.started
        training_ends = job.started + span * job_states.TRAINING_SHARE
        status = job.status(now)

        # A cancelled job's phases stay as they were when it stopped.
        at = job.settled_at if status == job_states.CANCELLED and job.settled_at else now

        def phase(begin: datetime, end: datetime) -> dict[str, Any]:
            if status == job_states.FAILED:
                # Every failure (documents, labels, split, injected) is one of training, so
                # evaluation never starts.
                if begin > job.started:
                    return {"percentComplete": 0, "status": job_states.NOT_STARTED}
                return {
                    "percentComplete": 100,
                    "startDateTime": format_datetime(begin),
                    "endDateTime": format_datetime(job.ends),
                    "status": job_states.FAILED,
                }
            if at < begin:
                return {"percentComplete": 0, "status": job_states.NOT_STARTED}
            if at >= end:
                return {
                    "percentComplete": 100,
                    "startDateTime": format_datetime(begin),
                    "endDateTime": format_datetime(end),
                    "status": job_states.SUCCEEDED,
                }
            interrupted = status in (job_states.CANCELLED, job_states.CANCELLING)
            return {
                "percentComplete": min(99, int(100 * (at - begin) / max(end - begin, timedelta.resolution))),
                "startDateTime": format_datetime(begin),
                "status": status if interrupted else job_states.RUNNING,
            }

        return {
            "modelLabel": job.params["modelLabel"],
            "trainingConfigVersion": job.params["trainingConfigVersion"],
            "estimatedEndDateTime": format_datetime(job.ends),
            "trainingStatus": phase(job.started, training_ends),
            "evaluationStatus": phase(training_ends, job.ends),
        }

    def _apply_training(self, job: Job, moment: datetime) -> None:
        from emulator import learner  # another engineer's module: imported where it is needed

        project = self._project(job.project)
        assets = project.assets or {}
        documents = assets.get("documents") or []
        if not documents:
            raise ServiceError(
                "InvalidRequest",
                "The project has no labelled documents to train on.",
                inner_code="MissingInputDocuments",
            )
        container = project.metadata["storageInputContainerName"]
        batch = self.storage.read(container, [d["location"] for d in documents])
        problems = []
        if batch.missing:
            problems.append(f"missing from container '{container}': {', '.join(batch.missing)}")
        if batch.empty:
            problems.append(f"empty: {', '.join(batch.empty)}")
        if problems:
            raise ServiceError(
                "InvalidRequest",
                "Training failed: documents " + "; ".join(problems) + ".",
                inner_code="MissingInputDocuments" if batch.missing else "InvalidDocument",
            )
        too_long = sorted(loc for loc, text in batch.texts.items() if len(text) > MAX_DOCUMENT_CHARACTERS)
        if too_long:
            raise ServiceError(
                "InvalidRequest",
                f"Training failed: documents longer than {MAX_DOCUMENT_CHARACTERS} characters: "
                f"{', '.join(too_long)}.",
                inner_code="InvalidDocument",
            )
        labelled = [
            self._labelled_document(project.kind, d, batch.texts[d["location"]], project) for d in documents
        ]
        categories = [c["category"] for c in assets.get(category_key(project.kind), [])]
        try:
            result = learner.train(
                project.kind,
                categories,
                labelled,
                job.params["evaluationOptions"],
                job.params["trainingConfigVersion"],
                split_draw=int(job.params.get("splitDraw", 0)),
            )
        except learner.TrainingError as error:
            raise ServiceError("InvalidRequest", f"Training failed: {error}") from error
        self._keep_trained_model(job, project, assets, moment, result.model, result.evaluation_summary,
                                 result.document_results)

    def _keep_trained_model(
        self, job: Job, project: Project, assets: dict[str, Any], moment: datetime, model: Any,
        evaluation_summary: dict[str, Any], item_results: list[dict[str, Any]],
    ) -> None:
        """A finished :train job's model (artifact, config, data snapshot, evaluation), in any family."""
        config = next(
            c for c in self.state.training_configs if c.version == job.params["trainingConfigVersion"]
        )
        label = job.params["modelLabel"]
        new_id = model_id(label, moment)
        self.state.artifacts[new_id] = {"projectKind": project.kind, "model": model}
        self.state.models.setdefault(job.project, {})[label] = TrainedModel(
            label=label,
            model_id=new_id,
            trained=moment,
            training_seconds=max(1, round(job.duration.total_seconds())),
            config_version=config.version,
            expiration=config.model_expiration,
            snapshot={
                "metadata": copy.deepcopy(project.exported_metadata()),
                "assets": copy.deepcopy(assets),
            },
            evaluation_summary=evaluation_summary,
            document_results=item_results,
        )
        project.last_trained = moment
        self._collect_artifacts()

    @staticmethod
    def _labelled_document(kind: str, document: dict[str, Any], text: str, project: Project) -> Any:
        from emulator.learner import LabelledDocument

        spans: tuple[tuple[str, int, int], ...] = ()
        classes: tuple[str, ...] = ()
        if kind == NER:
            spans = tuple(
                (label["category"], label["offset"], label["length"])
                for region in document.get("entities", [])
                for label in region.get("labels", [])
            )
        elif document.get("class"):
            classes = (document["class"]["category"],)
        else:
            classes = tuple(c["category"] for c in document.get("classes", []))
        return LabelledDocument(
            location=document["location"],
            text=text,
            language=document.get("language") or project.metadata.get("language", "en"),
            dataset=document.get("dataset"),
            spans=spans,
            classes=classes,
        )

    # -- trained models --------------------------------------------------------------------------
    def list_models(self, name: str) -> list[TrainedModel]:
        with self.lock:
            self.settle()
            self._project(name)
            return sorted(self.state.models.get(name, {}).values(), key=lambda m: m.trained)

    def get_model(self, name: str, label: str) -> TrainedModel:
        with self.lock:
            self.settle()
            return self._model(name, label)

    def delete_model(self, name: str, label: str) -> None:
        with self.lock:
            self.settle()
            self._model(name, label)
            del self.state.models[name][label]
            self._collect_artifacts()
            self._save()

    def load_snapshot(self, name: str, label: str, api_version: str) -> Job:
        with self.lock:
            self.settle()
            self._model(name, label)
            self._refuse_while_training(name, "load a snapshot")
            return self._new_job("load-snapshot", name, api_version, {"modelLabel": label})

    def _apply_load_snapshot(self, job: Job, moment: datetime) -> None:
        model = self._model(job.project, job.params["modelLabel"])
        project = self._project(job.project)
        project.assets = copy.deepcopy(model.snapshot["assets"])
        project.last_modified = moment

    # -- deployments -----------------------------------------------------------------------------
    def deploy(self, name: str, deployment: str, body: Any, api_version: str) -> Job:
        require_name(deployment, "deployment name", "deploymentName")
        options = require_object(body)
        label = options.get("trainedModelLabel")
        if not isinstance(label, str) or not label:
            raise invalid("The property 'trainedModelLabel' is required.", "trainedModelLabel")
        with self.lock:
            now = self.settle()
            self._project(name)
            model = self.state.models.get(name, {}).get(label)
            if model is None:
                status = self.behaviour.deployMissingModelStatus
                raise ServiceError(
                    "NotFound" if status == 404 else "InvalidRequest",
                    f"The trained model '{label}' could not be found.",
                    status=status,
                    target="trainedModelLabel",
                )
            if model.expiration < now.date():
                raise invalid(
                    f"The trained model '{label}' expired on {model.expiration.isoformat()}; "
                    "retrain it with a supported training configuration.",
                    "trainedModelLabel",
                )
            existing = self.state.deployments.get(name, {})
            if deployment not in existing and len(existing) >= MAX_DEPLOYMENTS:
                raise ServiceError(
                    "InvalidRequest",
                    f"The project '{name}' already has the maximum of {MAX_DEPLOYMENTS} deployments.",
                    inner_code="InvalidParameterValue",
                    target="deploymentName",
                )
            # The model is pinned now: a retrain of the label while deploying does not change what is served.
            return self._new_job(
                "deploy",
                name,
                api_version,
                {
                    "deploymentName": deployment,
                    "modelLabel": label,
                    "modelId": model.model_id,
                },
            )

    def _apply_deploy(self, job: Job, moment: datetime) -> None:
        project = self._project(job.project)
        artifact_id = job.params["modelId"]
        if artifact_id not in self.state.artifacts:
            raise ServiceError(
                "InvalidRequest", f"The trained model '{job.params['modelLabel']}' no longer exists."
            )
        model = self.state.models.get(job.project, {}).get(job.params["modelLabel"])
        trained = model.trained if model and model.model_id == artifact_id else moment
        config_version = model.config_version if model else DEFAULT_CONFIG_VERSION
        expiration = (model.expiration if model else moment.date()) + DEPLOYMENT_GRACE
        self.state.deployments.setdefault(job.project, {})[job.params["deploymentName"]] = Deployment(
            name=job.params["deploymentName"],
            model_label=job.params["modelLabel"],
            model_id=artifact_id,
            last_trained=trained,
            last_deployed=moment,
            config_version=config_version,
            expiration=expiration,
        )
        project.last_deployed = moment

    def list_deployments(self, name: str) -> list[Deployment]:
        with self.lock:
            self.settle()
            self._project(name)
            return sorted(self.state.deployments.get(name, {}).values(), key=lambda d: d.name)

    def get_deployment(self, name: str, deployment: str) -> Deployment:
        with self.lock:
            self.settle()
            return self._deployment(name, deployment)

    def delete_deployment(self, name: str, deployment: str, api_version: str) -> Job:
        with self.lock:
            self.settle()
            self._deployment(name, deployment)
            return self._new_job("delete-deployment", name, api_version, {"deploymentName": deployment})

    def swap(self, name: str, body: Any, api_version: str) -> Job:
        options = require_object(body)
        first = require_name(options.get("firstDeploymentName"), "deployment name", "firstDeploymentName")
        second = require_name(options.get("secondDeploymentName"), "deployment name", "secondDeploymentName")
        if first == second:
            raise invalid("A deployment cannot be swapped with itself.", "secondDeploymentName")
        with self.lock:
            self.settle()
            self._deployment(name, first)
            self._deployment(name, second)
            return self._new_job(
                "swap", name, api_version, {"firstDeploymentName": first, "secondDeploymentName": second}
            )

    def _apply_swap(self, job: Job, moment: datetime) -> None:
        first = self._deployment(job.project, job.params["firstDeploymentName"])
        second = self._deployment(job.project, job.params["secondDeploymentName"])
        for attribute in ("model_label", "model_id", "last_trained", "config_version", "expiration"):
            a, b = getattr(first, attribute), getattr(second, attribute)
            setattr(first, attribute, b)
            setattr(second, attribute, a)
        first.last_deployed = second.last_deployed = moment

    # -- effects ---------------------------------------------------------------------------------
    def _apply(self, job: Job, moment: datetime) -> None:
        if job.kind == "import":
            self._apply_import(job, moment)
        elif job.kind == "train":
            self._apply_training(job, moment)
        elif job.kind == "deploy":
            self._apply_deploy(job, moment)
        elif job.kind == "delete-deployment":
            self._deployment(job.project, job.params["deploymentName"])
            del self.state.deployments[job.project][job.params["deploymentName"]]
            self._collect_artifacts()
        elif job.kind == "swap":
            self._apply_swap(job, moment)
        elif job.kind == "delete-project":
            self._project(job.project)
            del self.state.projects[job.project]
            self.state.models.pop(job.project, None)
            self.state.deployments.pop(job.project, None)
            self._collect_artifacts()
        elif job.kind == "load-snapshot":
            self._apply_load_snapshot(job, moment)
        elif job.kind == "export":
            self._project(job.project)

    def _collect_artifacts(self) -> None:
        """Drop learner artifacts no model or deployment refers to any more."""
        used = {m.model_id for models in self.state.models.values() for m in models.values()}
        used |= {d.model_id for deployments in self.state.deployments.values() for d in deployments.values()}
        for artifact in [a for a in self.state.artifacts if a not in used]:
            del self.state.artifacts[artifact]

    # -- runtime backend and inspection ----------------------------------------------------------
    def deployed_artifact(self, project: str, deployment: str) -> tuple[str, dict[str, Any]] | None:
        """(projectKind, model) served by a deployment; None when absent or expired."""
        with self.lock:
            now = self.settle()
            found = self.state.deployments.get(project, {}).get(deployment)
            if found is None or found.expiration < now.date():
                return None
            artifact = self.state.artifacts.get(found.model_id)
            if artifact is None:
                return None
            return str(artifact["projectKind"]), artifact["model"]

    def inspect_jobs(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.settle()
            return [
                {
                    "jobId": job.job_id,
                    "kind": job.kind,
                    "project": job.project,
                    "modelLabel": job.params.get("modelLabel"),
                    "deploymentName": job.params.get("deploymentName"),
                    "status": job.status(now),
                    "createdDateTime": format_datetime(job.created),
                    # When the job's outcome took effect (None while in flight), and its configured length.
                    "finishedDateTime": format_datetime(job.settled_at) if job.settled_at else None,
                    "durationSeconds": job.duration.total_seconds(),
                    "apiVersion": job.api_version,
                    "errors": job.errors,
                }
                for job in sorted(self.state.jobs.values(), key=lambda j: j.created)
            ]

    def expire_jobs(self, project: str) -> int:
        """Purge the project's finished jobs now, as 7 days would (its models are unaffected); how many."""
        with self.lock:
            self.settle()
            gone = [job_id for job_id, job in self.state.jobs.items()
                    if job.project == project and job.outcome]
            for job_id in gone:
                del self.state.jobs[job_id]
            if gone:
                self._save()
            return len(gone)

    # -- expiry controls -------------------------------------------------------------------------
    def set_model_expiration(self, project: str, label: str, when: date) -> TrainedModel:
        with self.lock:
            model = self._model(project, label)
            model.expiration = when
            self._save()
            return model

    def set_deployment_expiration(self, project: str, deployment: str, when: date) -> Deployment:
        with self.lock:
            found = self._deployment(project, deployment)
            found.expiration = when
            self._save()
            return found

    def set_training_config(self, version: str, when: date | None, offered: bool | None) -> TrainingConfig:
        with self.lock:
            config = next((c for c in self.state.training_configs if c.version == version), None)
            if config is None:
                if when is None:
                    raise invalid("modelExpirationDate is required for a new training configuration version.")
                config = TrainingConfig(version, when)
                self.state.training_configs.append(config)
            if when is not None:
                config.model_expiration = when
            if offered is not None:
                config.offered = offered
            self.state.training_configs.sort(key=lambda c: c.version)
            self._save()
            return config

"""The runtime (prediction) API: `/language/analyze-text/jobs` for custom NER and classification.

A job's answers are computed when it is submitted, from the model each deployment pins at that
moment, so redeploying later cannot change a job already accepted. Its visible status follows
from its creation time and the backend's clock: notStarted, then running, then its outcome once
`runtime_job_duration()` has passed; nothing runs in the background. Results are kept for the
retention period (24 hours, scaled like every other duration) and then answer 404.

Auth, roles, throttling and fault injection are the app's hooks; this module only serves the
routes and raises `ServiceError` for the service's errors.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import flask

from emulator.errors import ServiceError, error_object
from emulator.learner import PredictedEntity, predict_classes, predict_entities
from emulator.runtime_requests import (
    ENTITY_TASK,
    MULTI_LABEL_TASK,
    SINGLE_LABEL_TASK,
    AnalyzeRequest,
    InputDocument,
    TaskRequest,
    document_error,
    invalid,
    parse_analyze_request,
    parse_task,
)
from emulator.text_offsets import OffsetMap, grapheme_count
from emulator.versions import require_api_version

RUNTIME_API_VERSIONS = ("2022-05-01", "2023-04-01", "2024-11-01")
RESULT_RETENTION = timedelta(hours=24)
# The share of a job's duration it spends queued (notStarted) before it runs.
QUEUED_SHARE = 0.2
CHARACTERS_PER_TRANSACTION = 1000

MissingDeploymentBehaviour = Literal["reject", "fail-task"]


@dataclass(frozen=True)
class DeployedModel:
    project_kind: str
    model: Mapping[str, Any]


class RuntimeBackend(Protocol):
    def deployed_model(self, project_name: str, deployment_name: str) -> DeployedModel | None: ...

    def now(self) -> datetime:
        """Aware UTC."""
        ...

    def runtime_job_duration(self) -> timedelta:
        """Already multiplied by --time-scale."""
        ...


class FaultInjectingBackend(RuntimeBackend, Protocol):
    """Optionally, a backend can make the next runtime job fail (fault injection)."""

    def take_runtime_job_failure(self) -> Mapping[str, Any] | None:
        """The `{code, message}` error the job being submitted ends with, or None."""
        ...


@dataclass
class _TaskOutcome:
    request: TaskRequest
    # Per input document, in request order: ("document", body) or ("error", error object).
    documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: dict[str, Any] | None = None  # the task failed as a whole


@dataclass
class _Job:
    job_id: str
    api_version: str
    created: datetime
    duration: timedelta
    expires: datetime
    display_name: str | None
    documents: tuple[InputDocument, ...]
    tasks: list[_TaskOutcome]
    cancelled_at: datetime | None = None
    injected_failure: dict[str, Any] | None = None  # the job ends failed with this error

    @property
    def started(self) -> datetime:
        return self.created + self.duration * QUEUED_SHARE

    @property
    def finished(self) -> datetime:
        return self.created + self.duration


class RuntimeService:
    """Serves the runtime routes over a backend that knows the deployments."""

    def __init__(
        self,
        backend: RuntimeBackend,
        *,
        result_retention: timedelta = RESULT_RETENTION,
        missing_deployment: MissingDeploymentBehaviour = "reject",
    ) -> None:
        self._backend = backend
        self.result_retention = result_retention
        # Unknown project or deployment: "reject" refuses the POST with 404; "fail-task" accepts the
        # job and fails that task (the service's exact behaviour is unverified:
        # docs/reference/emulator-fidelity.md).
        self.missing_deployment: MissingDeploymentBehaviour = missing_deployment
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self.blueprint = self._make_blueprint()

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()

    # --- routes -------------------------------------------------------------------------------

    def _make_blueprint(self) -> flask.Blueprint:
        blueprint = flask.Blueprint("runtime", __name__)
        blueprint.register_error_handler(ServiceError, lambda error: error.response())
        blueprint.add_url_rule("/language/analyze-text/jobs", view_func=self._submit, methods=["POST"])
        blueprint.add_url_rule("/language/analyze-text/jobs/<job_id>", view_func=self._get, methods=["GET"])
        blueprint.add_url_rule(
            "/language/analyze-text/jobs/<job_id>:cancel", view_func=self._cancel, methods=["POST"]
        )
        blueprint.add_url_rule("/language/:analyze-text", view_func=self._analyze_sync, methods=["POST"])
        return blueprint

    def _submit(self) -> flask.Response:
        api_version = _api_version()
        request = parse_analyze_request(_json_body(), flask.request.content_length or 0)
        now = self._backend.now()
        tasks = [self._run_task(task, request) for task in request.tasks]
        duration = self._backend.runtime_job_duration()
        job = _Job(
            job_id=str(uuid.uuid4()),
            api_version=api_version,
            created=now,
            duration=duration,
            expires=now + self.result_retention,
            display_name=request.display_name,
            documents=request.documents,
            tasks=tasks,
            injected_failure=self._take_injected_failure(),
        )
        with self._lock:
            self._purge_expired(now)
            self._jobs[job.job_id] = job
        response = flask.Response(status=202)
        response.headers["Operation-Location"] = _job_url(job.job_id, {"api-version": api_version})
        return response

    def _take_injected_failure(self) -> dict[str, Any] | None:
        take = getattr(self._backend, "take_runtime_job_failure", None)
        failure = take() if callable(take) else None
        return dict(failure) if failure else None

    def _get(self, job_id: str) -> flask.Response:
        api_version = _api_version()
        show_stats = _flag("showStats")
        top = _non_negative_int("top")
        skip = _non_negative_int("skip") or 0
        job = self._job(job_id)
        return flask.jsonify(self._job_body(job, api_version, show_stats, top, skip))

    def _cancel(self, job_id: str) -> flask.Response:
        api_version = _api_version()
        now = self._backend.now()
        with self._lock:
            job = self._job_locked(job_id, now)
            # Cancelling a finished job changes nothing; the call is still accepted.
            if job.cancelled_at is None and now < job.finished:
                job.cancelled_at = now
        response = flask.Response(status=202)
        response.headers["Operation-Location"] = _job_url(job_id, {"api-version": api_version})
        return response

    def _analyze_sync(self) -> flask.Response:
        _api_version()
        body = _json_body()
        task = body.get("kind") if isinstance(body, Mapping) else None
        if task in (ENTITY_TASK, SINGLE_LABEL_TASK, MULTI_LABEL_TASK):
            raise invalid(
                f"The task kind '{task}' is not supported by the synchronous API; "
                "submit it to /language/analyze-text/jobs.",
                target="kind",
            )
        # Any other kind is a prebuilt feature (or nonsense): parse_task gives the right error.
        parse_task({"kind": task}, 0)
        raise AssertionError("parse_task accepts only custom kinds")  # pragma: no cover

    # --- jobs ---------------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            return self._job_locked(job_id, self._backend.now())

    def _job_locked(self, job_id: str, now: datetime) -> _Job:
        self._purge_expired(now)
        job = self._jobs.get(job_id)
        if job is None:
            raise ServiceError(
                "NotFound", f"The job '{job_id}' was not found; results are kept for 24 hours."
            )
        return job

    def _purge_expired(self, now: datetime) -> None:
        for job_id in [job_id for job_id, job in self._jobs.items() if job.expires <= now]:
            del self._jobs[job_id]

    def _run_task(self, task: TaskRequest, request: AnalyzeRequest) -> _TaskOutcome:
        outcome = _TaskOutcome(task)
        deployed = self._backend.deployed_model(task.project_name, task.deployment_name)
        if deployed is None:
            message = (
                f"The deployment '{task.deployment_name}' of project '{task.project_name}' was not found "
                "in this resource."
            )
            if self.missing_deployment == "reject":
                raise ServiceError("NotFound", message, status=404)
            outcome.error = error_object("NotFound", message)
            return outcome
        if deployed.project_kind != task.kind:
            raise invalid(
                f"The deployment '{task.deployment_name}' of project '{task.project_name}' serves a "
                f"{deployed.project_kind} model, which cannot run a {task.kind} task.",
                target="parameters/deploymentName",
            )
        for document in request.documents:
            error = document_error(document)
            if error is not None:
                outcome.documents.append(("error", {"id": document.id, "error": error}))
            else:
                outcome.documents.append(("document", _predict(task, deployed.model, document)))
        return outcome

    def _job_body(
        self, job: _Job, api_version: str, show_stats: bool, top: int | None, skip: int
    ) -> dict[str, Any]:
        now = self._backend.now()
        if job.cancelled_at is not None:
            status, updated = "cancelled", job.cancelled_at
        elif now < job.started:
            status, updated = "notStarted", job.created
        elif now < job.finished:
            status, updated = "running", job.started
        else:
            failed = sum(1 for task in job.tasks if task.error is not None or job.injected_failure)
            status = (
                "succeeded" if not failed else "failed" if failed == len(job.tasks) else "partiallyCompleted"
            )
            updated = job.finished
        finished = status in ("succeeded", "failed", "partiallyCompleted")
        page = list(range(len(job.documents)))[skip:]
        if top is not None:
            page = page[:top]
        page_ids = {job.documents[index].id for index in page}
        body: dict[str, Any] = {"jobId": job.job_id}
        if job.display_name is not None:
            body["displayName"] = job.display_name
        body.update(
            {
                "createdDateTime": _format(job.created),
                "expirationDateTime": _format(job.expires),
                "lastUpdatedDateTime": _format(updated),
                "status": status,
                "errors": [],
            }
        )
        items: list[dict[str, Any]] = []
        for index, task in enumerate(job.tasks):
            if not finished:
                continue
            item: dict[str, Any] = {"kind": f"{task.request.kind}LROResults"}
            if task.request.task_name is not None:
                item["taskName"] = task.request.task_name
            item["lastUpdateDateTime"] = _format(job.finished)
            error = task.error or job.injected_failure
            if error is not None:
                item["status"] = "failed"
                body["errors"].append({**error, "target": f"#/tasks/items/{index}"})
            else:
                item["status"] = "succeeded"
                item["results"] = _task_results(task, page_ids, show_stats)
            items.append(item)
        completed = sum(1 for item in items if item["status"] == "succeeded")
        failed_count = sum(1 for item in items if item["status"] == "failed")
        body["tasks"] = {
            "completed": completed,
            "failed": failed_count,
            "inProgress": 0 if finished or status == "cancelled" else len(job.tasks),
            "total": len(job.tasks),
            "items": items,
        }
        if show_stats and finished:
            body["statistics"] = _request_statistics(job.documents, page_ids)
        if finished and top is not None and skip + top < len(job.documents):
            query: dict[str, Any] = {"api-version": api_version, "skip": skip + top, "top": top}
            if show_stats:
                query["showStats"] = "true"
            body["nextLink"] = _job_url(job.job_id, query)
        return body


# --- predictions and result bodies ----------------------------------------------------------------


def _predict(task: TaskRequest, model: Mapping[str, Any], document: InputDocument) -> dict[str, Any]:
    body: dict[str, Any] = {"id": document.id}
    if task.kind == ENTITY_TASK:
        offsets = OffsetMap(document.text)
        body["entities"] = [
            _entity_body(entity, document.text, offsets, task.string_index_type)
            for entity in predict_entities(model, document.text)
        ]
    else:
        body["class"] = [
            {"category": predicted.category, "confidenceScore": predicted.confidence}
            for predicted in predict_classes(model, document.text)
        ]
    body["warnings"] = []
    body["statistics"] = _document_statistics(document)
    return body


def _entity_body(entity: PredictedEntity, text: str, offsets: OffsetMap, index_type: str) -> dict[str, Any]:
    end = entity.offset + entity.length
    offset, length = offsets.from_code_points(entity.offset, end, index_type)
    return {
        "text": text[entity.offset : end],
        "category": entity.category,
        "offset": offset,
        "length": length,
        "confidenceScore": entity.confidence,
    }


def _task_results(task: _TaskOutcome, page_ids: set[str], show_stats: bool) -> dict[str, Any]:
    documents: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for kind, entry in task.documents:
        if entry["id"] not in page_ids:
            continue
        if kind == "error":
            errors.append(entry)
            continue
        document = dict(entry)
        statistics = document.pop("statistics")
        if show_stats:
            document["statistics"] = statistics
        documents.append(document)
    results: dict[str, Any] = {
        "projectName": task.request.project_name,
        "deploymentName": task.request.deployment_name,
        "documents": documents,
        "errors": errors,
    }
    if show_stats:
        results["statistics"] = {
            "documentsCount": len(documents) + len(errors),
            "validDocumentsCount": len(documents),
            "erroneousDocumentsCount": len(errors),
            "transactionsCount": sum(document["statistics"]["transactionsCount"] for document in documents),
        }
    return results


def _document_statistics(document: InputDocument) -> dict[str, int]:
    characters = grapheme_count(document.text)
    return {
        "charactersCount": characters,
        "transactionsCount": max(1, math.ceil(characters / CHARACTERS_PER_TRANSACTION)),
    }


def _request_statistics(documents: Sequence[InputDocument], page_ids: set[str]) -> dict[str, int]:
    page = [document for document in documents if document.id in page_ids]
    valid = [document for document in page if document_error(document) is None]
    return {
        "documentsCount": len(page),
        "validDocumentsCount": len(valid),
        "erroneousDocumentsCount": len(page) - len(valid),
        "transactionsCount": sum(_document_statistics(document)["transactionsCount"] for document in valid),
    }


# --- request helpers ------------------------------------------------------------------------------


def _api_version() -> str:
    return require_api_version(flask.request.args.get("api-version"), RUNTIME_API_VERSIONS)


def _json_body() -> Any:
    raw = flask.request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(
            f"The request body is not valid JSON: {error}.", inner_code="InvalidRequestBodyFormat"
        ) from error


def _flag(name: str) -> bool:
    value = flask.request.args.get(name, "false").lower()
    if value not in ("true", "false"):
        raise invalid(f"The parameter '{name}' must be true or false.", target=name)
    return value == "true"


def _non_negative_int(name: str) -> int | None:
    value = flask.request.args.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid(f"The parameter '{name}' must be a non-negative integer.", target=name)
    return int(value)


def _job_url(job_id: str, query: Mapping[str, Any]) -> str:
    return f"{flask.request.host_url}language/analyze-text/jobs/{job_id}?{urlencode(query)}"


def _format(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

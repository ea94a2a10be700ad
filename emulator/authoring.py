"""The authoring REST API (`/language/authoring/analyze-text/...`), api-versions 2022-05-01 and 2023-04-01."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.errors import ServiceError
from emulator.jobs import SUCCEEDED, Job
from emulator.paths import TEXT_AUTHORING_PREFIX
from emulator.resource import LanguageResource
from emulator.state import Deployment, Project, TrainedModel
from emulator.timefmt import format_date, format_datetime
from emulator.validation import PROJECT_KINDS, SINGLE_LABEL, require_string_index_type
from emulator.versions import AUTHORING_API_VERSIONS, V2022, require_api_version
from emulator.web import absolute, accepted, json_body, page

PREFIX = TEXT_AUTHORING_PREFIX


def project_dates(project: Project) -> dict[str, Any]:
    """A project body's timestamps, alike in every authoring API (trained and deployed ones once set)."""
    dates: dict[str, Any] = {
        "createdDateTime": format_datetime(project.created),
        "lastModifiedDateTime": format_datetime(project.last_modified),
    }
    if project.last_trained is not None:
        dates["lastTrainedDateTime"] = format_datetime(project.last_trained)
    if project.last_deployed is not None:
        dates["lastDeployedDateTime"] = format_datetime(project.last_deployed)
    return dates


def project_body(project: Project, api_version: str) -> dict[str, Any]:
    body = project_dates(project)
    metadata = project.metadata
    body.update(
        {
            "projectKind": project.kind,
            "storageInputContainerName": metadata["storageInputContainerName"],
            "settings": {} if api_version == V2022 else dict(metadata.get("settings", {})),
            "projectName": project.name,
            "multilingual": bool(metadata.get("multilingual", False)),
            "description": metadata.get("description", ""),
            "language": metadata["language"],
        }
    )
    return body


def model_body(model: TrainedModel, api_version: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "label": model.label,
        "modelId": model.model_id,
        "lastTrainedDateTime": format_datetime(model.trained),
        "lastTrainingDurationInSeconds": model.training_seconds,
        "modelExpirationDate": format_date(model.expiration),
        "modelTrainingConfigVersion": model.config_version,
    }
    if api_version != V2022:
        body["hasSnapshot"] = True
    return body


def deployment_body(deployment: Deployment) -> dict[str, Any]:
    return {
        "deploymentName": deployment.name,
        "modelId": deployment.model_id,
        "lastTrainedDateTime": format_datetime(deployment.last_trained),
        "lastDeployedDateTime": format_datetime(deployment.last_deployed),
        "deploymentExpirationDate": format_date(deployment.expiration),
        "modelTrainingConfigVersion": deployment.config_version,
    }


@dataclass(frozen=True)
class AuthoringSurface:
    """What differs between the authoring APIs these routes serve (analyze-text, analyze-conversations)."""

    name: str
    prefix: str
    project_body: Callable[[Project, str], dict[str, Any]]
    project_kinds: tuple[str, ...]
    default_project_kind: str


TEXT_SURFACE = AuthoringSurface("authoring", PREFIX, project_body, PROJECT_KINDS, SINGLE_LABEL)


def create_authoring_blueprint(
    resource: LanguageResource, surface: AuthoringSurface = TEXT_SURFACE
) -> Blueprint:
    """The authoring routes over `resource`; the same job, paging and error semantics for every surface."""
    prefix = surface.prefix
    project_body = surface.project_body
    blueprint = Blueprint(surface.name, __name__, url_prefix=prefix)

    def version() -> str:
        return require_api_version(request.args.get("api-version"), AUTHORING_API_VERSIONS)

    def since_2023(operation: str) -> str:
        api_version = version()
        if api_version == V2022:
            raise ServiceError(
                "OperationNotFound", f"The operation '{operation}' is not available in api-version {V2022}."
            )
        return api_version

    def job_location(path: str, job: Job) -> str:
        return absolute(f"{prefix}{path}/{job.job_id}", job.api_version)

    def job_response(job: Job, **extra: Any) -> Response:
        return jsonify({**extra, **job.state_body(resource.now())})

    @blueprint.before_request
    def check_version() -> None:
        version()

    # -- projects --------------------------------------------------------------------------------
    @blueprint.get("/projects")
    def list_projects() -> Response:
        api_version = version()
        return jsonify(page([project_body(p, api_version) for p in resource.list_projects()]))

    @blueprint.get("/projects/<project>")
    def get_project(project: str) -> Response:
        return jsonify(project_body(resource.get_project(project), version()))

    @blueprint.patch("/projects/<project>")
    def create_project(project: str) -> Response:
        created, is_new = resource.create_or_update_project(project, json_body())
        response = jsonify(project_body(created, version()))
        response.status_code = 201 if is_new else 200
        return response

    @blueprint.delete("/projects/<project>")
    def delete_project(project: str) -> Response:
        job = resource.delete_project(project, version())
        return accepted(job_location("/projects/global/deletion-jobs", job))

    @blueprint.get("/projects/global/deletion-jobs/<job_id>")
    def deletion_job(job_id: str) -> Response:
        return job_response(resource.deletion_job(job_id))

    @blueprint.get("/projects/global/training-config-versions")
    def training_config_versions() -> Response:
        api_version = version()
        kind = request.args.get("projectKind")
        if kind is None and api_version == V2022:
            raise ServiceError(
                "InvalidArgument",
                "The query parameter 'projectKind' is required.",
                inner_code="InvalidParameterValue",
                target="projectKind",
            )
        kind = kind or surface.default_project_kind
        if kind not in surface.project_kinds:
            raise ServiceError(
                "InvalidArgument",
                f"The project kind '{kind}' is not supported.",
                inner_code="InvalidParameterValue",
                target="projectKind",
            )
        return jsonify(
            page(
                [
                    {
                        "trainingConfigVersion": c.version,
                        "modelExpirationDate": format_date(c.model_expiration),
                    }
                    for c in resource.training_configs(kind)
                ]
            )
        )

    @blueprint.get("/projects/global/languages")
    def languages() -> Response:
        version()
        names = {
            "en": "English",
            "en-us": "English (US)",
            "de": "German",
            "fr": "French",
            "es": "Spanish",
            "it": "Italian",
            "ja": "Japanese",
            "pt-br": "Portuguese (Brazil)",
            "zh-hans": "Chinese Simplified",
        }
        return jsonify(page([{"languageName": n, "languageCode": c} for c, n in names.items()]))

    # -- import / export -------------------------------------------------------------------------
    @blueprint.post("/projects/<project>/:import")
    def import_project(project: str) -> Response:
        job = resource.import_project(project, json_body(), version())
        return accepted(job_location(f"/projects/{project}/import/jobs", job))

    @blueprint.get("/projects/<project>/import/jobs/<job_id>")
    def import_job(project: str, job_id: str) -> Response:
        return job_response(resource.job(project, job_id, ("import",)))

    @blueprint.post("/projects/<project>/:export")
    def export_project(project: str) -> Response:
        api_version = version()
        json_body(required=False)  # the docs send {"assetsToExport": ["*"]}; accepted and ignored
        label = request.args.get("trainedModelLabel") if api_version != V2022 else None
        job = resource.export_project(project, request.args.get("stringIndexType"), label, api_version)
        return accepted(job_location(f"/projects/{project}/export/jobs", job))

    @blueprint.get("/projects/<project>/export/jobs/<job_id>")
    def export_job(project: str, job_id: str) -> Response:
        job = resource.job(project, job_id, ("export",))
        if job.status(resource.now()) == SUCCEEDED:
            result_url = absolute(f"{prefix}/projects/{project}/export/jobs/{job_id}/result", job.api_version)
            return job_response(job, resultUrl=result_url)
        return job_response(job)

    @blueprint.get("/projects/<project>/export/jobs/<job_id>/result")
    def export_result(project: str, job_id: str) -> Response:
        return jsonify(resource.export_result(project, job_id))

    # -- training --------------------------------------------------------------------------------
    @blueprint.post("/projects/<project>/:train")
    def train(project: str) -> Response:
        job = resource.train(project, json_body(), version())
        return accepted(job_location(f"/projects/{project}/train/jobs", job))

    def training_job_body(job: Job, now: datetime) -> dict[str, Any]:
        return {"result": resource.training_result(job, now), **job.state_body(now)}

    @blueprint.get("/projects/<project>/train/jobs")
    def training_jobs(project: str) -> Response:
        jobs = resource.list_training_jobs(project)
        now = resource.now()
        return jsonify(page([training_job_body(j, now) for j in jobs]))

    @blueprint.get("/projects/<project>/train/jobs/<job_id>")
    def training_job(project: str, job_id: str) -> Response:
        job = resource.job(project, job_id, ("train",))
        return jsonify(training_job_body(job, resource.now()))

    @blueprint.post("/projects/<project>/train/jobs/<job_id>/:cancel")
    def cancel_training(project: str, job_id: str) -> Response:
        job = resource.cancel_training(project, job_id)
        # The cancel's operation-location is the training job itself, polled until `cancelled`.
        return accepted(absolute(f"{prefix}/projects/{project}/train/jobs/{job.job_id}", version()))

    # -- trained models --------------------------------------------------------------------------
    @blueprint.get("/projects/<project>/models")
    def list_models(project: str) -> Response:
        api_version = version()
        return jsonify(page([model_body(m, api_version) for m in resource.list_models(project)]))

    @blueprint.get("/projects/<project>/models/<label>")
    def get_model(project: str, label: str) -> Response:
        return jsonify(model_body(resource.get_model(project, label), version()))

    @blueprint.delete("/projects/<project>/models/<label>")
    def delete_model(project: str, label: str) -> Response:
        resource.delete_model(project, label)
        return Response(status=204)

    @blueprint.get("/projects/<project>/models/<label>/evaluation/summary-result")
    def evaluation_summary(project: str, label: str) -> Response:
        return jsonify(resource.get_model(project, label).evaluation_summary)

    @blueprint.get("/projects/<project>/models/<label>/evaluation/result")
    def evaluation_results(project: str, label: str) -> Response:
        require_string_index_type(request.args.get("stringIndexType"))
        return jsonify(page(resource.get_model(project, label).document_results))

    @blueprint.post("/projects/<project>/models/<label>/:load-snapshot")
    def load_snapshot(project: str, label: str) -> Response:
        job = resource.load_snapshot(project, label, since_2023(":load-snapshot"))
        return accepted(job_location(f"/projects/{project}/models/{label}/load-snapshot/jobs", job))

    @blueprint.get("/projects/<project>/models/<label>/load-snapshot/jobs/<job_id>")
    def load_snapshot_job(project: str, label: str, job_id: str) -> Response:
        since_2023("load-snapshot status")
        return job_response(resource.job(project, job_id, ("load-snapshot",), modelLabel=label))

    # -- deployments -----------------------------------------------------------------------------
    @blueprint.get("/projects/<project>/deployments")
    def list_deployments(project: str) -> Response:
        return jsonify(page([deployment_body(d) for d in resource.list_deployments(project)]))

    @blueprint.get("/projects/<project>/deployments/<deployment>")
    def get_deployment(project: str, deployment: str) -> Response:
        return jsonify(deployment_body(resource.get_deployment(project, deployment)))

    @blueprint.put("/projects/<project>/deployments/<deployment>")
    def deploy(project: str, deployment: str) -> Response:
        job = resource.deploy(project, deployment, json_body(), version())
        return accepted(job_location(f"/projects/{project}/deployments/{deployment}/jobs", job))

    @blueprint.delete("/projects/<project>/deployments/<deployment>")
    def delete_deployment(project: str, deployment: str) -> Response:
        job = resource.delete_deployment(project, deployment, version())
        return accepted(job_location(f"/projects/{project}/deployments/{deployment}/jobs", job))

    @blueprint.get("/projects/<project>/deployments/<deployment>/jobs/<job_id>")
    def deployment_job(project: str, deployment: str, job_id: str) -> Response:
        return job_response(
            resource.job(project, job_id, ("deploy", "delete-deployment"), deploymentName=deployment)
        )

    @blueprint.post("/projects/<project>/deployments/:swap")
    def swap(project: str) -> Response:
        job = resource.swap(project, json_body(), version())
        return accepted(job_location(f"/projects/{project}/deployments/swap/jobs", job))

    @blueprint.get("/projects/<project>/deployments/swap/jobs/<job_id>")
    def swap_job(project: str, job_id: str) -> Response:
        return job_response(resource.job(project, job_id, ("swap",)))

    return blueprint

"""HTTP API for backup and recovery (function keys required): the snapshot catalogue, restore, retention
and the expiry watch.

- `GET snapshots/{project}`: the project's snapshots, newest first;
- `GET snapshots/{project}/{snapshot}`: one (name after `project/`, a unique prefix of it, or `latest`),
  its bytes verified;
- `GET snapshot-diffs/{project}?old=...&new=...`: what changed between two of them;
- `POST restores` `{"snapshot", "target", "project"?, "train"?, "modelLabel"?, "deployments"?,
  "trainingConfigVersion"?}`: starts a restore run, 202 with `Location` to poll;
- `GET restores/{project}/{runId}`: the run;
- `POST retention?dryRun=true`: the retention sweep now; `GET expiry`: the expiry watch.

Handlers take the request and an engine provider, so tests call exactly what the host calls.
"""

import re
from typing import Any

import azure.functions as func

from shared.errors import InvalidRequest, MissingParameter, UnknownProject
from shared.functions.engine_provider import EngineProvider, engines
from shared.functions.json_http import answer, json_response, read_json_object
from shared.functions.routes import api_url, checked_name, route_name
from shared.names import IDENTIFIER, PROJECT_NAME, is_valid_name

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

# The part of a snapshot's name after "project/", a unique prefix of it, or "latest".
SNAPSHOT_PART = re.compile(r"[A-Za-z0-9_.-]{1,80}")
# How the restore body spells the service's parameters (shared.errors.MissingParameter names them in Python).
RESTORE_BODY_FIELDS = {"model_label": "modelLabel"}
RESTORE_FIELDS = ("snapshot", "target", "project", "train", "modelLabel", "deployments",
                  "trainingConfigVersion")
RETENTION_FIELDS = ("dryRun",)


@bp.route(route="snapshots/{project}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_snapshots(req: func.HttpRequest) -> func.HttpResponse:
    return handle_list_snapshots(req, engines)


@bp.route(route="snapshots/{project}/{snapshot}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def show_snapshot(req: func.HttpRequest) -> func.HttpResponse:
    return handle_show_snapshot(req, engines)


@bp.route(route="snapshot-diffs/{project}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def diff_snapshots(req: func.HttpRequest) -> func.HttpResponse:
    return handle_diff_snapshots(req, engines)


@bp.route(route="restores", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def start_restore(req: func.HttpRequest) -> func.HttpResponse:
    return handle_start_restore(req, engines)


@bp.route(route="restores/{project}/{runId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_restore(req: func.HttpRequest) -> func.HttpResponse:
    return handle_get_restore(req, engines)


@bp.route(route="retention", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def run_retention(req: func.HttpRequest) -> func.HttpResponse:
    return handle_retention(req, engines)


@bp.route(route="expiry", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_expiry(req: func.HttpRequest) -> func.HttpResponse:
    return handle_expiry(req, engines)


def handle_list_snapshots(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def list_them() -> func.HttpResponse:
        from shared.recovery.catalogue import SnapshotCatalogue

        project = route_name(req, "project", PROJECT_NAME)
        engine = provider.get()
        infos = SnapshotCatalogue(engine.snapshots).list(project)
        # As for runs: snapshots of a project no longer replicated stay listed; a name we never knew is a 404.
        if not infos and not engine.settings.is_replicated(project):
            raise UnknownProject(project)
        return json_response({"project": project, "snapshots": [info.to_json() for info in infos]})

    return answer(list_them)


def handle_show_snapshot(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def show() -> func.HttpResponse:
        from shared.recovery.catalogue import SnapshotCatalogue

        project = route_name(req, "project", PROJECT_NAME)
        part = route_name(req, "snapshot", SNAPSHOT_PART)
        reference = f"{project}@latest" if part == "latest" else f"{project}/{part}"
        return json_response(SnapshotCatalogue(provider.get().snapshots).show(reference))

    return answer(show)


def handle_diff_snapshots(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def diff() -> func.HttpResponse:
        from shared.recovery.catalogue import SnapshotCatalogue

        project = route_name(req, "project", PROJECT_NAME)
        references = []
        for name in ("old", "new"):
            part = req.params.get(name, "")
            if not is_valid_name(part, SNAPSHOT_PART):
                raise InvalidRequest(f"query parameter {name!r} must name a snapshot of {project} "
                                     "(the part after 'project/', a unique prefix of it, or latest)")
            references.append(f"{project}@latest" if part == "latest" else f"{project}/{part}")
        result = SnapshotCatalogue(provider.get().snapshots).diff(references[0], references[1])
        return json_response(result.to_json())

    return answer(diff)


def handle_start_restore(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def start() -> func.HttpResponse:
        from shared.recovery.restore import RestoreRequest, RestoreService

        body = read_json_object(req, RESTORE_FIELDS)
        snapshot = _text(body, "snapshot")
        if snapshot is None:
            raise InvalidRequest(
                "'snapshot' is required: a snapshot name, a unique prefix of it, or Project@latest"
            )
        _check_snapshot_reference(snapshot)
        deployments = body.get("deployments")
        if deployments is not None and (not isinstance(deployments, list)
                                        or not all(isinstance(d, str) for d in deployments)):
            raise InvalidRequest("'deployments' must be a list of deployment names")
        for deployment in deployments or ():
            checked_name("deployment", deployment, PROJECT_NAME)
        train = body.get("train", False)
        if not isinstance(train, bool):
            raise InvalidRequest("'train' must be true or false")
        request = RestoreRequest(snapshot, target=_name(body, "target") or "primary",
                                 project=_name(body, "project"), train=train,
                                 model_label=_name(body, "modelLabel"), deployments=deployments,
                                 training_config_version=_text(body, "trainingConfigVersion"))
        try:
            started = RestoreService(provider.get()).start(request, trigger="http")
        except MissingParameter as missing:
            field = RESTORE_BODY_FIELDS.get(missing.parameter, missing.parameter)
            raise InvalidRequest(missing.naming(f"'{field}'")) from None
        location = api_url(req, "restores", started.project, started.run_id)
        return json_response({**started.to_json(), "statusUrl": location}, 202, {"Location": location})

    return answer(start)


def handle_get_restore(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def get() -> func.HttpResponse:
        project = route_name(req, "project", PROJECT_NAME)
        run_id = route_name(req, "runId", IDENTIFIER)
        return json_response(provider.get().get_run(project, run_id).to_json())

    return answer(get)


def handle_retention(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def sweep() -> func.HttpResponse:
        from shared.recovery.upkeep import Maintenance

        dry_run = _retention_dry_run(req)  # before any engine work: a bad request deletes nothing
        report = Maintenance(provider.get()).retention(dry_run=dry_run)
        return json_response(report.to_json())

    return answer(sweep)


def handle_expiry(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def expiry() -> func.HttpResponse:
        from shared.recovery.upkeep import Maintenance

        return json_response(Maintenance(provider.get()).expiry().to_json())

    return answer(expiry)


def _retention_dry_run(req: func.HttpRequest) -> bool:
    """`?dryRun=true`, or `{"dryRun": true}` in the body: both are honoured, since a sweep deletes."""
    query = req.params.get("dryRun")
    if query is not None and query.lower() not in ("true", "false"):
        raise InvalidRequest("the dryRun query parameter must be true or false")
    body = read_json_object(req, RETENTION_FIELDS).get("dryRun")
    if body is not None and not isinstance(body, bool):
        raise InvalidRequest("dryRun in the body must be true or false")
    if query is not None and body is not None and (query.lower() == "true") != body:
        raise InvalidRequest("dryRun is given twice, in the query and the body, with different values")
    return body if body is not None else query is not None and query.lower() == "true"


def _check_snapshot_reference(reference: str) -> None:
    """`Project/<name or prefix>` or `Project@latest`: the names in it follow the one name rule."""
    project, separator, rest = reference.partition("@" if "/" not in reference else "/")
    if separator:
        checked_name("project", project, PROJECT_NAME)
        if rest and not is_valid_name(rest, SNAPSHOT_PART):
            raise InvalidRequest("'snapshot' names no snapshot: use Project/<time>-<hash>.json, a unique "
                                 "prefix of it, or Project@latest")


def _name(body: dict[str, Any], field: str) -> str | None:
    value = _text(body, field)
    return None if value is None else checked_name(field, value, PROJECT_NAME)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"'{name}' must be a non-empty string")
    return value.strip()


"""The HTTP API over the replication engine (function keys required; health lives in health.py).

Each function is a one-line shim over a `handle_*` function that takes the request and the engine
provider, so tests drive exactly what the host calls with real `func.HttpRequest` objects.
"""

from typing import TYPE_CHECKING, Any

import azure.functions as func

from shared.errors import InvalidRequest, UnknownProject
from shared.functions.engine_provider import EngineProvider, engines
from shared.functions.json_http import (
    answer,
    json_response,
    read_json_object,
    refuse_body,
    retry_later_response,
)
from shared.functions.routes import api_url, checked_name, query_name, quoted, route_name
from shared.functions.telemetry import report_recovery_point_ages
from shared.names import IDENTIFIER, PROJECT_NAME
from shared.redaction import redact

if TYPE_CHECKING:
    from shared.engine import RunStart

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

START_FIELDS = ("projects", "force", "dryRun")
FINISHED_RUN_STATES = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_RUN_LIMIT = 20
MAX_RUN_LIMIT = 100


@bp.route(route="replications", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def start_replications(req: func.HttpRequest) -> func.HttpResponse:
    return handle_start_replications(req, engines)


@bp.route(route="replications/{project}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_replications(req: func.HttpRequest) -> func.HttpResponse:
    return handle_list_replications(req, engines)


@bp.route(route="replications/{project}/{runId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_replication(req: func.HttpRequest) -> func.HttpResponse:
    return handle_get_replication(req, engines)


@bp.route(
    route="replications/{project}/{runId}/steps/{step}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION
)
def redrive_replication_step(req: func.HttpRequest) -> func.HttpResponse:
    return handle_redrive_step(req, engines)


@bp.route(route="replications/{project}/{runId}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def cancel_replication(req: func.HttpRequest) -> func.HttpResponse:
    return handle_cancel_replication(req, engines)


@bp.route(route="drift", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_drift(req: func.HttpRequest) -> func.HttpResponse:
    return handle_drift(req, engines)


@bp.route(route="doctor", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_doctor(req: func.HttpRequest) -> func.HttpResponse:
    return handle_doctor(req, engines)


def handle_start_replications(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """Manual trigger: 202 when a run started, 409 naming the active run, 200 for a plan or nothing to do;
    503 with Retry-After when planning was throttled (an HTTP answer cannot wait), 502 when it failed."""

    def start() -> func.HttpResponse:
        body = read_json_object(req, START_FIELDS)
        projects = _project_list(body.get("projects"))
        force = _flag(body, "force")
        dry_run = _flag(body, "dryRun")
        starts = provider.get().start_runs(projects, force=force, dry_run=dry_run, trigger="http")
        return _started_response(req, starts, dry_run)

    return answer(start)


def handle_list_replications(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def list_runs() -> func.HttpResponse:
        project = route_name(req, "project", PROJECT_NAME)
        target = query_name(req, "target", PROJECT_NAME)
        limit = _limit(req)
        engine = provider.get()
        if target is not None and target not in engine.settings.target_names():
            raise InvalidRequest(f"unknown target {target!r}; configured: {engine.settings.target_names()}")
        runs = engine.list_runs(project, target, limit)
        # Runs of a project no longer replicated stay readable; a name we never knew is a 404.
        if not runs and not engine.settings.is_replicated(project):
            raise UnknownProject(project)
        return json_response({"project": project, "runs": [run.to_json() for run in runs]})

    return answer(list_runs)


def handle_get_replication(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    def get_run() -> func.HttpResponse:
        project = route_name(req, "project", PROJECT_NAME)
        run_id = route_name(req, "runId", IDENTIFIER)
        return json_response(provider.get().get_run(project, run_id).to_json())

    return answer(get_run)


def handle_redrive_step(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """Re-drive one step; the engine makes it idempotent (a succeeded step is not redone).

    By default the step is handed to the queue (202, poll Location). With `?run=now` one slice of it is
    executed in this request, under the same claim, fence and run lock as the queue trigger, and the
    answer is the step's new state (200); a slice already executing it is a 409 naming it. Either way
    the queue stays the durable driver of whatever follows.
    """

    def redrive() -> func.HttpResponse:
        refuse_body(req)
        project = route_name(req, "project", PROJECT_NAME)
        run_id = route_name(req, "runId", IDENTIFIER)
        step = route_name(req, "step", IDENTIFIER)
        mode = req.params.get("run")
        if mode not in (None, "", "queued", "now"):
            raise InvalidRequest("run must be now (one slice in this request) or queued (the default)")
        location = {"Location": _run_url(req, project, run_id)}
        if mode == "now":
            manifest = provider.get().run_step_now(project, run_id, step)
            current = manifest.current_step()
            return json_response({"runId": run_id, "status": manifest.status,
                                  "step": manifest.step(step).to_json(),
                                  "currentStep": current.name if current else None,
                                  "error": manifest.error}, 200, location)
        manifest = provider.get().redrive_step(project, run_id, step)
        return json_response(manifest.to_json(), 202, location)

    return answer(redrive)


def handle_cancel_replication(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """Ask the run to stop; a job already submitted is cancelled by the run's next slice, so poll Location."""

    def cancel() -> func.HttpResponse:
        refuse_body(req)
        project = route_name(req, "project", PROJECT_NAME)
        run_id = route_name(req, "runId", IDENTIFIER)
        manifest = provider.get().cancel_run(project, run_id).to_json()
        if manifest.get("status") in FINISHED_RUN_STATES:
            return json_response(manifest, 200)
        return json_response(manifest, 202, {"Location": _run_url(req, project, run_id)})

    return answer(cancel)


def handle_drift(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """The drift report as JSON, or as the CLI's text with `?format=text`."""

    def drift() -> func.HttpResponse:
        output = req.params.get("format", "json")
        if output not in ("json", "text"):
            raise InvalidRequest(f"format must be 'json' or 'text', not {quoted(output)}")
        report = provider.get().drift_report()
        body = report.to_json()
        report_recovery_point_ages(body)
        if output == "text":
            return func.HttpResponse(report.to_text(), mimetype="text/plain", charset="utf-8")
        return json_response(body)

    return answer(drift)


def handle_doctor(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """The doctor's checks as JSON (`ok` false when one failed), or as the CLI's text with `?format=text`.

    200 either way: the checks ran; what they found is in the body.
    """
    from shared.doctor import run_doctor

    def doctor() -> func.HttpResponse:
        output = req.params.get("format", "json")
        if output not in ("json", "text"):
            raise InvalidRequest("format must be 'json' or 'text'")
        report = run_doctor(provider.get())
        if output == "text":
            return func.HttpResponse(report.to_text(), mimetype="text/plain", charset="utf-8")
        return json_response(report.to_json())

    return answer(doctor)


def _started_response(req: func.HttpRequest, starts: "list[RunStart]", dry_run: bool) -> func.HttpResponse:
    runs: list[dict[str, Any]] = []
    for start in starts:
        run = start.to_json()
        run_id = start.run_id if start.status == "started" else start.active_run_id
        if run_id:
            run["location"] = _run_url(req, start.project, run_id)
        runs.append(run)
    started = [(s.project, s.run_id) for s in starts if s.status == "started" and s.run_id]
    if started:
        project, run_id = started[0]
        return json_response({"runs": runs}, 202, {"Location": _run_url(req, project, run_id)})
    active = [start for start in starts if start.status == "already_active" and start.active_run_id]
    if active:
        names = ", ".join(f"{start.project} → {start.target}: run {start.active_run_id}" for start in active)
        error = {
            "code": "RunConflict",
            "message": f"a replication is already running ({names}); poll it, or cancel it first",
            "activeRunId": active[0].active_run_id,
        }
        headers = {"Location": _run_url(req, active[0].project, str(active[0].active_run_id))}
        return json_response({"error": error, "runs": runs}, 409, headers)
    diverged = [start for start in starts if start.status == "diverged"]
    errors = [start for start in starts if start.status == "error"]
    if errors and not diverged:
        messages = "; ".join(f"{s.project} → {s.target}: {(s.plan or {}).get('error', 'failed')}"
                             for s in errors)
        delays = [start.retry_after for start in errors if start.retry_after is not None]
        if delays:
            return retry_later_response(max(delays), f"could not plan now ({messages})", runs=runs)
        failed = {"code": "DependencyFailed", "message": redact(f"could not plan ({messages})")}
        return json_response({"error": failed, "runs": runs}, 502)
    if diverged and not dry_run:
        names = ", ".join(f"{start.project} → {start.target}" for start in diverged)
        error = {
            "code": "SecondaryDiverged",
            "message": f"the secondary was edited after our last import ({names}); it is not overwritten "
            "unless you pass \"force\": true",
        }
        return json_response({"error": error, "runs": runs}, 409)
    # A dry run's plan, or every project already in sync: nothing was started.
    return json_response({"runs": runs}, 200)


def _run_url(req: func.HttpRequest, project: str, run_id: str) -> str:
    return api_url(req, "replications", project, run_id)


def _project_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InvalidRequest("projects must be a non-empty list of project names; omit it for all projects")
    for name in value:
        checked_name("project name", name, PROJECT_NAME)
    return list(dict.fromkeys(value))


def _flag(body: dict[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{field} must be true or false, not {quoted(value)}")
    return value


def _limit(req: func.HttpRequest) -> int:
    raw = req.params.get("limit")
    if raw is None:
        return DEFAULT_RUN_LIMIT
    # ASCII digits only, and few of them: str.isdigit() also accepts '²', and int() of 5,000 digits raises.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_RUN_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_RUN_LIMIT}, not {quoted(raw)}")
    return int(raw)


"""The HTTP API for an outage: read or declare a promotion, fail back, drill (function keys required).

Thin shims over the engine's `promote` and `failback` (shared.outage); the CLI's `promote` and
`failback` and `drill` commands are the same calls.
"""

from typing import Any

import azure.functions as func

from shared.errors import InvalidRequest
from shared.functions.engine_provider import EngineProvider, engines
from shared.functions.json_http import answer, json_response, read_json_object, refuse_body
from shared.functions.routes import api_url, checked_name, quoted
from shared.names import PROJECT_NAME

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

PROMOTE_FIELDS = ("target", "projects", "by", "reason")
FAILBACK_FIELDS = ("projects", "prefer", "dryRun")
DRILL_FIELDS = ("projects",)
# Set by App Service authentication when it fronts the app: who is calling, better than a claim in the body.
PRINCIPAL_HEADER = "x-ms-client-principal-name"


@bp.route(route="promotion", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_promotion(req: func.HttpRequest) -> func.HttpResponse:
    return handle_get_promotion(req, engines)


@bp.route(route="promotion", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def promote(req: func.HttpRequest) -> func.HttpResponse:
    return handle_promote(req, engines)


@bp.route(route="failback", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def failback(req: func.HttpRequest) -> func.HttpResponse:
    return handle_failback(req, engines)


@bp.route(route="drills", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def start_drill(req: func.HttpRequest) -> func.HttpResponse:
    return handle_drill(req, engines)


def handle_drill(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """Run the DR drill now: 200 with its report (`passed` says how it went; a failure is also notified)."""

    def post() -> func.HttpResponse:
        body = read_json_object(req, DRILL_FIELDS)
        report = provider.get().drill(_projects(body.get("projects")))
        return json_response(report.to_json(), 200)

    return answer(post)


def handle_get_promotion(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """200 with the promotion record, or `{"promotion": null}` in normal direction."""

    def get() -> func.HttpResponse:
        refuse_body(req)
        promotion = provider.get().promotion()
        return json_response({"promotion": promotion.to_json() if promotion else None})

    return answer(get)


def handle_promote(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """201 with the promotion (Location: GET promotion); 400 without a reason or when one already exists."""

    def post() -> func.HttpResponse:
        body = read_json_object(req, PROMOTE_FIELDS)
        target = body.get("target")
        if target is not None:
            checked_name("target", target, PROJECT_NAME)
        by = req.headers.get(PRINCIPAL_HEADER) or _text(body, "by") or "http"
        report = provider.get().promote(target=target, projects=_projects(body.get("projects")), by=by,
                                        reason=_text(body, "reason"))
        return json_response(report.to_json(), 201, {"Location": api_url(req, "promotion")})

    return answer(post)


def handle_failback(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """202 when runs started (poll each entry's run); 409 (`ChoiceNeeded`) when a project changed on both
    sides and no `prefer` was given; 200 otherwise (nothing to replicate, or a dry run)."""

    def post() -> func.HttpResponse:
        body = read_json_object(req, FAILBACK_FIELDS)
        prefer = body.get("prefer")
        if prefer is not None and prefer not in ("acting", "original"):
            raise InvalidRequest(f"prefer must be acting or original, not {quoted(prefer)}")
        dry_run = body.get("dryRun", False)
        if not isinstance(dry_run, bool):
            raise InvalidRequest(f"dryRun must be true or false, not {quoted(dry_run)}")
        report = provider.get().failback(projects=_projects(body.get("projects")), prefer=prefer,
                                         dry_run=dry_run)
        result = report.to_json()
        started = [e for e in report.entries if e.run is not None and e.run.status == "started"]
        if started:
            return json_response(result, 202)
        if report.needs_choice and not dry_run:
            error = {"code": "ChoiceNeeded",
                     "message": "changed on both sides: pass \"prefer\": \"acting\" or \"original\" (the "
                                "other side is kept as a snapshot)"}
            return json_response({"error": error, **result}, 409)
        return json_response(result, 200)

    return answer(post)


def _projects(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InvalidRequest("projects must be a non-empty list of project names; omit it for all projects")
    return [checked_name("project name", name, PROJECT_NAME) for name in dict.fromkeys(value)]


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field, "")
    if not isinstance(value, str) or len(value) > 500:
        raise InvalidRequest(f"{field} must be a string of at most 500 characters")
    return value

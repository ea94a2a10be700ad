"""Health probes: an anonymous yes/no for load balancers, and the details behind the function key.

The anonymous answer says only healthy or unhealthy, the version, and the *names* of the settings in
error: endpoints, regions, the auth mode, project and container names and the schedule help an attacker
map the deployment, so they are in `GET /api/health/details` (function key), never in the anonymous one.
Neither ever shows a setting's value that is a secret.
"""

import logging
from typing import Any

import azure.functions as func

from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.functions.json_http import json_response

logger = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

# Everything the anonymous probe answers (a test holds it to exactly these).
ANONYMOUS_FIELDS = ("status", "version", "settingsInError")
# The setting that holds the state and snapshot storage, named when that storage is not usable.
STATE_STORAGE_SETTING = "SNAPSHOT_STORAGE"


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_health(req: func.HttpRequest) -> func.HttpResponse:
    return handle_health(req, engines)


@bp.route(route="health/details", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_health_details(req: func.HttpRequest) -> func.HttpResponse:
    return handle_health_details(req, engines)


def handle_health(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """200 when healthy, 503 otherwise; only the names of the settings in error, never more."""
    details, status = _details(provider, drift_check=False)
    body = {"status": details["status"], "version": details["version"],
            "settingsInError": details["settingsInError"]}
    return json_response(body, status)


def handle_health_details(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """The engine's checks and its effective configuration (no secrets); 200 when healthy, 503 otherwise."""
    details, status = _details(provider, drift_check=True)
    return json_response(details, status)


def _details(provider: EngineProvider, *, drift_check: bool) -> tuple[dict[str, Any], int]:
    try:
        engine = provider.get()
    except EngineUnavailable as error:
        settings = {"usable": False, "error": str(error)}
        return {"status": "unhealthy", "version": app_version(), "settingsInError": list(error.settings),
                "settings": settings}, 503
    try:
        report = dict(engine.health(drift_check=drift_check))
    except Exception:  # a probe answers; it does not crash
        logger.exception("health check failed")
        report = {"healthy": False, "error": "the health check failed; the function log has the details"}
    healthy = report.get("healthy") is True
    storage_usable = (report.get("stateStorage") or {}).get("usable", True)
    body = {
        "status": "healthy" if healthy else "unhealthy",
        **report,
        "version": report.get("version") or app_version(),
        "settingsInError": [] if storage_usable else [STATE_STORAGE_SETTING],
        # The engine's settings summary (no secrets), marked usable since the engine was built from them.
        "settings": {"usable": True, **dict(report.get("settings") or {})},
    }
    return body, 200 if healthy else 503


def app_version() -> str:
    """The product version; the engine module holds it (imported here, on a probe, not at index time)."""
    try:
        from shared.engine import VERSION
    except ImportError:  # pragma: no cover - only if the engine itself cannot load
        return "unknown"
    return VERSION

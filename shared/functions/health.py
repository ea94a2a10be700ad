"""Anonymous health probe: the app's version and whether its settings and storage are usable.

Anonymous so load balancers and availability tests can call it without a key, hence it says only
yes or no and why, never a setting's value.
"""

import logging

import azure.functions as func

from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.functions.json_http import json_response

logger = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_health(req: func.HttpRequest) -> func.HttpResponse:
    return handle_health(req, engines)


def handle_health(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """200 when healthy, 503 otherwise; the body always says which part is not usable."""
    try:
        engine = provider.get()
    except EngineUnavailable as error:
        settings = {"usable": False, "error": str(error)}
        body = {"status": "unhealthy", "version": app_version(), "settings": settings}
        return json_response(body, 503)
    try:
        report = dict(engine.health())
    except Exception:  # a probe answers; it does not crash
        logger.exception("health check failed")
        report = {"healthy": False, "error": "the health check failed; the function log has the details"}
    healthy = report.get("healthy") is True
    body = {
        "status": "healthy" if healthy else "unhealthy",
        **report,
        "version": report.get("version") or app_version(),
        # The engine's settings summary (no secrets), marked usable since the engine was built from them.
        "settings": {"usable": True, **dict(report.get("settings") or {})},
    }
    return json_response(body, 200 if healthy else 503)


def app_version() -> str:
    """The product version; the engine module holds it (imported here, on a probe, not at index time)."""
    try:
        from shared.engine import VERSION
    except ImportError:  # pragma: no cover - only if the engine itself cannot load
        return "unknown"
    return VERSION

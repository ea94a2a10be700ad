"""Anonymous health probe: the app's version and whether its settings and storage are usable.

Anonymous so load balancers and availability tests can call it without a key, hence it says only
yes or no and why, never a setting's value.
"""

import logging
from typing import Any

import azure.functions as func

import shared
from shared.functions.engine_provider import EngineProvider, EngineUnavailable, engines
from shared.functions.json_http import json_response

logger = logging.getLogger(__name__)

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_health(req: func.HttpRequest) -> func.HttpResponse:
    return handle_health(req, engines)


def handle_health(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """200 when healthy, 503 otherwise; the body always says which part is not usable."""
    version = app_version()
    try:
        engine = provider.get()
    except EngineUnavailable as error:
        body = {"status": "unhealthy", "version": version, "settings": {"usable": False, "error": str(error)}}
        return json_response(body, 503)
    try:
        report = engine.health()
    except Exception:  # a probe answers; it does not crash
        logger.exception("health check failed")
        report = {"status": "unhealthy", "error": "the health check failed; the function log has the details"}
    body = {"version": version, "settings": {"usable": True}, **report}
    return json_response(body, 200 if is_healthy(report) else 503)


def is_healthy(report: dict[str, Any]) -> bool:
    return report.get("status") in ("ok", "healthy")


def app_version() -> str:
    return str(getattr(shared, "__version__", "unknown"))

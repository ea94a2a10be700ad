"""`GET /api/status`: the status page as HTML (function key, like the rest of the API).

A thin adapter over shared.status: gather the model from state storage, render it, answer with headers
that keep the key where it is (no referrer leaves the page; every link is an anchor on it) and forbid
anything the page does not need (no script, no frame, nothing fetched).
"""

import azure.functions as func

from shared.functions.engine_provider import EngineProvider, engines
from shared.functions.json_http import answer

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ is unannotated


@bp.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def get_status_page(req: func.HttpRequest) -> func.HttpResponse:
    return handle_status_page(req, engines)


def handle_status_page(req: func.HttpRequest, provider: EngineProvider) -> func.HttpResponse:
    """200 with the page; storage failures are the JSON errors of every other route."""
    # Deferred: the status modules load the storage stack, which the host need not load to index.
    from shared.status.model import gather
    from shared.status.page import HTTP_HEADERS, render

    def page() -> func.HttpResponse:
        html = render(gather(provider.get()))
        return func.HttpResponse(html, status_code=200, headers=dict(HTTP_HEADERS), mimetype="text/html",
                                 charset="utf-8")

    return answer(page)

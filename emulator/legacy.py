"""The retired 2021-11-01-preview authoring API (`/language/analyze-text/projects/...`, no `/authoring/`).

The service no longer serves it: any request there is answered with the unsupported-api-version error
our other routes give (whether the real gateway answers that, or 404, is unverified).
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from emulator.versions import AUTHORING_API_VERSIONS, require_api_version

PREFIX = "/language/analyze-text"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_legacy_blueprint() -> Blueprint:
    blueprint = Blueprint("legacy-authoring", __name__, url_prefix=PREFIX)

    @blueprint.route("/projects", methods=METHODS)
    @blueprint.route("/projects/<path:rest>", methods=METHODS)
    def retired(rest: str = "") -> Response:
        require_api_version(request.args.get("api-version"), AUTHORING_API_VERSIONS)
        raise NotFound()  # a current version on the old path: as any unknown route

    return blueprint

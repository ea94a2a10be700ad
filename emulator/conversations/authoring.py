"""The analyze-conversations authoring API: the text API's routes over a `ConversationResource`.

Same routes, jobs, paging, errors and api-versions (2022-05-01, 2023-04-01) as analyze-text;
only the project body differs (no storage container; `settings.confidenceThreshold`) and
:import / :export take a `format` query parameter.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.authoring import AuthoringSurface, create_authoring_blueprint, project_dates
from emulator.conversations import prebuilt
from emulator.conversations.assets import CONVERSATION, PROJECT_KINDS, require_format
from emulator.conversations.resource import ConversationResource
from emulator.paths import CONVERSATIONS_AUTHORING_PREFIX
from emulator.state import Project
from emulator.web import page


def conversation_project_body(project: Project, api_version: str) -> dict[str, Any]:
    """ConversationalAnalysisAuthoringProjectMetadata."""
    body = project_dates(project)
    metadata = project.metadata
    body["projectKind"] = project.kind
    body["settings"] = dict(metadata.get("settings") or {})
    if metadata.get("storageInputContainerName"):
        body["storageInputContainerName"] = metadata["storageInputContainerName"]
    body.update(
        {
            "projectName": project.name,
            "multilingual": bool(metadata.get("multilingual", False)),
            "description": metadata.get("description", ""),
            "language": metadata["language"],
        }
    )
    return body


SURFACE = AuthoringSurface(
    "conversations_authoring",
    CONVERSATIONS_AUTHORING_PREFIX,
    conversation_project_body,
    PROJECT_KINDS,
    CONVERSATION,
)


def create_conversations_authoring_blueprint(resource: ConversationResource) -> Blueprint:
    blueprint = create_authoring_blueprint(resource, SURFACE)

    @blueprint.get("/projects/global/prebuilt-entities")
    def prebuilt_entities() -> Response:
        return jsonify(page(prebuilt.catalogue()))

    @blueprint.before_request
    def check_format() -> None:
        if request.method == "POST" and request.path.endswith((":import", ":export")):
            require_format(request.args.get("format"))

    return blueprint

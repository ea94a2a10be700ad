"""The conversations runtime: `POST /language/:analyze-conversations` (synchronous, not a job).

Answers follow analyzeconversations.json (2023-04-01): `{kind: ConversationResult, result:
{query, prediction}}` where `prediction` is discriminated by `projectKind`. A Conversation
prediction lists intents (best first) and entities; an Orchestration prediction maps every intent
to a `TargetIntentResult` discriminated by `targetProjectKind`, and the top intent carries the
routed project's own answer: a CLU project's `ConversationResult`, computed here from its
deployment in the same resource. Question answering targets answer with no answers (the emulator
has no knowledge bases); LUIS targets (retired by Microsoft) are refused with a documented 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.conversations import learner
from emulator.conversations.assets import CONVERSATION, ORCHESTRATION
from emulator.conversations.resource import ConversationResource
from emulator.errors import ServiceError
from emulator.runtime_requests import invalid
from emulator.text_offsets import STRING_INDEX_TYPES, TEXT_ELEMENTS_V8, OffsetMap
from emulator.versions import require_api_version
from emulator.web import json_body

RUNTIME_API_VERSIONS = ("2022-05-01", "2023-04-01")
TASK_KIND = "Conversation"
RESULT_KIND = "ConversationResult"
NON_LINKED = "NonLinked"
MAX_QUERY_CHARACTERS = 1000


def _string(body: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise invalid(
            f"The property '{where}{key}' is required and must be a non-empty string.", target=f"{where}{key}"
        )
    return value


def _object(value: Any, target: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"The property '{target}' is required and must be an object.", target=target)
    return value


class ConversationAnalysis:
    """Predictions of the deployments of one resource's conversation projects."""

    def __init__(self, resource: ConversationResource) -> None:
        self.resource = resource

    def _deployed(self, project: str, deployment: str) -> tuple[str, Mapping[str, Any]]:
        served = self.resource.deployed_artifact(project, deployment)
        if served is None:
            raise ServiceError(
                "NotFound",
                f"The deployment '{deployment}' of project '{project}' was not found in this resource.",
                status=404,
            )
        return served

    def analyze(self, body: Any, api_version: str) -> dict[str, Any]:
        task = _object(body, "body")
        if task.get("kind") != TASK_KIND:
            raise invalid(
                f"The task kind '{task.get('kind')}' is not supported: use '{TASK_KIND}'.", target="kind"
            )
        item = _object(
            _object(task.get("analysisInput"), "analysisInput").get("conversationItem"),
            "analysisInput.conversationItem",
        )
        where = "analysisInput.conversationItem."
        _string(item, "id", where)
        _string(item, "participantId", where)
        text = str(_string(item, "text", where))
        if len(text) > MAX_QUERY_CHARACTERS:
            raise invalid(
                f"The query is longer than {MAX_QUERY_CHARACTERS} characters.",
                inner_code="InvalidDocument",
                target=f"{where}text",
            )
        parameters = _object(task.get("parameters"), "parameters")
        project = str(_string(parameters, "projectName", "parameters."))
        deployment = str(_string(parameters, "deploymentName", "parameters."))
        index_type = parameters.get("stringIndexType", TEXT_ELEMENTS_V8)
        if index_type not in STRING_INDEX_TYPES:
            raise invalid(
                f"The stringIndexType '{index_type}' is invalid: use one of {', '.join(STRING_INDEX_TYPES)}.",
                target="parameters.stringIndexType",
            )
        direct_target = _string(parameters, "directTarget", "parameters.", required=False)
        kind, model = self._deployed(project, deployment)
        if kind == CONVERSATION:
            prediction = self.conversation_prediction(model, text, index_type)
        else:
            prediction = self.orchestration_prediction(model, text, index_type, direct_target, api_version)
        return {"kind": RESULT_KIND, "result": {"query": text, "prediction": prediction}}

    @staticmethod
    def conversation_prediction(model: Mapping[str, Any], text: str, index_type: str) -> dict[str, Any]:
        """ConversationPrediction."""
        found = learner.predict(model, text)
        offsets = OffsetMap(text)
        entities = []
        for match in found.entities:
            offset, length = offsets.from_code_points(match.start, match.end, index_type)
            entity: dict[str, Any] = {
                "category": match.category,
                "text": text[match.start : match.end],
                "offset": offset,
                "length": length,
                "confidenceScore": 1.0,
            }
            if match.resolutions:
                entity["resolutions"] = list(match.resolutions)
            if match.extra_information:
                entity["extraInformation"] = list(match.extra_information)
            entities.append(entity)
        return {
            "projectKind": CONVERSATION,
            "topIntent": found.top_intent,
            "intents": [{"category": name, "confidenceScore": score} for name, score in found.intents],
            "entities": entities,
        }

    def orchestration_prediction(
        self,
        model: Mapping[str, Any],
        text: str,
        index_type: str,
        direct_target: str | None,
        api_version: str,
    ) -> dict[str, Any]:
        """OrchestrationPrediction: every intent's score and target kind; the top one routed."""
        top, ranked = learner.classify(model, text)
        targets: Mapping[str, Any] = model.get("targets", {})
        if direct_target is not None:
            if direct_target not in targets:
                raise invalid(
                    f"The directTarget '{direct_target}' is not an intent of this orchestration project.",
                    target="parameters.directTarget",
                )
            top = direct_target
            ranked = ((direct_target, 1.0), *((n, s) for n, s in ranked if n != direct_target))
        intents: dict[str, Any] = {}
        for name, score in sorted(ranked, key=lambda pair: pair[0] != top):
            target = targets.get(name)
            kind = target["targetProjectKind"] if target else NON_LINKED
            entry: dict[str, Any] = {"targetProjectKind": kind, "confidenceScore": score}
            if name == top:
                entry.update(self._routed(target, text, index_type, api_version))
            intents[name] = entry
        return {"projectKind": ORCHESTRATION, "topIntent": top, "intents": intents}

    def _routed(
        self, target: Mapping[str, Any] | None, text: str, index_type: str, api_version: str
    ) -> dict[str, Any]:
        if target is None:
            return {}
        kind = target["targetProjectKind"]
        if kind == CONVERSATION:
            details = target["conversationOrchestration"]
            routed_kind, routed = self._deployed(details["projectName"], details["deploymentName"])
            if routed_kind != CONVERSATION:
                raise invalid(
                    f"The orchestration target '{details['projectName']}' is not a conversation project.",
                    target="parameters.projectName",
                )
            prediction = self.conversation_prediction(routed, text, index_type)
            # The routed call is made with the caller's api-version.
            return {"apiVersion": api_version, "result": {"query": text, "prediction": prediction}}
        if kind == "QuestionAnswering":
            return {"result": {"answers": []}}
        raise invalid(
            "The top intent routes to a LUIS application; LUIS targets are not served by this emulator "
            "(LUIS is retired).",
            target="parameters.projectName",
        )


def create_conversations_runtime_blueprint(analysis: ConversationAnalysis) -> Blueprint:
    blueprint = Blueprint("conversations_runtime", __name__)

    @blueprint.post("/language/:analyze-conversations")
    def analyze_conversations() -> Response:
        api_version = require_api_version(request.args.get("api-version"), RUNTIME_API_VERSIONS)
        return jsonify(analysis.analyze(json_body(), api_version))

    return blueprint

"""Validation of conversation project files and project options (analyzeconversations-authoring.json).

An exported project is `{projectFileVersion, stringIndexType, metadata, assets}`; `assets` is
discriminated by `projectKind`: Conversation (intents, entities with list/prebuilt/regex
components, utterances with entity labels) or Orchestration (intents that route to a target
project, utterances). Offsets are UTF-16 code units, as in the text API.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import ServiceError
from emulator.text_offsets import utf16_length
from emulator.validation import invalid, project_metadata, require_object

CONVERSATION = "Conversation"
ORCHESTRATION = "Orchestration"
PROJECT_KINDS = (CONVERSATION, ORCHESTRATION)
PROJECT_FILE_VERSIONS = ("2022-05-01", "2022-10-01-preview", "2023-04-01")
STRING_INDEX_TYPE = "Utf16CodeUnit"
EXPORT_FORMATS = ("Conversation", "Luis")
TRAINING_MODES = ("standard", "advanced")
DATASETS = ("Train", "Test")
COMPOSITION_SETTINGS = (
    "separateComponents",
    "combineComponents",
    "requireExactOverlap",
    "returnLongestOverlap",
)
COMPONENT_KINDS = ("learned", "list", "prebuilts", "regex")
# Orchestration targets and the key holding each one's details.
TARGET_DETAILS = {
    "Conversation": "conversationOrchestration",
    "QuestionAnswering": "questionAnsweringOrchestration",
    "Luis": "luisOrchestration",
}
# The spec caps project names at 100 characters (text projects: 50); the character set is inferred.
PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def require_project_name(value: Any) -> str:
    if not isinstance(value, str) or not PROJECT_NAME.match(value):
        raise invalid(
            f"The project name '{value}' is invalid: use 1 to 100 characters among letters, digits, "
            "'_', '.' and '-'.",
            "projectName",
        )
    return value


def require_format(value: str | None) -> None:
    """`format` of :import and :export: Conversation (the default); Luis files are not emulated."""
    if value is None or value == CONVERSATION:
        return
    if value == "Luis":
        raise invalid("The format 'Luis' is not supported by this emulator; use 'Conversation'.", "format")
    raise invalid(f"The format '{value}' is invalid: use one of {', '.join(EXPORT_FORMATS)}.", "format")


def _string(body: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise invalid(
            f"The property '{where}{key}' is required and must be a non-empty string.", f"{where}{key}"
        )
    return value


def _list(body: dict[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"The property '{where}{key}' must be an array.", f"{where}{key}")
    return value


def project_options(body: Any, where: str = "body") -> tuple[str | None, dict[str, Any]]:
    """(projectKind or None, the other metadata) of CreateProjectOptions or an exported `metadata`.

    The metadata's types and `settings.confidenceThreshold` are checked by the text API's rule;
    a conversation project needs no storage container.
    """
    options = require_object(body, where)
    kind = options.get("projectKind")
    if kind is not None and kind not in PROJECT_KINDS:
        raise invalid(
            f"The project kind '{kind}' is not supported: use one of {', '.join(PROJECT_KINDS)}.",
            "projectKind" if where == "body" else f"{where}.projectKind",  # as the text API names it
        )
    if options.get("projectName") is not None:
        require_project_name(options["projectName"])
    return kind, project_metadata(options, where, partial=True)


def with_defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    return {"settings": {}, "multilingual": False, "description": "", **metadata}


def _categories(items: list[Any], where: str) -> list[str]:
    names: list[str] = []
    for index, item in enumerate(items):
        entry = require_object(item, f"{where}[{index}]")
        name = _string(entry, "category", f"{where}[{index}].")
        assert name is not None
        if name in names:
            raise invalid(f"The category '{name}' is declared twice.", f"{where}[{index}].category")
        names.append(name)
    return names


def _entity(entity: dict[str, Any], where: str) -> None:
    setting = entity.get("compositionSetting")
    if setting is not None and setting not in COMPOSITION_SETTINGS:
        raise invalid(
            f"compositionSetting '{setting}' is invalid: use one of {', '.join(COMPOSITION_SETTINGS)}.",
            f"{where}.compositionSetting",
        )
    for index, component in enumerate(_list(entity, "requiredComponents", f"{where}.")):
        if component not in COMPONENT_KINDS:
            raise invalid(
                f"requiredComponents[{index}] '{component}' is invalid: use {', '.join(COMPONENT_KINDS)}.",
                f"{where}.requiredComponents[{index}]",
            )
    if entity.get("list") is not None:
        listed = require_object(entity["list"], f"{where}.list")
        for index, sublist in enumerate(_list(listed, "sublists", f"{where}.list.")):
            sub = require_object(sublist, f"{where}.list.sublists[{index}]")
            for s_index, synonyms in enumerate(_list(sub, "synonyms", f"{where}.list.sublists[{index}].")):
                values = require_object(synonyms, f"{where}.list.sublists[{index}].synonyms[{s_index}]")
                if not all(isinstance(v, str) for v in _list(values, "values", "")):
                    raise invalid("List synonyms must be strings.", f"{where}.list.sublists[{index}]")
    for index, prebuilt in enumerate(_list(entity, "prebuilts", f"{where}.")):
        _string(
            require_object(prebuilt, f"{where}.prebuilts[{index}]"),
            "category",
            f"{where}.prebuilts[{index}].",
        )
    if entity.get("regex") is not None:
        regex = require_object(entity["regex"], f"{where}.regex")
        for index, expression in enumerate(_list(regex, "expressions", f"{where}.regex.")):
            target = f"{where}.regex.expressions[{index}]"
            pattern = _string(require_object(expression, target), "regexPattern", f"{target}.")
            try:
                re.compile(str(pattern))
            except re.error as error:
                raise invalid(f"The regex pattern is invalid: {error}.", f"{target}.regexPattern") from error


def _utterance(utterance: Any, where: str, intents: list[str], entities: list[str], *, labels: bool) -> None:
    entry = require_object(utterance, where)
    text = _string(entry, "text", f"{where}.")
    intent = _string(entry, "intent", f"{where}.")
    if intent not in intents:
        raise invalid(f"The intent '{intent}' is not declared in assets.intents.", f"{where}.intent")
    _string(entry, "language", f"{where}.", required=False)
    dataset = entry.get("dataset")
    if dataset is not None and dataset not in DATASETS:
        raise invalid(f"The dataset '{dataset}' is invalid: use Train or Test.", f"{where}.dataset")
    if not labels:
        return
    size = utf16_length(str(text))
    for index, label in enumerate(_list(entry, "entities", f"{where}.")):
        target = f"{where}.entities[{index}]"
        span = require_object(label, target)
        if span.get("category") not in entities:
            raise invalid(f"The entity '{span.get('category')}' is not declared in assets.entities.", target)
        offset, length = span.get("offset"), span.get("length")
        for value, name in ((offset, "offset"), (length, "length")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise invalid(f"{name} must be a non-negative integer.", f"{target}.{name}")
        assert isinstance(offset, int) and isinstance(length, int)
        if length == 0 or offset + length > size:
            raise invalid(
                f"The label at offset {offset} with length {length} is outside the utterance of {size} "
                "UTF-16 code units.",
                target,
            )


def _orchestration_target(intent: dict[str, Any], where: str) -> None:
    target = intent.get("orchestration")
    if target is None:
        return
    options = require_object(target, f"{where}.orchestration")
    kind = options.get("targetProjectKind")
    if kind not in TARGET_DETAILS:
        raise invalid(
            f"targetProjectKind '{kind}' is invalid: use one of {', '.join(TARGET_DETAILS)}.",
            f"{where}.orchestration.targetProjectKind",
        )
    key = TARGET_DETAILS[kind]
    details = require_object(options.get(key), f"{where}.orchestration.{key}")
    required = {"Conversation": ("projectName", "deploymentName"), "QuestionAnswering": ("projectName",)}
    for name in required.get(kind, ("appId",)):
        _string(details, name, f"{where}.orchestration.{key}.")


def exported_project(body: Any) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(projectKind, metadata without name and kind, assets) of an :import body, or the service's 400."""
    exported = require_object(body)
    version = exported.get("projectFileVersion")
    if version not in PROJECT_FILE_VERSIONS:
        raise invalid(
            f"The projectFileVersion '{version}' is not supported: "
            f"use one of {', '.join(PROJECT_FILE_VERSIONS)}.",
            "projectFileVersion",
        )
    if exported.get("stringIndexType") != STRING_INDEX_TYPE:
        raise invalid(
            f"The stringIndexType '{exported.get('stringIndexType')}' is invalid: use {STRING_INDEX_TYPE}.",
            "stringIndexType",
        )
    if "metadata" not in exported:
        raise invalid("The property 'metadata' is required.", "metadata")
    kind, metadata = project_options(exported["metadata"], "metadata")
    if kind is None:
        raise invalid("The property 'metadata.projectKind' is required.", "metadata.projectKind")
    if "language" not in metadata:
        raise invalid("The property 'metadata.language' is required.", "metadata.language")
    if exported.get("assets") is None:
        return kind, with_defaults(metadata), None
    assets = require_object(exported["assets"], "assets")
    if assets.get("projectKind") != kind:
        raise ServiceError(
            "InvalidRequest",
            f"assets.projectKind '{assets.get('projectKind')}' does not match metadata.projectKind '{kind}'.",
            inner_code="InvalidParameterValue",
            target="assets.projectKind",
        )
    intent_items = _list(assets, "intents", "assets.")
    intents = _categories(intent_items, "assets.intents")
    if kind == ORCHESTRATION:
        for index, intent in enumerate(intent_items):
            _orchestration_target(intent, f"assets.intents[{index}]")
        entities: list[str] = []
    else:
        entity_items = _list(assets, "entities", "assets.")
        entities = _categories(entity_items, "assets.entities")
        for index, entity in enumerate(entity_items):
            _entity(entity, f"assets.entities[{index}]")
    for index, utterance in enumerate(_list(assets, "utterances", "assets.")):
        _utterance(utterance, f"assets.utterances[{index}]", intents, entities, labels=kind == CONVERSATION)
    return kind, with_defaults(metadata), assets

"""Request validation in the service's words: names, project bodies and the import file.

Every failure is an `InvalidArgument`/`InvalidRequest` ServiceError (400) naming the bad
field, so malformed input never reaches the state and never becomes a 500.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import ServiceError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
NER = "CustomEntityRecognition"
SINGLE_LABEL = "CustomSingleLabelClassification"
MULTI_LABEL = "CustomMultiLabelClassification"
PROJECT_KINDS = (NER, SINGLE_LABEL, MULTI_LABEL)
PROJECT_FILE_VERSIONS = ("2022-05-01", "2022-10-01-preview", "2023-04-01")
STRING_INDEX_TYPE = "Utf16CodeUnit"
DATASETS = ("Train", "Test")
# service-limits.md: 1-200 entity types (or classes) per project, entities of at most 500 characters.
MAX_CATEGORIES = 200
MAX_ENTITY_LENGTH = 500
# Names from the draft 2022-05-01 spec and the 2021-11-01-preview schema: never accepted by GA.
DRAFT_KEYS = ("project-file-version", "extractors", "modelType", "multiLingual")


def invalid(message: str, target: str | None = None, inner: str = "InvalidParameterValue") -> ServiceError:
    return ServiceError("InvalidArgument", message, inner_code=inner, target=target)


def require_name(value: Any, what: str, target: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise invalid(
            f"The {what} '{value}' is invalid: use 1 to 50 characters among letters, digits, "
            "'_', '.' and '-'.",
            target,
        )
    return value


def require_object(body: Any, target: str = "body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ServiceError(
            "InvalidRequest",
            f"The {target} must be a JSON object.",
            inner_code="InvalidRequestBodyFormat",
            target=target,
        )
    return body


def require_string_index_type(value: Any) -> str:
    if value != STRING_INDEX_TYPE:
        shown = "" if value is None else value
        raise invalid(
            f"The value `{shown}` provided for the parameter `StringIndexType` is invalid.", "stringIndexType"
        )
    return STRING_INDEX_TYPE


def _reject_draft_keys(body: dict[str, Any], where: str) -> None:
    for key in DRAFT_KEYS:
        if key in body:
            raise invalid(f"The property '{key}' in {where} is not part of the GA schema.", f"{where}.{key}")


def _project_kind(value: Any, target: str) -> str:
    if value not in PROJECT_KINDS:
        raise invalid(
            f"The project kind '{value}' is not supported. Supported kinds: {', '.join(PROJECT_KINDS)}.",
            target,
        )
    return str(value)


def _optional_type(body: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> None:
    if key in body and body[key] is not None and not isinstance(body[key], kind):
        raise invalid(f"The property '{key}' has the wrong type.", f"{where}.{key}")


def _required_string(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(f"The property '{key}' is required.", f"{where}.{key}")
    return value


def project_metadata(body: dict[str, Any], where: str, *, partial: bool = False) -> dict[str, Any]:
    """The stored part of CreateProjectOptions (kind and name are kept apart), type-checked."""
    _reject_draft_keys(body, where)
    if not partial:
        _required_string(body, "storageInputContainerName", where)
        _required_string(body, "language", where)
    _optional_type(body, "storageInputContainerName", str, where)
    _optional_type(body, "language", str, where)
    _optional_type(body, "description", str, where)
    # `multilingual` sent as a string is a known cause of failed imports.
    if (
        "multilingual" in body
        and body["multilingual"] is not None
        and not isinstance(body["multilingual"], bool)
    ):
        raise invalid("The property 'multilingual' must be a boolean.", f"{where}.multilingual")
    _optional_type(body, "settings", dict, where)
    settings = body.get("settings")
    if isinstance(settings, dict) and "confidenceThreshold" in settings:
        threshold = settings["confidenceThreshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise invalid(
                "settings.confidenceThreshold must be a number between 0 and 1.",
                f"{where}.settings.confidenceThreshold",
            )
    keys = ("storageInputContainerName", "settings", "multilingual", "description", "language")
    return {key: body[key] for key in keys if key in body and body[key] is not None}


def create_project_options(body: Any) -> tuple[str | None, dict[str, Any]]:
    """(projectKind or None, metadata) from a PATCH body."""
    options = require_object(body)
    kind = _project_kind(options["projectKind"], "projectKind") if "projectKind" in options else None
    if "projectName" in options and options["projectName"] is not None:
        require_name(options["projectName"], "project name", "projectName")
    return kind, project_metadata(options, "body", partial=True)


def _assets_kind(value: Any, metadata_kind: str, strict_case: bool) -> str:
    if value == metadata_kind:
        return metadata_kind
    if not strict_case and isinstance(value, str) and value.lower() == metadata_kind.lower():
        return metadata_kind
    raise invalid(
        "The project kind in the exported project's metadata must match the assets' project kind.",
        "assets.projectKind",
    )


def _categories(assets: dict[str, Any], key: str) -> list[str]:
    entries = assets.get(key, [])
    if not isinstance(entries, list):
        raise invalid(f"assets.{key} must be an array.", f"assets.{key}")
    names: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("category"), str) or not entry["category"]:
            raise invalid(f"assets.{key}[{index}].category is required.", f"assets.{key}[{index}]")
        if entry["category"] in names:
            raise invalid(f"The category '{entry['category']}' is declared twice.", f"assets.{key}[{index}]")
        names.append(entry["category"])
    return names


def _non_negative_int(value: Any, target: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(f"{target} must be a non-negative integer.", target)
    return value


def _check_category(category: Any, declared: list[str], target: str) -> None:
    if not isinstance(category, str) or category not in declared:
        raise invalid(f"The category '{category}' is not declared in the project's assets.", target)


def _document(document: Any, index: int, kind: str, declared: list[str], seen: set[str]) -> None:
    where = f"assets.documents[{index}]"
    if not isinstance(document, dict):
        raise invalid(f"{where} must be an object.", where)
    location = document.get("location")
    if not isinstance(location, str) or not location:
        raise invalid(f"{where}.location is required.", f"{where}.location")
    if location in seen:
        raise invalid(f"The document '{location}' is listed twice.", f"{where}.location")
    seen.add(location)
    _optional_type(document, "language", str, where)
    dataset = document.get("dataset")
    if dataset is not None and dataset not in DATASETS:
        raise invalid(f"{where}.dataset must be 'Train' or 'Test'.", f"{where}.dataset")
    if kind == NER:
        regions = document.get("entities", [])
        if not isinstance(regions, list):
            raise invalid(f"{where}.entities must be an array.", f"{where}.entities")
        for r, region in enumerate(regions):
            at = f"{where}.entities[{r}]"
            if not isinstance(region, dict):
                raise invalid(f"{at} must be an object.", at)
            start = _non_negative_int(region.get("regionOffset", 0), f"{at}.regionOffset")
            length = _non_negative_int(region.get("regionLength", 0), f"{at}.regionLength")
            labels = region.get("labels", [])
            if not isinstance(labels, list):
                raise invalid(f"{at}.labels must be an array.", f"{at}.labels")
            for lab, label in enumerate(labels):
                target = f"{at}.labels[{lab}]"
                if not isinstance(label, dict):
                    raise invalid(f"{target} must be an object.", target)
                _check_category(label.get("category"), declared, f"{target}.category")
                offset = _non_negative_int(label.get("offset"), f"{target}.offset")
                span = _non_negative_int(label.get("length"), f"{target}.length")
                if span == 0 or (length and (offset < start or offset + span > start + length)):
                    raise invalid(f"{target} lies outside its region or is empty.", target)
                if span > MAX_ENTITY_LENGTH:
                    raise invalid(f"{target} is longer than {MAX_ENTITY_LENGTH} characters.", target)
    elif kind == SINGLE_LABEL:
        label = document.get("class")
        if label is not None:
            if not isinstance(label, dict):
                raise invalid(f"{where}.class must be an object.", f"{where}.class")
            _check_category(label.get("category"), declared, f"{where}.class.category")
        if "classes" in document:
            raise invalid(
                f"{where}.classes belongs to multi-label projects; use 'class'.", f"{where}.classes"
            )
    else:
        labels = document.get("classes", [])
        if not isinstance(labels, list):
            raise invalid(f"{where}.classes must be an array.", f"{where}.classes")
        for c, entry in enumerate(labels):
            if not isinstance(entry, dict):
                raise invalid(f"{where}.classes[{c}] must be an object.", f"{where}.classes[{c}]")
            _check_category(entry.get("category"), declared, f"{where}.classes[{c}].category")
        if "class" in document:
            raise invalid(f"{where}.class belongs to single-label projects; use 'classes'.", f"{where}.class")


def exported_project(
    body: Any, *, strict_kind_case: bool
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """Validate an import body; return (projectKind, metadata, assets with the canonical kind)."""
    project = require_object(body)
    _reject_draft_keys(project, "body")
    version = project.get("projectFileVersion")
    if version not in PROJECT_FILE_VERSIONS:
        raise invalid(
            f"The projectFileVersion '{'' if version is None else version}' is not supported.",
            "projectFileVersion",
        )
    require_string_index_type(project.get("stringIndexType"))
    metadata_body = project.get("metadata")
    if not isinstance(metadata_body, dict):
        raise invalid("The property 'metadata' is required.", "metadata")
    kind = _project_kind(metadata_body.get("projectKind"), "metadata.projectKind")
    _required_string(metadata_body, "projectName", "metadata")
    metadata = project_metadata(metadata_body, "metadata")
    assets_body = project.get("assets")
    if assets_body is None:
        return kind, metadata, None
    if not isinstance(assets_body, dict):
        raise invalid("The property 'assets' must be an object.", "assets")
    _reject_draft_keys(assets_body, "assets")
    _assets_kind(assets_body.get("projectKind"), kind, strict_kind_case)
    declared = _categories(assets_body, "entities" if kind == NER else "classes")
    if len(declared) > MAX_CATEGORIES:
        raise invalid(
            f"A project can have at most {MAX_CATEGORIES} entity types or classes.",
            f"assets.{category_key(kind)}",
        )
    documents = assets_body.get("documents", [])
    if not isinstance(documents, list):
        raise invalid("assets.documents must be an array.", "assets.documents")
    seen: set[str] = set()
    for index, document in enumerate(documents):
        _document(document, index, kind, declared, seen)
    return kind, metadata, {**assets_body, "projectKind": kind}


def category_key(kind: str) -> str:
    return "entities" if kind == NER else "classes"

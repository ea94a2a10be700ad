"""Parsing and validating `POST /language/analyze-text/jobs` bodies (reference §12).

Whole-request problems (malformed JSON, too many documents, too much text, duplicate ids, a bad
task) raise `ServiceError` so the request is refused with 400, as the service does. Problems of
a single document (empty text, unsupported language) do not: they become per-document errors in
every task's results while the other documents are analysed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.errors import ServiceError
from emulator.text_offsets import STRING_INDEX_TYPES, TEXT_ELEMENTS_V8, grapheme_count

ENTITY_TASK = "CustomEntityRecognition"
SINGLE_LABEL_TASK = "CustomSingleLabelClassification"
MULTI_LABEL_TASK = "CustomMultiLabelClassification"
CUSTOM_TASK_KINDS = (ENTITY_TASK, SINGLE_LABEL_TASK, MULTI_LABEL_TASK)
# Kinds the service knows but this emulator does not serve (prebuilt models).
PREBUILT_TASK_KINDS = (
    "SentimentAnalysis",
    "EntityRecognition",
    "PiiEntityRecognition",
    "KeyPhraseExtraction",
    "EntityLinking",
    "Healthcare",
    "ExtractiveSummarization",
    "AbstractiveSummarization",
    "LanguageDetection",
)

MAX_DOCUMENTS = 25
MAX_CHARACTERS = 125_000  # across all documents, counted as text elements
MAX_REQUEST_BYTES = 1_048_576
DEFAULT_LANGUAGE = "en"

# Primary language subtags custom NER and custom text classification accept.
SUPPORTED_LANGUAGES = frozenset(
    " ".join(
        (
            "af am ar as az be bg bn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha he hi",
            "hr hu hy id it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my ne nl no nb or pa pl",
            "ps pt ro ru sa sd si sk sl so sq sr su sv sw ta te th tl tr ug uk ur uz vi xh yi zh",
        )
    ).split()
)


@dataclass(frozen=True)
class InputDocument:
    id: str
    text: str
    language: str


@dataclass(frozen=True)
class TaskRequest:
    kind: str
    task_name: str | None
    project_name: str
    deployment_name: str
    string_index_type: str  # only meaningful for entity recognition


@dataclass(frozen=True)
class AnalyzeRequest:
    display_name: str | None
    documents: tuple[InputDocument, ...]
    tasks: tuple[TaskRequest, ...]


def invalid(
    message: str, *, inner_code: str = "InvalidParameterValue", target: str | None = None
) -> ServiceError:
    return ServiceError("InvalidArgument", message, status=400, inner_code=inner_code, target=target)


def parse_analyze_request(body: Any, raw_size: int) -> AnalyzeRequest:
    if raw_size > MAX_REQUEST_BYTES:
        raise invalid(
            "Request Payload sent is too large to be processed. "
            f"Limit request size to: {MAX_REQUEST_BYTES} bytes.",
            inner_code="InvalidDocumentBatch",
        )
    if not isinstance(body, Mapping):
        raise invalid("The request body must be a JSON object.", inner_code="InvalidRequestBodyFormat")
    display_name = body.get("displayName")
    if display_name is not None and not isinstance(display_name, str):
        raise invalid("displayName must be a string.", target="displayName")
    documents = _documents(body.get("analysisInput"))
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise invalid(
            "At least one task is required in 'tasks'.", inner_code="InvalidRequest", target="tasks"
        )
    return AnalyzeRequest(
        display_name=display_name,
        documents=documents,
        tasks=tuple(parse_task(task, index) for index, task in enumerate(tasks)),
    )


def _documents(analysis_input: Any) -> tuple[InputDocument, ...]:
    if not isinstance(analysis_input, Mapping) or not isinstance(analysis_input.get("documents"), list):
        raise invalid("'analysisInput.documents' is required.", inner_code="MissingInputDocuments")
    raw_documents: list[Any] = analysis_input["documents"]
    if not raw_documents:
        raise invalid("Request contains no documents.", inner_code="MissingInputDocuments")
    if len(raw_documents) > MAX_DOCUMENTS:
        raise invalid(
            f"Batch request contains too many records. Max {MAX_DOCUMENTS} records are permitted.",
            inner_code="InvalidDocumentBatch",
        )
    documents: list[InputDocument] = []
    for index, raw in enumerate(raw_documents):
        target = f"#/analysisInput/documents/{index}"
        if not isinstance(raw, Mapping):
            raise invalid("Each document must be a JSON object.", target=target)
        document_id, text, language = raw.get("id"), raw.get("text"), raw.get("language")
        if not isinstance(document_id, str) or not document_id:
            raise invalid("Each document needs a non-empty string 'id'.", target=f"{target}/id")
        if not isinstance(text, str):
            raise invalid(f"Document '{document_id}' needs a string 'text'.", target=f"{target}/text")
        if language is not None and not isinstance(language, str):
            raise invalid(
                f"Document '{document_id}' has a non-string 'language'.", target=f"{target}/language"
            )
        documents.append(InputDocument(document_id, text, language or DEFAULT_LANGUAGE))
    if len({document.id for document in documents}) != len(documents):
        raise invalid(
            "Request contains duplicated Ids. Make sure each document has a unique Id.",
            inner_code="InvalidDocument",
        )
    characters = sum(grapheme_count(document.text) for document in documents)
    if characters > MAX_CHARACTERS:
        raise invalid(
            f"Request Payload sent is too large to be processed: {characters} characters. "
            f"Limit request size to: {MAX_CHARACTERS} characters.",
            inner_code="InvalidDocumentBatch",
        )
    return tuple(documents)


def parse_task(task: Any, index: int) -> TaskRequest:
    target = f"#/tasks/{index}"
    if not isinstance(task, Mapping):
        raise invalid("Each task must be a JSON object.", target=target)
    kind = task.get("kind")
    if kind in PREBUILT_TASK_KINDS:
        raise invalid(
            f"Task kind '{kind}' is a prebuilt feature, which this emulator does not serve; "
            f"it serves {', '.join(CUSTOM_TASK_KINDS)}.",
            target=f"{target}/kind",
        )
    if kind not in CUSTOM_TASK_KINDS:
        raise invalid(f"Invalid task kind '{kind}'.", target=f"{target}/kind")
    task_name = task.get("taskName")
    if task_name is not None and not isinstance(task_name, str):
        raise invalid("taskName must be a string.", target=f"{target}/taskName")
    parameters = task.get("parameters")
    if not isinstance(parameters, Mapping):
        raise invalid(f"Task '{kind}' needs 'parameters' with projectName and deploymentName.", target=target)
    names = []
    for name in ("projectName", "deploymentName"):
        value = parameters.get(name)
        if not isinstance(value, str) or not value:
            raise invalid(f"The parameter '{name}' is required.", target=f"{target}/parameters/{name}")
        names.append(value)
    string_index_type = parameters.get("stringIndexType", TEXT_ELEMENTS_V8)
    if kind == ENTITY_TASK and string_index_type not in STRING_INDEX_TYPES:
        raise invalid(
            f"The value '{string_index_type}' provided for the parameter 'stringIndexType' is invalid; "
            f"use one of {', '.join(STRING_INDEX_TYPES)}.",
            target=f"{target}/parameters/stringIndexType",
        )
    return TaskRequest(kind, task_name, names[0], names[1], str(string_index_type))


def document_error(document: InputDocument) -> dict[str, Any] | None:
    """The per-document error for a document that cannot be analysed, else None."""
    if not document.text.strip():
        return _document_error("InvalidDocument", "Document text is empty.")
    primary = document.language.split("-")[0].lower()
    if primary not in SUPPORTED_LANGUAGES:
        return _document_error(
            "UnsupportedLanguageCode",
            f"Invalid language code '{document.language}'. Supported languages: see the documentation.",
        )
    return None


def _document_error(inner_code: str, message: str) -> dict[str, Any]:
    return {
        "code": "InvalidArgument",
        "message": "Invalid document in request.",
        "innererror": {"code": inner_code, "message": message},
    }

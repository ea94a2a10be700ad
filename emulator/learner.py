"""The emulator's learner: trains deterministic models from labelled projects and predicts with them.

Same inputs, same model, same predictions: nothing depends on the process, the clock or a global
random state (the percentage split is seeded from the assets, the training config and the training's
own random draw), so a replica trained on the same train/test split answers exactly like its primary.
Models are plain JSON so they can be persisted with `--state-dir` and reloaded unchanged.

Authoring offsets (labels, evaluation results) are UTF-16 code units; predictions hand back code
points (Python `str` indexes) and the runtime converts them to the caller's string index type.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator import entity_tagger, text_classifier
from emulator.evaluation import (
    EvaluationOptionsError,
    Span,
    entity_evaluation,
    multi_label_evaluation,
    single_label_evaluation,
    split_documents,
)
from emulator.text_offsets import UTF16_CODE_UNIT, OffsetMap, utf16_length

ENTITY_RECOGNITION = "CustomEntityRecognition"
SINGLE_LABEL_CLASSIFICATION = "CustomSingleLabelClassification"
MULTI_LABEL_CLASSIFICATION = "CustomMultiLabelClassification"
PROJECT_KINDS = (ENTITY_RECOGNITION, SINGLE_LABEL_CLASSIFICATION, MULTI_LABEL_CLASSIFICATION)


@dataclass(frozen=True)
class LabelledDocument:
    location: str
    text: str  # the blob's bytes decoded as UTF-8, exactly (CRLF kept)
    language: str
    dataset: str | None  # "Train", "Test" or None
    spans: tuple[tuple[str, int, int], ...] = ()  # NER labels (category, offset, length) in UTF-16 code units
    classes: tuple[str, ...] = ()  # classification labels


@dataclass(frozen=True)
class TrainingResult:
    model: dict[str, Any]  # JSON-serialisable, handed back to predict_*
    evaluation_summary: dict[str, Any]  # EvaluationSummary body
    document_results: list[dict[str, Any]]  # DocumentEvaluationResult bodies (UTF-16 offsets)


class TrainingError(Exception):
    """Training cannot proceed; the message is shown in the training job's errors."""


@dataclass(frozen=True)
class PredictedEntity:
    category: str
    offset: int  # code points
    length: int
    confidence: float


@dataclass(frozen=True)
class PredictedClass:
    category: str
    confidence: float


def train(
    project_kind: str,
    categories: Sequence[str],
    documents: Sequence[LabelledDocument],
    evaluation_options: Mapping[str, Any] | None,
    training_config_version: str,
    split_draw: int = 0,
) -> TrainingResult:
    """Split, train on the training documents, evaluate on the test documents.

    `split_draw` is the training's own random number: a percentage split differs between two
    trainings of the same data, as on the service; a manual split does not depend on it."""
    if project_kind not in PROJECT_KINDS:
        raise TrainingError(f"The project kind '{project_kind}' cannot be trained.")
    if not categories:
        raise TrainingError("The project defines no entities or classes to learn.")
    if len(set(categories)) != len(categories):
        raise TrainingError("The project defines the same entity or class more than once.")
    _check_labels(project_kind, categories, documents)
    # Sorted so the split does not depend on the order the documents were listed in.
    usable = sorted(
        (
            document
            for document in documents
            if project_kind != SINGLE_LABEL_CLASSIFICATION or document.classes
        ),
        key=lambda document: document.location,
    )
    seed_material = {
        "projectKind": project_kind,
        "categories": list(categories),
        "documents": [_asset_fingerprint(document) for document in usable],
        "evaluationOptions": dict(evaluation_options or {}),
        "trainingConfigVersion": training_config_version,
        "splitDraw": split_draw,
    }
    try:
        split = split_documents([document.dataset for document in usable], evaluation_options, seed_material)
    except EvaluationOptionsError as error:
        raise TrainingError(str(error)) from error
    training = [usable[index] for index in split.train]
    testing = [usable[index] for index in split.test]
    if not training:
        raise TrainingError("No labelled documents are assigned to the training set.")
    if not testing:
        raise TrainingError("No labelled documents are assigned to the testing set.")
    model = _fit(project_kind, categories, training)
    model["projectKind"] = project_kind
    model["trainingConfigVersion"] = training_config_version
    summary, results = _evaluate(project_kind, categories, model, testing)
    summary["evaluationOptions"] = split.options
    return TrainingResult(model=model, evaluation_summary=summary, document_results=results)


def predict_entities(model: Mapping[str, Any], text: str) -> list[PredictedEntity]:
    """Entities in `text`, with code-point offsets."""
    _expect_kind(model, ENTITY_RECOGNITION)
    return [
        PredictedEntity(span.category, span.start, span.end - span.start, span.confidence)
        for span in entity_tagger.tag(model, text)
    ]


def predict_classes(model: Mapping[str, Any], text: str) -> list[PredictedClass]:
    """Single-label: exactly one class. Multi-label: every class above the threshold (maybe none)."""
    if model.get("projectKind") == SINGLE_LABEL_CLASSIFICATION:
        category, confidence = text_classifier.classify_single_label(model, text)
        return [PredictedClass(category, confidence)]
    _expect_kind(model, MULTI_LABEL_CLASSIFICATION)
    return [
        PredictedClass(category, confidence)
        for category, confidence in text_classifier.classify_multi_label(model, text)
    ]


def categories_of(assets: Mapping[str, Any]) -> list[str]:
    """The entity or class names an `assets` object (export format) defines, in order."""
    items = assets.get("entities") if "entities" in assets else assets.get("classes")
    return [str(item["category"]) for item in items or []]


def labelled_documents(assets: Mapping[str, Any], texts: Mapping[str, str]) -> list[LabelledDocument]:
    """The learner's view of an `assets` object (export format) and the documents' texts by location."""
    documents = []
    for document in assets.get("documents") or []:
        spans = tuple(
            (str(label["category"]), int(label["offset"]), int(label["length"]))
            for region in document.get("entities") or []
            for label in region.get("labels") or []
        )
        if document.get("class"):
            classes: tuple[str, ...] = (str(document["class"]["category"]),)
        else:
            classes = tuple(str(item["category"]) for item in document.get("classes") or [])
        documents.append(
            LabelledDocument(
                location=document["location"],
                text=texts[document["location"]],
                language=document.get("language", ""),
                dataset=document.get("dataset"),
                spans=spans,
                classes=classes,
            )
        )
    return documents


def _expect_kind(model: Mapping[str, Any], kind: str) -> None:
    if model.get("projectKind") != kind:
        raise ValueError(f"a {model.get('projectKind')} model cannot serve {kind} predictions")


def _check_labels(
    project_kind: str, categories: Sequence[str], documents: Sequence[LabelledDocument]
) -> None:
    known = set(categories)
    for document in documents:
        if project_kind == ENTITY_RECOGNITION:
            size = utf16_length(document.text)
            for category, offset, length in document.spans:
                if category not in known:
                    raise TrainingError(
                        f"Document '{document.location}' has a label of unknown entity '{category}'."
                    )
                if offset < 0 or length <= 0 or offset + length > size:
                    raise TrainingError(
                        f"Document '{document.location}' has a '{category}' label at offset {offset} with "
                        f"length {length}, outside its text of {size} characters; was the document changed "
                        "after labelling?"
                    )
        else:
            unknown = [category for category in document.classes if category not in known]
            if unknown:
                raise TrainingError(
                    f"Document '{document.location}' has a label of unknown class '{unknown[0]}'."
                )
            if project_kind == SINGLE_LABEL_CLASSIFICATION and len(document.classes) > 1:
                raise TrainingError(
                    f"Document '{document.location}' has more than one class in a single-label project."
                )


def _asset_fingerprint(document: LabelledDocument) -> list[Any]:
    # The split depends on the assets (not on the text, which the export does not carry).
    return [
        document.location,
        document.language,
        document.dataset,
        sorted(document.spans),
        sorted(document.classes),
    ]


def _code_point_spans(document: LabelledDocument) -> list[tuple[str, int, int]]:
    offsets = OffsetMap(document.text)
    spans = []
    for category, offset, length in document.spans:
        start, end = offsets.to_code_points(offset, length)
        spans.append((category, start, end))
    return spans


def _fit(
    project_kind: str, categories: Sequence[str], training: Sequence[LabelledDocument]
) -> dict[str, Any]:
    if project_kind == ENTITY_RECOGNITION:
        return entity_tagger.fit(
            categories, ((document.text, _code_point_spans(document)) for document in training)
        )
    if project_kind == SINGLE_LABEL_CLASSIFICATION:
        return text_classifier.fit_single_label(
            categories, ((document.text, document.classes[0]) for document in training)
        )
    return text_classifier.fit_multi_label(
        categories, ((document.text, document.classes) for document in training)
    )


def _evaluate(
    project_kind: str,
    categories: Sequence[str],
    model: Mapping[str, Any],
    testing: Sequence[LabelledDocument],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    results: list[dict[str, Any]] = []
    if project_kind == ENTITY_RECOGNITION:
        pairs: list[tuple[Sequence[Span], Sequence[Span]]] = []
        for document in testing:
            offsets = OffsetMap(document.text)
            expected = sorted(document.spans, key=lambda span: (span[1], span[2], span[0]))
            predicted: list[Span] = []
            for entity in predict_entities(model, document.text):
                offset, length = offsets.from_code_points(
                    entity.offset, entity.offset + entity.length, UTF16_CODE_UNIT
                )
                predicted.append((entity.category, offset, length))
            pairs.append((expected, predicted))
            results.append(
                {
                    **_document_header(document, project_kind),
                    "customEntityRecognitionResult": {
                        "entities": [
                            {
                                "regionOffset": 0,
                                "regionLength": utf16_length(document.text),
                                "expectedEntities": [_entity_body(span) for span in expected],
                                "predictedEntities": [_entity_body(span) for span in predicted],
                            }
                        ]
                    },
                }
            )
        evaluation = entity_evaluation(categories, pairs)
        return {"projectKind": project_kind, "customEntityRecognitionEvaluation": evaluation}, results
    if project_kind == SINGLE_LABEL_CLASSIFICATION:
        single_pairs: list[tuple[str, str]] = []
        for document in testing:
            predicted_class = predict_classes(model, document.text)[0].category
            single_pairs.append((document.classes[0], predicted_class))
            results.append(
                {
                    **_document_header(document, project_kind),
                    "customSingleLabelClassificationResult": {
                        "expectedClass": document.classes[0],
                        "predictedClass": predicted_class,
                    },
                }
            )
        evaluation = single_label_evaluation(categories, single_pairs)
        return {"projectKind": project_kind, "customSingleLabelClassificationEvaluation": evaluation}, results
    multi_pairs: list[tuple[Sequence[str], Sequence[str]]] = []
    for document in testing:
        predicted_classes = [item.category for item in predict_classes(model, document.text)]
        multi_pairs.append((document.classes, predicted_classes))
        results.append(
            {
                **_document_header(document, project_kind),
                "customMultiLabelClassificationResult": {
                    "expectedClasses": list(document.classes),
                    "predictedClasses": predicted_classes,
                },
            }
        )
    evaluation = multi_label_evaluation(categories, multi_pairs)
    return {"projectKind": project_kind, "customMultiLabelClassificationEvaluation": evaluation}, results


def _document_header(document: LabelledDocument, project_kind: str) -> dict[str, Any]:
    return {"location": document.location, "language": document.language, "projectKind": project_kind}


def _entity_body(span: Span) -> dict[str, Any]:
    return {"category": span[0], "offset": span[1], "length": span[2]}


def model_digest(model: Mapping[str, Any]) -> str:
    """A short fingerprint of a model, e.g. to show two regions trained the same thing."""
    canonical = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

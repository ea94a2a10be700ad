"""The learner: deterministic training, recall on training documents, evaluation bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.learner import (
    LabelledDocument,
    TrainingError,
    categories_of,
    labelled_documents,
    model_digest,
    predict_classes,
    predict_entities,
    train,
)
from emulator.text_offsets import UTF16_CODE_UNIT, OffsetMap
from localdev.sample_project import SampleProject, multi_label_project, ner_project, single_label_project

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CONFIG = "2022-05-01"


def train_project(project: SampleProject, options: dict | None = None, config: str = CONFIG):
    assets = project.export["assets"]
    return train(
        project.kind, categories_of(assets), labelled_documents(assets, project.documents), options, config
    )


def utf16_predictions(model, text: str) -> set[tuple[str, int, int]]:
    offsets = OffsetMap(text)
    return {
        (
            entity.category,
            *offsets.from_code_points(entity.offset, entity.offset + entity.length, UTF16_CODE_UNIT),
        )
        for entity in predict_entities(model, text)
    }


def entity_texts(model, text: str) -> list[tuple[str, str]]:
    return [(e.category, text[e.offset : e.offset + e.length]) for e in predict_entities(model, text)]


def entity_recall(model, documents: list[LabelledDocument]) -> float:
    found = total = 0
    for document in documents:
        predicted = utf16_predictions(model, document.text)
        total += len(document.spans)
        found += sum(1 for span in document.spans if span in predicted)
    return found / total


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [ner_project, single_label_project, multi_label_project])
def test_same_inputs_give_the_same_model_and_evaluation(factory) -> None:
    project = factory()
    first = train_project(
        project, {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 30}
    )
    second = train_project(
        project, {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 30}
    )
    assert model_digest(first.model) == model_digest(second.model)
    assert first.evaluation_summary == second.evaluation_summary
    assert first.document_results == second.document_results


def test_model_survives_a_json_round_trip_unchanged() -> None:
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    reloaded = json.loads(json.dumps(result.model))
    for text in project.documents.values():
        assert predict_entities(reloaded, text) == predict_entities(result.model, text)


def test_percentage_split_depends_on_assets_and_config_only() -> None:
    project = ner_project(documents=30)
    options = {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}
    tested = {r["location"] for r in train_project(project, options).document_results}
    assert len(tested) == 6
    # The same assets listed in another order split the same way.
    reordered = dict(
        project.export["assets"], documents=list(reversed(project.export["assets"]["documents"]))
    )
    shuffled = SampleProject(export=dict(project.export, assets=reordered), documents=project.documents)
    assert tested == {r["location"] for r in train_project(shuffled, options).document_results}
    # Another config version reshuffles (with overwhelming likelihood for 30 documents).
    other = {r["location"] for r in train_project(project, options, config="2023-01-01").document_results}
    assert other != tested


def test_manual_split_follows_each_documents_dataset() -> None:
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    expected = {d["location"] for d in project.export["assets"]["documents"] if d["dataset"] == "Test"}
    assert {r["location"] for r in result.document_results} == expected
    assert result.evaluation_summary["evaluationOptions"]["kind"] == "manual"


# --- recall and generalisation -------------------------------------------------------------------


def test_ner_recovers_most_labelled_entities_on_its_training_documents() -> None:
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    training = [
        d for d in labelled_documents(project.export["assets"], project.documents) if d.dataset == "Train"
    ]
    assert entity_recall(result.model, training) >= 0.8


def test_ner_generalises_to_unseen_generated_agreements() -> None:
    result = train_project(ner_project(documents=60), {"kind": "manual"})
    unseen = ner_project(documents=10, seed=99)
    documents = labelled_documents(unseen.export["assets"], unseen.documents)
    assert entity_recall(result.model, documents) >= 0.6


def test_ner_predicts_nothing_beyond_the_labels_of_its_training_documents() -> None:
    # Precision as well as recall: the leading emoji and the word "Date" before each date were
    # once tagged as Date entities, stray predictions a viewer of the demo notices.
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    for document in labelled_documents(project.export["assets"], project.documents):
        if document.dataset == "Train":
            assert utf16_predictions(result.model, document.text) == set(document.spans), document.location


@pytest.mark.parametrize("header", ["📄", "👩\u200d💼", "🇺🇸", "🏠", "★"])
def test_an_emoji_or_a_context_word_is_never_an_entity_of_its_own(header: str) -> None:
    result = train_project(ner_project(), {"kind": "manual"})
    text = f"{header} Date 4/5/2016\r\n\r\nThis is a Loan agreement between the two parties mentioned below."
    assert entity_texts(result.model, text) == [("Date", "4/5/2016")]


def test_symbol_only_entities_are_predicted_when_training_labelled_them() -> None:
    def document(index: int, mark: str) -> LabelledDocument:
        text = f"Status {mark} for ticket {index}"
        return LabelledDocument(
            f"doc-{index:02d}.txt", text, "en", "Test" if index % 5 == 4 else "Train",
            spans=(("Mark", 7, len(mark)), ("Ticket", 7 + len(mark) + 12, len(str(index)))),
        )  # fmt: skip

    marks = ["✅", "❌", "⚠️"]
    result = train(
        "CustomEntityRecognition",
        ["Mark", "Ticket"],
        [document(index, marks[index % 3]) for index in range(15)],
        {"kind": "manual"},
        CONFIG,
    )
    text = "Status ⛔ for ticket 77"  # an emoji training never saw, where marks stand
    assert ("Mark", "⛔") in entity_texts(result.model, text)


def test_entity_predictions_are_code_point_spans_of_the_text() -> None:
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    text = next(t for t in project.documents.values() if "👩\u200d💼" in t)
    entities = predict_entities(result.model, text)
    assert entities
    for entity in entities:
        span = text[entity.offset : entity.offset + entity.length]
        assert span and span == span.strip()
        assert 0 < entity.confidence <= 1


@pytest.mark.parametrize("factory", [single_label_project, multi_label_project])
def test_classifiers_learn_their_training_documents(factory) -> None:
    project = factory(documents=60)
    result = train_project(project, {"kind": "manual"})
    documents = labelled_documents(project.export["assets"], project.documents)
    correct = 0
    training = [d for d in documents if d.dataset == "Train"]
    for document in training:
        predicted = [p.category for p in predict_classes(result.model, document.text)]
        correct += sorted(predicted) == sorted(document.classes)
    assert correct / len(training) >= 0.8


def test_single_label_always_predicts_exactly_one_class() -> None:
    project = single_label_project()
    model = train_project(project, {"kind": "manual"}).model
    for text in ("", "nothing we have seen before", *project.documents.values()):
        (predicted,) = predict_classes(model, text)
        assert 0 < predicted.confidence <= 1


def test_multi_label_may_predict_several_or_no_classes() -> None:
    project = multi_label_project(documents=60)
    model = train_project(project, {"kind": "manual"}).model
    counts = {len(predict_classes(model, text)) for text in project.documents.values()}
    assert max(counts) >= 2
    assert all(
        p.confidence > 0.5 for text in project.documents.values() for p in predict_classes(model, text)
    )


def test_a_model_refuses_predictions_of_another_kind() -> None:
    model = train_project(single_label_project(), {"kind": "manual"}).model
    with pytest.raises(ValueError):
        predict_entities(model, "text")


# --- evaluation bodies ---------------------------------------------------------------------------


def test_ner_evaluation_summary_and_document_results_have_the_documented_shape() -> None:
    project = ner_project()
    result = train_project(project, {"kind": "manual"})
    summary = result.evaluation_summary
    assert summary["projectKind"] == "CustomEntityRecognition"
    evaluation = summary["customEntityRecognitionEvaluation"]
    assert set(evaluation["entities"]) == set(categories_of(project.export["assets"]))
    for metrics in evaluation["entities"].values():
        assert set(metrics) == {
            "f1", "precision", "recall", "truePositiveCount", "trueNegativeCount", "falsePositiveCount",
            "falseNegativeCount",
        }  # fmt: skip
    for key in ("microF1", "microPrecision", "microRecall", "macroF1", "macroPrecision", "macroRecall"):
        assert 0 <= evaluation[key] <= 1
    assert evaluation["microF1"] > 0.5
    row = evaluation["confusionMatrix"]["Date"]
    assert row["Date"]["rawValue"] >= 1 and 0 < row["Date"]["normalizedValue"] <= 100
    document = result.document_results[0]
    assert document["projectKind"] == "CustomEntityRecognition"
    (region,) = document["customEntityRecognitionResult"]["entities"]
    text = project.documents[document["location"]]
    assert region["regionOffset"] == 0 and region["regionLength"] == len(text.encode("utf-16-le")) // 2
    assert {"category", "offset", "length"} == set(region["expectedEntities"][0])


def test_single_label_evaluation_has_a_confusion_matrix_and_multi_label_has_none() -> None:
    single = train_project(single_label_project(), {"kind": "manual"})
    body = single.evaluation_summary["customSingleLabelClassificationEvaluation"]
    assert "confusionMatrix" in body and set(body["classes"]) == {
        "Billing", "TechnicalIssue", "AccountAccess", "Shipping", "Feedback",
    }  # fmt: skip
    result = single.document_results[0]["customSingleLabelClassificationResult"]
    assert set(result) == {"expectedClass", "predictedClass"}
    multi = train_project(multi_label_project(), {"kind": "manual"})
    body = multi.evaluation_summary["customMultiLabelClassificationEvaluation"]
    assert "confusionMatrix" not in body and "microF1" in body
    result = multi.document_results[0]["customMultiLabelClassificationResult"]
    assert set(result) == {"expectedClasses", "predictedClasses"}


# --- training errors ------------------------------------------------------------------------------


def test_manual_split_without_test_documents_fails_training() -> None:
    project = ner_project(documents=4)  # documents 1-4: all Train
    with pytest.raises(TrainingError, match="testing set"):
        train_project(project, {"kind": "manual"})


def test_split_percentages_must_sum_to_100() -> None:
    with pytest.raises(TrainingError, match="sum to 100"):
        train_project(
            ner_project(), {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 30}
        )


def test_a_label_beyond_its_document_names_the_document() -> None:
    document = LabelledDocument("short.txt", "tiny", "en", "Train", (("Date", 2, 10),))
    other = LabelledDocument("ok.txt", "Date 1/1/2020", "en", "Test", (("Date", 5, 8),))
    with pytest.raises(TrainingError, match=r"short\.txt"):
        train("CustomEntityRecognition", ["Date"], [document, other], {"kind": "manual"}, CONFIG)


def test_a_label_of_an_unknown_category_fails_training() -> None:
    document = LabelledDocument("a.txt", "Date 1/1/2020", "en", "Train", (("Nope", 5, 8),))
    with pytest.raises(TrainingError, match="Nope"):
        train("CustomEntityRecognition", ["Date"], [document, document], None, CONFIG)


def test_an_unknown_project_kind_fails_training() -> None:
    with pytest.raises(TrainingError):
        train("customEntityRecognition", ["Date"], [], None, CONFIG)


# --- reference data (Microsoft's samples beside the checkout) ------------------------------------


def load_reference(folder: str, labels_file: str) -> tuple[dict, dict[str, str]]:
    base = SHARED_DATA / folder
    if not base.is_dir():
        pytest.skip("../shared/data is not present")
    export = json.loads((base / labels_file).read_text(encoding="utf-8"))
    texts = {
        d["location"]: (base / d["location"]).read_bytes().decode("utf-8")
        for d in export["assets"]["documents"]
    }
    return export, texts


@pytest.mark.reference_data
def test_official_loan_agreements_are_recovered_on_training_documents() -> None:
    export, texts = load_reference("custom-ner-loan-agreements", "loanAgreementsLabels.json")
    documents = labelled_documents(export["assets"], texts)
    result = train("CustomEntityRecognition", categories_of(export["assets"]), documents, None, CONFIG)
    tested = {r["location"] for r in result.document_results}
    training = [d for d in documents if d.location not in tested]
    assert len(training) == 16
    assert entity_recall(result.model, training) >= 0.8


@pytest.mark.reference_data
def test_official_classification_samples_train() -> None:
    export, texts = load_reference("custom-single-class-web-of-science", "webOfScience_labelsFile.json")
    result = train(
        "CustomSingleLabelClassification",
        categories_of(export["assets"]),
        labelled_documents(export["assets"], texts),
        None,
        CONFIG,
    )
    assert result.evaluation_summary["customSingleLabelClassificationEvaluation"]["microF1"] > 0.5
    export, texts = load_reference("custom-multi-class-movie-summaries", "movieLabels.json")
    result = train(
        "CustomMultiLabelClassification",
        categories_of(export["assets"]),
        labelled_documents(export["assets"], texts),
        None,
        CONFIG,
    )
    assert result.evaluation_summary["customMultiLabelClassificationEvaluation"]["microF1"] > 0.4


@pytest.mark.reference_data
def test_official_unlabelled_agreements_get_every_category() -> None:
    export, texts = load_reference("custom-ner-loan-agreements", "loanAgreementsLabels.json")
    categories = categories_of(export["assets"])
    model = train(
        "CustomEntityRecognition", categories, labelled_documents(export["assets"], texts), None, CONFIG
    ).model
    for name in ("Test 1.txt", "Test 2.txt", "Test 3.txt"):
        text = (SHARED_DATA / "custom-ner-loan-agreements" / name).read_bytes().decode("utf-8")
        entities = predict_entities(model, text)
        assert {entity.category for entity in entities} == set(categories), name
        assert len(entities) <= len(categories) + 2, name

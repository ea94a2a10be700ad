"""Comparing two models' evaluations: only a gap on the same test documents fails."""

from shared.replication.evaluation import compare, scores_of


def summary(micro: float, macro: float, **categories: float) -> dict:
    return {"projectKind": "CustomSingleLabelClassification",
            "evaluationOptions": {"kind": "manual"},
            "customSingleLabelClassificationEvaluation": {
                "microF1": micro, "macroF1": macro,
                "classes": {name: {"f1": f1, "precision": f1} for name, f1 in categories.items()}}}


TESTS = frozenset(f"doc{i}.txt" for i in range(100))


def test_scores_of_reads_overall_and_per_category_f1_of_any_kind() -> None:
    scores = scores_of(summary(0.9, 0.8, Billing=0.7, Outage=0.9), TESTS)
    assert scores.overall == {"microF1": 0.9, "macroF1": 0.8}
    assert scores.categories == {"Billing": 0.7, "Outage": 0.9}
    assert scores.options == {"kind": "manual"}
    ner = {"customEntityRecognitionEvaluation": {"microF1": 0.5, "entities": {"Date": {"f1": 0.4}}}}
    assert scores_of(ner, TESTS).categories == {"Date": 0.4}


def test_a_category_gap_beyond_the_tolerance_fails_on_the_same_test_set() -> None:
    parity = compare("v1", scores_of(summary(0.9, 0.8, Billing=0.7), TESTS),
                     scores_of(summary(0.9, 0.8, Billing=0.6), TESTS), 0.02)
    assert parity.same_test_set and parity.fails
    assert round(parity.largest_gap, 3) == 0.1
    assert "primary: microF1 0.900, macroF1 0.800, Billing 0.700" in parity.reason()
    assert "target: microF1 0.900, macroF1 0.800, Billing 0.600" in parity.reason()


def test_the_tolerance_is_at_least_one_test_document() -> None:
    small = frozenset({"a", "b", "c", "d"})
    parity = compare("v1", scores_of(summary(0.9, 0.8), small), scores_of(summary(0.7, 0.8), small), 0.02)
    assert parity.tolerance == 0.25 and not parity.fails


def test_different_test_sets_are_reported_never_failing() -> None:
    other = frozenset(f"doc{i}.txt" for i in range(1, 101))
    parity = compare("v1", scores_of(summary(0.9, 0.8), TESTS), scores_of(summary(0.1, 0.1), other), 0.02)
    assert not parity.same_test_set and not parity.fails
    assert parity.to_json()["sameTestSet"] is False


def test_a_clu_summary_scores_its_intents_and_compares_its_entities_per_category() -> None:
    clu = {"entitiesEvaluation": {"microF1": 0.2, "macroF1": 0.1, "entities": {"Size": {"f1": 0.2}}},
           "intentsEvaluation": {"microF1": 0.9, "macroF1": 0.8, "intents": {"Order": {"f1": 0.9}}}}
    scores = scores_of(clu, TESTS)
    assert scores.of == "intents" and scores.overall == {"microF1": 0.9, "macroF1": 0.8}
    assert scores.categories == {"Order": 0.9, "entity:Size": 0.2}
    assert scores.to_json()["f1"]["of"] == "intents"


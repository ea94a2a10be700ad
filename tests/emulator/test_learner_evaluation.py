"""Evaluation maths on small cases computed by hand."""

from __future__ import annotations

import pytest

from emulator.evaluation import (
    EvaluationOptionsError,
    entity_evaluation,
    match_entities,
    multi_label_evaluation,
    prf,
    single_label_evaluation,
    split_documents,
)


def counts(metrics: dict) -> tuple[int, int, int, int]:
    """(TP, FP, FN, TN) of one category's metrics."""
    return (
        metrics["truePositiveCount"],
        metrics["falsePositiveCount"],
        metrics["falseNegativeCount"],
        metrics["trueNegativeCount"],
    )


def test_prf_handles_zero_denominators() -> None:
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf(2, 1, 1) == (
        pytest.approx(2 / 3, abs=1e-6),
        pytest.approx(2 / 3, abs=1e-6),
        pytest.approx(2 / 3, abs=1e-6),
    )
    assert prf(1, 0, 3) == (1.0, 0.25, 0.4)


def test_entities_match_exactly_first_then_by_largest_overlap() -> None:
    expected = [("Name", 0, 5), ("City", 10, 6)]
    predicted = [("City", 9, 3), ("Name", 0, 5), ("City", 11, 5), ("Date", 30, 4)]
    pairs = match_entities(expected, predicted)
    assert (("Name", 0, 5), ("Name", 0, 5)) in pairs
    assert (("City", 10, 6), ("City", 11, 5)) in pairs  # overlap 5 beats overlap 2
    assert (None, ("City", 9, 3)) in pairs
    assert (None, ("Date", 30, 4)) in pairs


def test_entity_evaluation_by_hand() -> None:
    # Document 1: Name exact (TP); City predicted one character short (FN City + FP City).
    # Document 2: Name predicted as City on the same span (FN Name + FP City); a spurious Date (FP Date).
    documents = [
        ([("Name", 0, 5), ("City", 10, 6)], [("Name", 0, 5), ("City", 10, 5)]),
        ([("Name", 0, 4)], [("City", 0, 4), ("Date", 20, 2)]),
    ]
    evaluation = entity_evaluation(["Name", "City", "Date"], documents)
    name, city, date = (evaluation["entities"][c] for c in ("Name", "City", "Date"))
    assert (name["truePositiveCount"], name["falsePositiveCount"], name["falseNegativeCount"]) == (1, 0, 1)
    assert (city["truePositiveCount"], city["falsePositiveCount"], city["falseNegativeCount"]) == (0, 2, 1)
    assert (date["truePositiveCount"], date["falsePositiveCount"], date["falseNegativeCount"]) == (0, 1, 0)
    # Four pairs: Name/Name, City/City, Name/City, $none/Date.
    assert name["trueNegativeCount"] == 2  # City/City and $none/Date
    assert city["trueNegativeCount"] == 2  # Name/Name and $none/Date
    assert date["trueNegativeCount"] == 3
    assert (name["precision"], name["recall"], name["f1"]) == (1.0, 0.5, pytest.approx(2 / 3, abs=1e-6))
    assert city["f1"] == 0.0
    # micro: TP 1, FP 3, FN 2 → P 0.25, R 1/3, F1 2/7.
    assert evaluation["microPrecision"] == 0.25
    assert evaluation["microRecall"] == pytest.approx(1 / 3, abs=1e-6)
    assert evaluation["microF1"] == pytest.approx(2 / 7, abs=1e-6)
    # macro: mean of (1, 0, 0) precision, (0.5, 0, 0) recall.
    assert evaluation["macroPrecision"] == pytest.approx(1 / 3, abs=1e-6)
    assert evaluation["macroRecall"] == pytest.approx(1 / 6, abs=1e-6)
    matrix = evaluation["confusionMatrix"]
    assert matrix["Name"] == {
        "Name": {"normalizedValue": 50.0, "rawValue": 1},
        "City": {"normalizedValue": 50.0, "rawValue": 1},
    }
    assert matrix["City"] == {"City": {"normalizedValue": 100.0, "rawValue": 1}}
    assert matrix["$none"] == {"Date": {"normalizedValue": 100.0, "rawValue": 1}}


def test_single_label_evaluation_by_hand() -> None:
    documents = [("A", "A"), ("A", "B"), ("B", "B"), ("C", "B")]
    evaluation = single_label_evaluation(["A", "B", "C"], documents)
    a, b, c = (evaluation["classes"][k] for k in "ABC")
    assert counts(a) == (1, 0, 1, 2)
    assert counts(b) == (1, 2, 0, 1)
    assert counts(c) == (0, 0, 1, 3)
    assert evaluation["microF1"] == 0.5  # single-label: micro P = micro R = accuracy
    assert evaluation["confusionMatrix"]["A"]["B"] == {"normalizedValue": 50.0, "rawValue": 1}


def test_multi_label_evaluation_by_hand() -> None:
    documents = [(["A", "B"], ["A"]), (["B"], ["B", "C"]), ([], ["A"])]
    evaluation = multi_label_evaluation(["A", "B", "C"], documents)
    assert "confusionMatrix" not in evaluation
    a, b, c = (evaluation["classes"][k] for k in "ABC")
    assert counts(a) == (1, 1, 0, 1)
    assert counts(b) == (1, 0, 1, 1)
    assert counts(c) == (0, 1, 0, 2)
    # micro: TP 2, FP 2, FN 1.
    assert evaluation["microPrecision"] == 0.5
    assert evaluation["microRecall"] == pytest.approx(2 / 3, abs=1e-6)


def test_manual_split_puts_documents_without_a_dataset_in_training() -> None:
    split = split_documents(["Train", "Test", None, "test"], {"kind": "manual"}, seed_material=None)
    assert (split.train, split.test) == ([0, 2], [1, 3])
    assert split.options == {"kind": "manual", "trainingSplitPercentage": 50, "testingSplitPercentage": 50}


def test_percentage_split_is_seeded_and_keeps_both_sides_non_empty() -> None:
    first = split_documents([None] * 10, {"kind": "percentage", "trainingSplitPercentage": 70,
                                         "testingSplitPercentage": 30}, "seed")  # fmt: skip
    again = split_documents([None] * 10, {"kind": "percentage", "trainingSplitPercentage": 70,
                                         "testingSplitPercentage": 30}, "seed")  # fmt: skip
    assert first == again and len(first.test) == 3 and sorted(first.train + first.test) == list(range(10))
    tiny = split_documents([None] * 2, None, "seed")
    assert len(tiny.train) == 1 and len(tiny.test) == 1
    assert tiny.options == {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "random"},
        {"kind": "percentage", "trainingSplitPercentage": 90, "testingSplitPercentage": 20},
        {"kind": "percentage", "trainingSplitPercentage": "80"},
        {"kind": "percentage", "trainingSplitPercentage": 0, "testingSplitPercentage": 100},
    ],
)
def test_invalid_evaluation_options_are_refused(options) -> None:
    with pytest.raises(EvaluationOptionsError):
        split_documents([None] * 5, options, "seed")

"""Train/test splitting and the metrics of an `EvaluationSummary`.

Metrics follow the Language documentation: an entity counts as a true positive only when its
category and both boundaries match; the confusion matrix pairs overlapping entities (or
documents' classes) and counts unmatched ones against `$none`; `normalizedValue` is the
percentage of its expected (row) total.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NONE = "$none"
DEFAULT_TRAINING_SPLIT = 80
DEFAULT_TESTING_SPLIT = 20


class EvaluationOptionsError(ValueError):
    """The evaluationOptions cannot be honoured (message is meant for the caller)."""


@dataclass(frozen=True)
class Split:
    options: dict[str, Any]  # as echoed in the summary
    train: list[int]  # document indexes
    test: list[int]


def split_documents(
    datasets: Sequence[str | None], options: Mapping[str, Any] | None, seed_material: Any
) -> Split:
    """Assign each document to train or test.

    `manual` follows each document's `dataset` (documents without one train); `percentage`
    shuffles with a seed derived only from `seed_material` (the assets and the training config),
    so the same project always splits the same way.
    """
    options = dict(options or {})
    kind = options.get("kind", "percentage")
    if kind == "manual":
        train = [index for index, dataset in enumerate(datasets) if (dataset or "Train").lower() != "test"]
        test = [index for index, dataset in enumerate(datasets) if (dataset or "").lower() == "test"]
        echoed: dict[str, Any] = {"kind": "manual"}
        if datasets:
            echoed["trainingSplitPercentage"] = round(100 * len(train) / len(datasets))
            echoed["testingSplitPercentage"] = 100 - echoed["trainingSplitPercentage"]
        return Split(echoed, train, test)
    if kind != "percentage":
        raise EvaluationOptionsError(
            f"The evaluation kind '{kind}' is invalid; use 'percentage' or 'manual'."
        )
    training: Any = options.get("trainingSplitPercentage", DEFAULT_TRAINING_SPLIT)
    if not _is_int(training):
        raise EvaluationOptionsError("The split percentages must be integers.")
    testing: Any = options.get("testingSplitPercentage", 100 - training)
    if not _is_int(testing):
        raise EvaluationOptionsError("The split percentages must be integers.")
    if training + testing != 100 or not 0 < training <= 100 or not 0 <= testing < 100:
        raise EvaluationOptionsError(
            "The training and testing split percentages must each be between 0 and 100 and sum to 100."
        )
    order = list(range(len(datasets)))
    random.Random(stable_seed(seed_material)).shuffle(order)
    test_count = round(len(order) * testing / 100)
    if testing and len(order) > 1:
        test_count = min(max(test_count, 1), len(order) - 1)
    test = sorted(order[:test_count])
    train = sorted(order[test_count:])
    echoed = {"kind": "percentage", "trainingSplitPercentage": training, "testingSplitPercentage": testing}
    return Split(echoed, train, test)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def stable_seed(material: Any) -> int:
    """A seed that depends only on the JSON value of `material` (never on the process)."""
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(canonical.encode("utf-8")).digest()[:8], "big")


@dataclass
class ConfusionCounts:
    """Raw confusion counts over pairs (expected, predicted); either side may be `$none`."""

    categories: Sequence[str]
    matrix: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, expected: str, predicted: str) -> None:
        row = self.matrix.setdefault(expected, {})
        row[predicted] = row.get(predicted, 0) + 1

    def body(self) -> dict[str, dict[str, dict[str, float]]]:
        body: dict[str, dict[str, dict[str, float]]] = {}
        for expected in sorted(self.matrix, key=self._order):
            row = self.matrix[expected]
            total = sum(row.values())
            body[expected] = {
                predicted: {"normalizedValue": round(100 * count / total, 4), "rawValue": count}
                for predicted, count in sorted(row.items(), key=lambda item: self._order(item[0]))
            }
        return body

    def _order(self, category: str) -> tuple[int, str]:
        return (
            (self.categories.index(category), "")
            if category in self.categories
            else (len(self.categories), category)
        )


@dataclass
class CategoryCounts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0

    def body(self) -> dict[str, Any]:
        precision, recall, f1 = prf(self.true_positive, self.false_positive, self.false_negative)
        return {
            "f1": f1,
            "precision": precision,
            "recall": recall,
            "truePositiveCount": self.true_positive,
            "trueNegativeCount": self.true_negative,
            "falsePositiveCount": self.false_positive,
            "falseNegativeCount": self.false_negative,
        }


def prf(true_positive: int, false_positive: int, false_negative: int) -> tuple[float, float, float]:
    """Precision, recall and F1; a ratio with a zero denominator is 0."""
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive + false_negative else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 6), round(recall, 6), round(f1, 6)


def averages(per_category: Mapping[str, CategoryCounts]) -> dict[str, float]:
    """micro (pooled counts) and macro (mean over categories) precision, recall and F1."""
    pooled = CategoryCounts()
    for counts in per_category.values():
        pooled.true_positive += counts.true_positive
        pooled.false_positive += counts.false_positive
        pooled.false_negative += counts.false_negative
    micro_precision, micro_recall, micro_f1 = prf(
        pooled.true_positive, pooled.false_positive, pooled.false_negative
    )
    metrics = [prf(c.true_positive, c.false_positive, c.false_negative) for c in per_category.values()]
    count = len(metrics) or 1
    return {
        "microF1": micro_f1,
        "microPrecision": micro_precision,
        "microRecall": micro_recall,
        "macroF1": round(sum(m[2] for m in metrics) / count, 6),
        "macroPrecision": round(sum(m[0] for m in metrics) / count, 6),
        "macroRecall": round(sum(m[1] for m in metrics) / count, 6),
    }


Span = tuple[str, int, int]  # (category, offset, length)


def match_entities(
    expected: Sequence[Span], predicted: Sequence[Span]
) -> list[tuple[Span | None, Span | None]]:
    """Pair expected with predicted entities: same boundaries first, then the largest overlap."""
    pairs: list[tuple[Span | None, Span | None]] = []
    unmatched_expected = list(expected)
    unmatched_predicted = list(predicted)
    for entity in list(unmatched_expected):
        same = next((p for p in unmatched_predicted if p[1:] == entity[1:]), None)
        if same is not None:
            pairs.append((entity, same))
            unmatched_expected.remove(entity)
            unmatched_predicted.remove(same)
    for entity in list(unmatched_expected):
        overlaps = [(_overlap(entity, p), -index, p) for index, p in enumerate(unmatched_predicted)]
        overlaps = [item for item in overlaps if item[0] > 0]
        if overlaps:
            best = max(overlaps)[2]
            pairs.append((entity, best))
            unmatched_expected.remove(entity)
            unmatched_predicted.remove(best)
    pairs.extend((entity, None) for entity in unmatched_expected)
    pairs.extend((None, entity) for entity in unmatched_predicted)
    return pairs


def _overlap(first: Span, second: Span) -> int:
    return min(first[1] + first[2], second[1] + second[2]) - max(first[1], second[1])


def entity_evaluation(
    categories: Sequence[str], documents: Iterable[tuple[Sequence[Span], Sequence[Span]]]
) -> dict[str, Any]:
    """`customEntityRecognitionEvaluation` over (expected, predicted) spans per test document."""
    confusion = ConfusionCounts(categories)
    per_category = {category: CategoryCounts() for category in categories}
    pair_categories: list[tuple[str, str]] = []
    for expected, predicted in documents:
        for expected_entity, predicted_entity in match_entities(expected, predicted):
            expected_category = expected_entity[0] if expected_entity else NONE
            predicted_category = predicted_entity[0] if predicted_entity else NONE
            confusion.add(expected_category, predicted_category)
            pair_categories.append((expected_category, predicted_category))
            exact = expected_entity is not None and expected_entity == predicted_entity
            if exact:
                per_category[expected_category].true_positive += 1
                continue
            if expected_entity is not None and expected_category in per_category:
                per_category[expected_category].false_negative += 1
            if predicted_entity is not None and predicted_category in per_category:
                per_category[predicted_category].false_positive += 1
    for category, counts in per_category.items():
        counts.true_negative = sum(1 for pair in pair_categories if category not in pair)
    return {
        "confusionMatrix": confusion.body(),
        "entities": {category: counts.body() for category, counts in per_category.items()},
        **averages(per_category),
    }


def single_label_evaluation(classes: Sequence[str], documents: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`customSingleLabelClassificationEvaluation` over (expected, predicted) class per test document."""
    confusion = ConfusionCounts(classes)
    per_class = {category: CategoryCounts() for category in classes}
    results = list(documents)
    for expected, predicted in results:
        confusion.add(expected, predicted)
        for category, counts in per_class.items():
            if expected == category and predicted == category:
                counts.true_positive += 1
            elif predicted == category:
                counts.false_positive += 1
            elif expected == category:
                counts.false_negative += 1
            else:
                counts.true_negative += 1
    return {
        "confusionMatrix": confusion.body(),
        "classes": {category: counts.body() for category, counts in per_class.items()},
        **averages(per_class),
    }


def multi_label_evaluation(
    classes: Sequence[str], documents: Iterable[tuple[Sequence[str], Sequence[str]]]
) -> dict[str, Any]:
    """`customMultiLabelClassificationEvaluation` (no confusion matrix) over (expected, predicted) sets."""
    per_class = {category: CategoryCounts() for category in classes}
    for expected, predicted in documents:
        for category, counts in per_class.items():
            wanted, given = category in expected, category in predicted
            if wanted and given:
                counts.true_positive += 1
            elif given:
                counts.false_positive += 1
            elif wanted:
                counts.false_negative += 1
            else:
                counts.true_negative += 1
    return {
        "classes": {category: counts.body() for category, counts in per_class.items()},
        **averages(per_class),
    }

"""Deterministic document classifiers: binarized naive Bayes over lower-cased words.

Single-label: one multinomial model over all classes, the best class wins. Multi-label: one
class-versus-rest model per class, a class is predicted when its log-odds are positive (the
fixed threshold 0.5 on the posterior), so none, one or several classes may be returned.
Each word counts once per document, which suits short texts of unequal length better than raw
counts. Models are plain JSON with rounded floats, so a reloaded model predicts the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import regex

SINGLE_LABEL_FORMAT = "emulator-single-label-classifier/1"
MULTI_LABEL_FORMAT = "emulator-multi-label-classifier/1"
_SMOOTHING = 1.0
_WORD = regex.compile(r"\w+")


def words(text: str) -> list[str]:
    """The distinct lower-cased words of `text`, in first-seen order."""
    return list(dict.fromkeys(match.group().lower() for match in _WORD.finditer(text)))


def fit_single_label(classes: Sequence[str], documents: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Train on (text, class) pairs."""
    document_counts: Counter[str] = Counter()
    word_counts: dict[str, Counter[str]] = {category: Counter() for category in classes}
    for text, category in documents:
        document_counts[category] += 1
        word_counts[category].update(words(text))
    vocabulary = sorted(set().union(*word_counts.values()))
    total_documents = sum(document_counts.values())
    bias: dict[str, float] = {}
    unseen: dict[str, float] = {}
    for category in classes:
        bias[category] = _round(
            math.log((document_counts[category] + _SMOOTHING) / (total_documents + _SMOOTHING * len(classes)))
        )
        denominator = sum(word_counts[category].values()) + _SMOOTHING * max(1, len(vocabulary))
        unseen[category] = _round(math.log(_SMOOTHING / denominator))
    weights = {
        word: [
            _round(math.log((word_counts[category][word] + _SMOOTHING) / _SMOOTHING)) for category in classes
        ]
        for word in vocabulary
    }
    return {
        "format": SINGLE_LABEL_FORMAT,
        "classes": list(classes),
        "bias": [bias[category] for category in classes],
        "unseen": [unseen[category] for category in classes],
        "weights": weights,
    }


def classify_single_label(model: Mapping[str, Any], text: str) -> tuple[str, float]:
    """The best class and its (softened) posterior probability."""
    classes: list[str] = list(model["classes"])
    scores, known = _scores(model, text)
    best = max(range(len(classes)), key=lambda index: (scores[index], -index))
    # Cosmetic: soften naive Bayes' near-certain posteriors into plausible confidence scores.
    temperature = max(1.0, math.sqrt(known))
    top = scores[best]
    total = sum(math.exp((score - top) / temperature) for score in scores)
    return classes[best], _round(1.0 / total, 4)


def fit_multi_label(classes: Sequence[str], documents: Iterable[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """Train one class-versus-rest model per class on (text, classes) pairs."""
    positive_documents: Counter[str] = Counter()
    positive_words: dict[str, Counter[str]] = {category: Counter() for category in classes}
    all_words: Counter[str] = Counter()
    total_documents = 0
    for text, labels in documents:
        total_documents += 1
        document_words = words(text)
        all_words.update(document_words)
        for category in set(labels):
            positive_documents[category] += 1
            positive_words[category].update(document_words)
    vocabulary = sorted(all_words)
    size = max(1, len(vocabulary))
    all_total = sum(all_words.values())
    bias: list[float] = []
    unseen: list[float] = []
    for category in classes:
        positives = positive_documents[category]
        negatives = total_documents - positives
        bias.append(_round(math.log((positives + _SMOOTHING) / (negatives + _SMOOTHING))))
        positive_total = sum(positive_words[category].values())
        negative_total = all_total - positive_total
        unseen.append(
            _round(math.log((negative_total + _SMOOTHING * size) / (positive_total + _SMOOTHING * size)))
        )
    weights: dict[str, list[float]] = {}
    for word in vocabulary:
        row = []
        for category in classes:
            positive = positive_words[category][word]
            negative = all_words[word] - positive
            row.append(_round(math.log((positive + _SMOOTHING) / (negative + _SMOOTHING))))
        weights[word] = row
    return {
        "format": MULTI_LABEL_FORMAT,
        "classes": list(classes),
        "bias": bias,
        "unseen": unseen,
        "weights": weights,
    }


def classify_multi_label(model: Mapping[str, Any], text: str) -> list[tuple[str, float]]:
    """Every class whose log-odds are positive, with its softened probability, best first."""
    classes: list[str] = list(model["classes"])
    margins, known = _scores(model, text)
    temperature = max(1.0, math.sqrt(known))
    chosen = [
        (classes[index], _round(_sigmoid(margin / temperature), 4))
        for index, margin in enumerate(margins)
        if margin > 0
    ]
    return sorted(chosen, key=lambda item: (-item[1], classes.index(item[0])))


def _scores(model: Mapping[str, Any], text: str) -> tuple[list[float], int]:
    """Per-class score = bias + Σ over known words (unseen + weight); unknown words are ignored."""
    weights: Mapping[str, Sequence[float]] = model["weights"]
    scores = list(model["bias"])
    unseen: Sequence[float] = model["unseen"]
    known = 0
    for word in words(text):
        row = weights.get(word)
        if row is None:
            continue
        known += 1
        for index, weight in enumerate(row):
            scores[index] += unseen[index] + weight
    return scores, known


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exponential = math.exp(value)
    return exponential / (1.0 + exponential)


def _round(value: float, digits: int = 6) -> float:
    return round(value, digits)

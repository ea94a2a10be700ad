"""A deterministic token tagger for custom NER: naive Bayes over context features, decoded greedily.

Each token gets a BIO label (`O`, `B-<category>`, `I-<category>`) from the sum of per-feature
log-likelihoods: the word itself, its shape and suffix, the two words either side, the first
and last word of its line (which carries roles such as "(the Borrower)") and the label just
given to the previous token. A decoded span is reported only when one of its tokens is evidence
of an entity (see `_has_entity_evidence`), so a leading emoji or a context word such as "Date"
is never an entity of its own. Training is counting, so it is fast and exactly reproducible;
the model is plain JSON (floats rounded) so a model persisted and reloaded predicts the same.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex

MODEL_FORMAT = "emulator-entity-tagger/1"
OUTSIDE = "O"
_SMOOTHING = 0.1
# Words (with their combining marks), else single non-space graphemes: an emoji ZWJ sequence or a
# flag is one token, so no entity can start or end inside a grapheme.
_TOKEN = regex.compile(r"(?:\w\p{M}*)+|(?!\s)\X")
_BOUNDARY = "<s>"
_END = "</s>"
# Cosmetic: softens naive Bayes' overconfident posteriors into plausible confidence scores.
_CONFIDENCE_TEMPERATURE = 3.0
# Entities the tagger is less sure of than this are not reported (mostly stray tokens in unfamiliar text).
MINIMUM_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Token:
    start: int  # code points
    end: int
    text: str


@dataclass(frozen=True)
class TaggedSpan:
    category: str
    start: int  # code points, [start, end)
    end: int
    confidence: float


def tokenize(text: str) -> list[Token]:
    return [Token(match.start(), match.end(), match.group()) for match in _TOKEN.finditer(text)]


@functools.lru_cache(maxsize=65_536)
def _shape(word: str) -> str:
    shape: list[str] = []
    for char in word:
        kind = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        if not shape or shape[-1] != kind:
            shape.append(kind)
    return "".join(shape)


def static_features(text: str, tokens: Sequence[Token]) -> list[list[str]]:
    """The features of every token that do not depend on the labels decoded so far."""
    words = [token.text.lower() for token in tokens]
    # Line of each token, and the first and last word-like token of each line.
    line_of: list[int] = []
    line = 0
    previous_end = 0
    for token in tokens:
        if "\n" in text[previous_end : token.start]:
            line += 1
        line_of.append(line)
        previous_end = token.end
    first_word: dict[int, str] = {}
    last_word: dict[int, str] = {}
    for token_line, token, word in zip(line_of, tokens, words, strict=True):
        if token.text[0].isalnum():
            first_word.setdefault(token_line, word)
            last_word[token_line] = word
    padded = [_BOUNDARY, _BOUNDARY, *words, _END, _END]
    features: list[list[str]] = []
    for index, (token, word) in enumerate(zip(tokens, words, strict=True)):
        at = index + 2
        starts_line = index == 0 or line_of[index - 1] != line_of[index]
        features.append(
            [
                f"w={word}",
                f"s={_shape(token.text)}",
                f"x={word[-3:]}",
                f"p1={padded[at - 1]}",
                f"p2={padded[at - 2]}",
                f"n1={padded[at + 1]}",
                f"n2={padded[at + 2]}",
                f"p1w={padded[at - 1]}|{word}",
                f"bol={starts_line}",
                f"lf={first_word.get(line_of[index], '')}",
                f"ll={last_word.get(line_of[index], '')}",
            ]
        )
    return features


def bio_labels(tokens: Sequence[Token], spans: Iterable[tuple[str, int, int]]) -> list[str]:
    """BIO label of each token from code-point spans (category, start, end); overlap counts."""
    labels = [OUTSIDE] * len(tokens)
    starts = [token.start for token in tokens]
    for category, start, end in sorted(spans, key=lambda span: (span[1], span[2])):
        inside = False
        # Tokens are sorted: walk from the first one that could overlap.
        index = max(0, _first_at_or_after(starts, start) - 1)
        while index < len(tokens) and tokens[index].start < end:
            if tokens[index].end > start and labels[index] == OUTSIDE:
                labels[index] = f"{'I' if inside else 'B'}-{category}"
                inside = True
            index += 1
    return labels


def _first_at_or_after(values: Sequence[int], target: int) -> int:
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] < target:
            low = middle + 1
        else:
            high = middle
    return low


def fit(
    categories: Sequence[str], documents: Iterable[tuple[str, Sequence[tuple[str, int, int]]]]
) -> dict[str, Any]:
    """Count features per label over (text, code-point spans) documents; return the JSON model."""
    labels = [OUTSIDE, *(f"{prefix}-{category}" for category in categories for prefix in ("B", "I"))]
    pair_counts: Counter[tuple[str, str]] = Counter()
    label_counts: Counter[str] = Counter()
    symbol_categories: set[str] = set()
    for text, spans in documents:
        symbol_categories.update(category for category, start, end in spans if not _has_word(text[start:end]))
        tokens = tokenize(text)
        gold = bio_labels(tokens, spans)
        features = static_features(text, tokens)
        previous = [_BOUNDARY, *gold[:-1]]
        pair_counts.update(
            (feature, label)
            for token_features, label, before in zip(features, gold, previous, strict=True)
            for feature in (*token_features, f"pl={before}")
        )
        label_counts.update(gold)
    feature_totals: Counter[str] = Counter()
    for (_feature, label), count in pair_counts.items():
        feature_totals[label] += count
    vocabulary_size = max(1, len({feature for feature, _label in pair_counts}))
    tokens_seen = sum(label_counts.values())
    prior: dict[str, float] = {}
    unseen: dict[str, float] = {}
    for label in labels:
        # Labels never seen keep a tiny prior so they are representable but never win on priors.
        prior[label] = _round(
            math.log((label_counts[label] + _SMOOTHING) / (tokens_seen + _SMOOTHING * len(labels)))
        )
        unseen[label] = _round(math.log(_SMOOTHING / (feature_totals[label] + _SMOOTHING * vocabulary_size)))
    weights: dict[str, dict[str, float]] = {}
    for (feature, label), count in sorted(pair_counts.items()):
        weights.setdefault(feature, {})[label] = _round(math.log((count + _SMOOTHING) / _SMOOTHING))
    return {
        "format": MODEL_FORMAT,
        "labels": labels,
        "prior": prior,
        "unseen": unseen,
        "weights": weights,
        "symbolCategories": sorted(symbol_categories),
    }


def tag(model: Mapping[str, Any], text: str) -> list[TaggedSpan]:
    """Entity spans (code points) in `text`, decoded left to right."""
    tokens = tokenize(text)
    if not tokens:
        return []
    labels: list[str] = list(model["labels"])
    prior: Mapping[str, float] = model["prior"]
    unseen: Mapping[str, float] = model["unseen"]
    weights: Mapping[str, Mapping[str, float]] = model["weights"]
    decoded: list[tuple[str, float]] = []
    previous = _BOUNDARY
    for token_features in static_features(text, tokens):
        scores = dict(prior)
        known = 0
        for feature in (*token_features, f"pl={previous}"):
            seen_with = weights.get(feature)
            # Features never seen in training are ignored: counting them would favour the rarest
            # labels (whose smoothed unseen probability is largest) on every unfamiliar token.
            if seen_with is None:
                continue
            known += 1
            for label, weight in seen_with.items():
                scores[label] += weight
        for label in labels:
            scores[label] += known * unseen[label]
        best = labels[0]
        for label in labels:
            if scores[label] > scores[best]:
                best = label
        # An inside tag can only continue an entity of its own category.
        if best.startswith("I-") and previous[2:] != best[2:]:
            best = "B-" + best[2:]
        if best == OUTSIDE:
            decoded.append((best, 0.0))  # the confidence of a non-entity token is never reported
        else:
            top = scores[best]
            total = sum(math.exp((score - top) / _CONFIDENCE_TEMPERATURE) for score in scores.values())
            decoded.append((best, 1.0 / total))
        previous = best
    starts = [token.start for token in tokens]
    return [
        span
        for span in _spans(tokens, decoded)
        if span.confidence >= MINIMUM_CONFIDENCE
        and _has_entity_evidence(model, weights, tokens, starts, span)
    ]


def _has_word(text: str) -> bool:
    return any(character.isalnum() for character in text)


def _has_entity_evidence(
    model: Mapping[str, Any],
    weights: Mapping[str, Mapping[str, float]],
    tokens: Sequence[Token],
    starts: Sequence[int],
    span: TaggedSpan,
) -> bool:
    """Whether some token of the span could be part of an entity, judging by the training labels.

    A token is evidence when training saw it inside an entity, or when it is a word never seen at
    all (a new name). Words training saw only outside entities ("Date" before a date) are not, nor
    are unseen symbols, punctuation or emoji unless the category had labels made only of such
    characters: a span of nothing else is context the tagger leaned on, not an entity.
    """
    symbol_categories = model.get("symbolCategories", ())
    for token in tokens[_first_at_or_after(starts, span.start) :]:
        if token.end > span.end:
            break
        seen_with = weights.get(f"w={token.text.lower()}")
        if seen_with is None:
            if _has_word(token.text) or span.category in symbol_categories:
                return True
        elif any(label != OUTSIDE for label in seen_with):
            return True
    return False


def _spans(tokens: Sequence[Token], decoded: Sequence[tuple[str, float]]) -> list[TaggedSpan]:
    spans: list[TaggedSpan] = []
    current: tuple[str, int, int, list[float]] | None = None
    for token, (label, confidence) in zip(tokens, decoded, strict=True):
        if label.startswith("I-") and current is not None and current[0] == label[2:]:
            current[3].append(confidence)
            current = (current[0], current[1], token.end, current[3])
            continue
        if current is not None:
            spans.append(_span(current))
            current = None
        if label.startswith("B-"):
            current = (label[2:], token.start, token.end, [confidence])
    if current is not None:
        spans.append(_span(current))
    return spans


def _span(current: tuple[str, int, int, list[float]]) -> TaggedSpan:
    category, start, end, confidences = current
    return TaggedSpan(category, start, end, _round(sum(confidences) / len(confidences), 4))


def _round(value: float, digits: int = 6) -> float:
    return round(value, digits)

"""A deterministic learner for CLU and orchestration projects: same data in, same answers out.

Intents: every training utterance is kept as a TF-IDF vector; an intent's similarity to a query
is its best cosine similarity with one of that intent's utterances, and its confidence is that
similarity divided by `s1 + s2 * (1 - s1)` where s1 and s2 are the two best similarities (capped
at 1): an utterance seen in training scores 1 and a clear winner scores near 1. When the best
confidence is below the project's `confidenceThreshold`, the top intent becomes `None`, as the
service documents.

Entities (CLU only), per component:
- learned: the labelled span texts, matched again as whole words (case-insensitive);
- list: every synonym of every sub-list, as whole words (case-insensitive), with its `listKey`;
- prebuilt: the small set in emulator/conversations/prebuilt.py;
- regex: each expression (Python `re`, close to .NET for common patterns), with its `regexKey`.
Overlapping matches of one entity are composed by `compositionSetting`, then filtered by
`requiredComponents` (docs/reference/emulator-fidelity.md says which parts are inferred).

The model is plain JSON, stored like the text learner's artifacts and pinned by deployments.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.conversations import prebuilt
from emulator.conversations.assets import CONVERSATION, ORCHESTRATION
from emulator.text_offsets import OffsetMap

NONE_INTENT = "None"
DEFAULT_CONFIDENCE_THRESHOLD = 0.0
_TOKEN = re.compile(r"\w+", re.UNICODE)


class TrainingError(Exception):
    """The data cannot be trained on; the training job fails with this message."""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class EntityMatch:
    category: str
    start: int  # code points, [start, end)
    end: int
    components: frozenset[str]
    extra_information: tuple[dict[str, Any], ...] = ()
    resolutions: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Prediction:
    top_intent: str
    intents: tuple[tuple[str, float], ...]  # best first
    entities: tuple[EntityMatch, ...] = ()


@dataclass
class TrainingResult:
    model: dict[str, Any]
    evaluation_summary: dict[str, Any]
    utterance_results: list[dict[str, Any]] = field(default_factory=list)


# -- intents ---------------------------------------------------------------------------------------
def _idf(examples: Sequence[Sequence[str]]) -> dict[str, float]:
    frequency: Counter[str] = Counter(token for example in examples for token in set(example))
    total = len(examples)
    return {token: math.log((total + 1) / (count + 1)) + 1 for token, count in frequency.items()}


def _vector(words: Iterable[str], idf: Mapping[str, float], unseen: float) -> dict[str, float]:
    counts = Counter(words)
    return {token: count * idf.get(token, unseen) for token, count in counts.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    dot = sum(weight * b.get(token, 0.0) for token, weight in a.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def classify(model: Mapping[str, Any], text: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    """(top intent, every intent with its confidence, best first) for one query."""
    idf: dict[str, float] = model["idf"]
    unseen = math.log(len(model["examples"]) + 1) + 1
    query = _vector(tokens(text), idf, unseen)
    best: dict[str, float] = dict.fromkeys(model["intents"], 0.0)
    for example in model["examples"]:
        score = _cosine(query, _vector(example["tokens"], idf, unseen))
        if score > best[example["intent"]]:
            best[example["intent"]] = score
    # Confidence relative to the two best similarities: a clear winner scores near 1 even when the
    # query is worded unlike any training utterance, and an utterance seen in training scores 1.
    first, second = [*sorted(best.values(), reverse=True), 0.0, 0.0][:2]
    scale = first + second * (1.0 - first)
    confidences = {k: round(min(v / scale, 1.0), 6) if scale else 0.0 for k, v in best.items()}
    ranked = tuple(sorted(confidences.items(), key=lambda p: (-p[1], p[0])))
    top = ranked[0][0] if ranked else NONE_INTENT
    # No word in common with any training utterance: nothing to go on, so None.
    if (
        not ranked
        or ranked[0][1] <= 0
        or ranked[0][1] < model.get("confidenceThreshold", DEFAULT_CONFIDENCE_THRESHOLD)
    ):
        top = NONE_INTENT
    return top, ranked


# -- entities --------------------------------------------------------------------------------------
def _phrase_spans(text: str, phrase: str) -> list[tuple[int, int]]:
    if not phrase.strip():
        return []
    pattern = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _component_matches(entity: Mapping[str, Any], text: str) -> list[EntityMatch]:
    category = entity["category"]
    found: list[EntityMatch] = []
    for phrase in entity.get("learned", []):
        found += [EntityMatch(category, s, e, frozenset({"learned"})) for s, e in _phrase_spans(text, phrase)]
    for list_key, synonyms in entity.get("list", []):
        for synonym in synonyms:
            extra = ({"extraInformationKind": "ListKey", "key": list_key},)
            found += [
                EntityMatch(category, s, e, frozenset({"list"}), extra)
                for s, e in _phrase_spans(text, synonym)
            ]
    for prebuilt_category in entity.get("prebuilts", []):
        for match in prebuilt.recognise(prebuilt_category, text):
            extra = ({"extraInformationKind": "EntitySubtype", "value": match.subtype},)
            found.append(
                EntityMatch(
                    category, match.start, match.end, frozenset({"prebuilts"}), extra, match.resolutions
                )
            )
    for regex_key, pattern in entity.get("regex", []):
        extra = ({"extraInformationKind": "RegexKey", "key": regex_key, "regexPattern": pattern},)
        for hit in re.finditer(pattern, text):
            if hit.end() > hit.start():
                found.append(EntityMatch(category, hit.start(), hit.end(), frozenset({"regex"}), extra))
    return found


def _merge(matches: Sequence[EntityMatch], start: int, end: int) -> EntityMatch:
    extras: list[dict[str, Any]] = []
    resolutions: list[dict[str, Any]] = []
    for match in matches:
        extras += [e for e in match.extra_information if e not in extras]
        resolutions += [r for r in match.resolutions if r not in resolutions]
    components = frozenset().union(*(m.components for m in matches))
    return EntityMatch(matches[0].category, start, end, components, tuple(extras), tuple(resolutions))


def _overlap_groups(matches: Sequence[EntityMatch]) -> list[list[EntityMatch]]:
    groups: list[list[EntityMatch]] = []
    end = -1
    for match in sorted(matches, key=lambda m: (m.start, -m.end)):
        if groups and match.start < end:
            groups[-1].append(match)
            end = max(end, match.end)
        else:
            groups.append([match])
            end = match.end
    return groups


def defined_components(entity: Mapping[str, Any]) -> frozenset[str]:
    """The components an entity has: learned once it has labels, and each one its definition names."""
    kinds = {kind for kind in ("learned", "list", "prebuilts", "regex") if entity.get(kind)}
    return frozenset(kinds)


def compose(entity: Mapping[str, Any], matches: Sequence[EntityMatch]) -> list[EntityMatch]:
    """One entity's component matches, composed by its compositionSetting, then requiredComponents.

    The four settings as the spec (ConversationalAnalysisAuthoringCompositionSetting) words them:
    combine overlapping spans into one; return every component's match separately; return only
    spans that every defined component matched exactly; return the longest of overlapping spans.
    """
    setting = entity.get("compositionSetting") or "combineComponents"
    defined = defined_components(entity)
    composed: list[EntityMatch] = []
    for group in _overlap_groups(matches):
        spans = {(m.start, m.end) for m in group}
        if setting == "combineComponents":
            composed.append(_merge(group, min(m.start for m in group), max(m.end for m in group)))
        elif setting == "requireExactOverlap":
            merged = _merge(group, group[0].start, group[0].end)
            if len(spans) == 1 and merged.components >= defined:
                composed.append(merged)
        elif setting == "returnLongestOverlap":
            longest = max(group, key=lambda m: (m.end - m.start, -m.start))
            same = [m for m in group if (m.start, m.end) == (longest.start, longest.end)]
            composed.append(_merge(same, longest.start, longest.end))
        else:  # separateComponents: one instance per component that matched, even on the same span
            for component in sorted({c for m in group for c in m.components}):
                for start, end in sorted({(m.start, m.end) for m in group if component in m.components}):
                    same = [
                        m for m in group if (m.start, m.end) == (start, end) and component in m.components
                    ]
                    composed.append(_merge(same, start, end))
            composed.sort(key=lambda m: (m.start, m.end))
    required = set(entity.get("requiredComponents") or [])
    if not required:
        return composed
    return [
        match
        for match in composed
        if all(
            any(kind in m.components and m.start < match.end and match.start < m.end for m in matches)
            for kind in required
        )
    ]


def extract(model: Mapping[str, Any], text: str) -> tuple[EntityMatch, ...]:
    found: list[EntityMatch] = []
    for entity in model.get("entities", []):
        found += compose(entity, _component_matches(entity, text))
    return tuple(sorted(found, key=lambda m: (m.start, m.end, m.category)))


def predict(model: Mapping[str, Any], text: str) -> Prediction:
    top, intents = classify(model, text)
    entities = extract(model, text) if model["projectKind"] == CONVERSATION else ()
    return Prediction(top, intents, entities)


# -- training --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str
    dataset: str | None
    spans: tuple[tuple[str, int, int], ...] = ()  # (category, start, end) in code points


def examples_of(assets: Mapping[str, Any], language: str) -> list[Example]:
    found = []
    for utterance in assets.get("utterances") or []:
        text = utterance["text"]
        offsets = OffsetMap(text)
        spans = tuple(
            (label["category"], *offsets.to_code_points(label["offset"], label["length"]))
            for label in utterance.get("entities") or []
        )
        found.append(
            Example(
                text,
                utterance["intent"],
                utterance.get("language") or language,
                utterance.get("dataset"),
                spans,
            )
        )
    return found


def in_test_set(example: Example, evaluation: Mapping[str, Any]) -> bool:
    """Manual: the utterance's own dataset. Percentage: a stable hash of its text picks the share."""
    if evaluation.get("kind") == "manual":
        return example.dataset == "Test"
    bucket = int(hashlib.sha256(example.text.encode("utf-8")).hexdigest()[:8], 16) % 100
    return bucket < int(evaluation.get("testingSplitPercentage", 20))


def _entity_model(entity: Mapping[str, Any], learned: Iterable[str]) -> dict[str, Any]:
    return {
        "category": entity["category"],
        "compositionSetting": entity.get("compositionSetting") or "combineComponents",
        "requiredComponents": list(entity.get("requiredComponents") or []),
        "learned": sorted(set(learned)),
        "list": [
            [
                sub.get("listKey", ""),
                sorted({v for s in sub.get("synonyms") or [] for v in s.get("values") or []}),
            ]
            for sub in (entity.get("list") or {}).get("sublists") or []
        ],
        "prebuilts": [p["category"] for p in entity.get("prebuilts") or []],
        "regex": [
            [e.get("regexKey", ""), e["regexPattern"]]
            for e in (entity.get("regex") or {}).get("expressions") or []
        ],
    }


def train(
    kind: str,
    assets: Mapping[str, Any],
    metadata: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    connected: Sequence[Example] = (),
) -> TrainingResult:
    """Train on the project's utterances (plus, for orchestration, its connected projects' utterances)."""
    language = str(metadata.get("language", "en"))
    intents = [i["category"] for i in assets.get("intents") or []]
    if NONE_INTENT not in intents:
        intents.append(NONE_INTENT)
    examples = [*examples_of(assets, language), *connected]
    test = [e for e in examples if in_test_set(e, evaluation)]
    training = [e for e in examples if not in_test_set(e, evaluation)]
    if not training:
        raise TrainingError("the project has no utterances in its training set")
    words = [tokens(e.text) for e in training]
    model: dict[str, Any] = {
        "projectKind": kind,
        "language": language,
        "confidenceThreshold": float((metadata.get("settings") or {}).get("confidenceThreshold") or 0.0),
        "intents": intents,
        "idf": _idf(words),
        "examples": [{"intent": e.intent, "tokens": w} for e, w in zip(training, words, strict=True)],
    }
    if kind == CONVERSATION:
        learned: dict[str, set[str]] = {}
        for example in training:
            for category, start, end in example.spans:
                learned.setdefault(category, set()).add(example.text[start:end].lower())
        model["entities"] = [
            _entity_model(e, learned.get(e["category"], ())) for e in assets.get("entities") or []
        ]
    elif kind == ORCHESTRATION:
        model["targets"] = {
            i["category"]: i["orchestration"] for i in assets.get("intents") or [] if i.get("orchestration")
        }
    summary, results = evaluate(model, test, evaluation)
    return TrainingResult(model, summary, results)


# -- evaluation ------------------------------------------------------------------------------------
def _scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 6), round(recall, 6), round(f1, 6)


def _summary(
    names: Sequence[str], pairs: Sequence[tuple[set[Any], set[Any]]], key: str, label_of: Any
) -> dict[str, Any]:
    """Per-name counts over (expected, predicted) sets, micro and macro averages."""
    per: dict[str, dict[str, Any]] = {}
    totals = Counter[str]()
    for name in names:
        tp = sum(len({x for x in exp & pred if label_of(x) == name}) for exp, pred in pairs)
        fp = sum(len({x for x in pred - exp if label_of(x) == name}) for exp, pred in pairs)
        fn = sum(len({x for x in exp - pred if label_of(x) == name}) for exp, pred in pairs)
        tn = len(pairs) - sum(1 for exp, pred in pairs if any(label_of(x) == name for x in exp | pred))
        precision, recall, f1 = _scores(tp, fp, fn)
        per[name] = {
            "f1": f1,
            "precision": precision,
            "recall": recall,
            "truePositiveCount": tp,
            "trueNegativeCount": tn,
            "falsePositiveCount": fp,
            "falseNegativeCount": fn,
        }
        totals.update({"tp": tp, "fp": fp, "fn": fn})
    micro_p, micro_r, micro_f1 = _scores(totals["tp"], totals["fp"], totals["fn"])
    count = len(per) or 1
    return {
        key: per,
        "microF1": micro_f1,
        "microPrecision": micro_p,
        "microRecall": micro_r,
        "macroF1": round(sum(v["f1"] for v in per.values()) / count, 6),
        "macroPrecision": round(sum(v["precision"] for v in per.values()) / count, 6),
        "macroRecall": round(sum(v["recall"] for v in per.values()) / count, 6),
    }


def _confusion(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, dict[str, float]]]:
    matrix: dict[str, dict[str, dict[str, float]]] = {}
    expected_counts = Counter(expected for expected, _ in pairs)
    for (expected, predicted), raw in sorted(Counter(pairs).items()):
        matrix.setdefault(expected, {})[predicted] = {
            "normalizedValue": round(100.0 * raw / expected_counts[expected], 6),
            "rawValue": float(raw),
        }
    return matrix


def evaluate(
    model: Mapping[str, Any], test: Sequence[Example], evaluation: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    intent_pairs: list[tuple[str, str]] = []
    entity_pairs: list[tuple[set[Any], set[Any]]] = []
    results = []
    for example in test:
        prediction = predict(model, example.text)
        intent_pairs.append((example.intent, prediction.top_intent))
        expected = set(example.spans)
        predicted = {(m.category, m.start, m.end) for m in prediction.entities}
        entity_pairs.append((expected, predicted))
        offsets = OffsetMap(example.text)

        def labels(
            spans: Iterable[tuple[str, int, int]], offsets: OffsetMap = offsets
        ) -> list[dict[str, Any]]:
            return [
                {
                    "category": c,
                    **dict(
                        zip(
                            ("offset", "length"), offsets.from_code_points(s, e, "Utf16CodeUnit"), strict=True
                        )
                    ),
                }
                for c, s, e in sorted(spans, key=lambda x: (x[1], x[2], x[0]))
            ]

        results.append(
            {
                "text": example.text,
                "language": example.language,
                "entitiesResult": {
                    "expectedEntities": labels(expected),
                    "predictedEntities": labels(predicted),
                },
                "intentsResult": {"expectedIntent": example.intent, "predictedIntent": prediction.top_intent},
            }
        )
    intents = _summary(
        model["intents"], [({e}, {p}) for e, p in intent_pairs], "intents", lambda label: label
    )
    intents["confusionMatrix"] = _confusion(intent_pairs)
    entity_names = [e["category"] for e in model.get("entities", [])]
    entities = _summary(entity_names, entity_pairs, "entities", lambda span: span[0])
    entities["confusionMatrix"] = {}
    summary = {
        "entitiesEvaluation": entities,
        "intentsEvaluation": intents,
        "evaluationOptions": dict(evaluation),
    }
    return summary, results

"""A trained model's evaluation, as the service publishes it, and the comparison of two of them.

The service evaluates every model it trains on that training's test documents
(`models/{label}/evaluation/summary-result` and `.../evaluation/result`). Two models trained on the same
documents with the same test set should score alike; a gap is the earliest sign that documents or labels
did not travel intact. On different test sets (a percentage split drawn again) scores are only reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.language.authoring import AuthoringClient

OVERALL = ("microF1", "macroF1")
# A conversation project's summary has intentsEvaluation (and, for CLU, entitiesEvaluation): its overall
# F1 is of its intents, what it routes and answers on; its entities are compared per category.
INTENTS = "intentsEvaluation"
ENTITIES = "entitiesEvaluation"


@dataclass(frozen=True)
class ModelEvaluation:
    """What verify compares of one model: its evaluation options, test documents and F1 scores."""

    options: dict[str, Any]
    test_set: frozenset[str]
    overall: dict[str, float]          # microF1, macroF1
    categories: dict[str, float]       # entity, class or intent (and a CLU project's "entity:X") -> F1
    of: str = ""                       # what the overall F1 scores: entities, classes or intents

    def to_json(self) -> dict[str, Any]:
        return {"evaluationOptions": self.options, "testDocuments": len(self.test_set),
                "f1": {**self.overall, "of": self.of, "categories": dict(sorted(self.categories.items()))}}

    def table(self) -> str:
        """One line: overall then per-category F1."""
        cells = [f"{name} {self.overall.get(name, 0.0):.3f}" for name in OVERALL]
        cells += [f"{category} {score:.3f}" for category, score in sorted(self.categories.items())]
        return ", ".join(cells)


def read_test_set(client: AuthoringClient, project: str, label: str) -> frozenset[str] | None:
    """The locations of the model's test documents (its evaluation results list exactly those), or None
    when the service has no evaluation for it."""
    if client.get_model(project, label) is None:
        return None
    # A text project's results name documents by location; a conversation project's by utterance text.
    return frozenset(str(result.get("location") or result.get("text"))
                     for result in client.evaluation_results(project, label)
                     if str(result.get("dataset", "Test")).lower() == "test")


def read_evaluation(client: AuthoringClient, project: str, label: str) -> ModelEvaluation | None:
    summary = client.get_evaluation_summary(project, label)
    if summary is None:
        return None
    test_set = read_test_set(client, project, label)
    return scores_of(summary, test_set or frozenset())


def scores_of(summary: Mapping[str, Any], test_set: frozenset[str]) -> ModelEvaluation:
    """The F1 scores of an EvaluationSummary of any project kind (`...Evaluation` holds them): a text
    project's one part, or a conversation project's intents (see INTENTS)."""
    parts = {key: value for key, value in summary.items()
             if key.endswith("Evaluation") and isinstance(value, Mapping)}
    body: Mapping[str, Any] = parts.get(INTENTS) or next(iter(parts.values()), {})
    of = next((name for name in ("entities", "classes", "intents") if body.get(name) is not None), "")
    per_category = body.get(of) or {}
    categories = {str(name): float(values.get("f1", 0.0)) for name, values in per_category.items()}
    if INTENTS in parts:
        of = "intents"
        entities = (parts.get(ENTITIES) or {}).get("entities") or {}
        categories |= {f"entity:{name}": float(values.get("f1", 0.0)) for name, values in entities.items()}
    return ModelEvaluation(
        options=dict(summary.get("evaluationOptions") or {}), test_set=test_set,
        overall={name: float(body.get(name, 0.0)) for name in OVERALL}, categories=categories, of=of)


@dataclass(frozen=True)
class Parity:
    """The comparison of the primary's and the replica's evaluation of one label."""

    label: str
    primary: ModelEvaluation
    target: ModelEvaluation
    tolerance: float
    largest_gap: float

    @property
    def same_test_set(self) -> bool:
        return self.primary.test_set == self.target.test_set

    @property
    def fails(self) -> bool:
        """Only a gap on the same test documents means something travelled wrong."""
        return self.same_test_set and self.largest_gap > self.tolerance + 1e-9

    def reason(self) -> str:
        # "test set", not "documents": a CLU model's test set is utterances.
        return (f"model {self.label}: F1 differs by {self.largest_gap:.3f} on the same test set of "
                f"{len(self.primary.test_set)} (tolerance {self.tolerance:.3f}); "
                f"primary: {self.primary.table()}; target: {self.target.table()}")

    def to_json(self) -> dict[str, Any]:
        return {"sameTestSet": self.same_test_set, "tolerance": round(self.tolerance, 4),
                "largestGap": round(self.largest_gap, 4), "primary": self.primary.to_json(),
                "target": self.target.to_json()}


def compare(label: str, primary: ModelEvaluation, target: ModelEvaluation, tolerance: float) -> Parity:
    """The largest F1 gap (overall or any category); the tolerance is at least one test document's worth."""
    gaps = [abs(primary.overall.get(name, 0.0) - target.overall.get(name, 0.0)) for name in OVERALL]
    for category in set(primary.categories) | set(target.categories):
        gaps.append(abs(primary.categories.get(category, 0.0) - target.categories.get(category, 0.0)))
    size = len(primary.test_set)
    effective = max(tolerance, 1 / size) if size else tolerance
    return Parity(label, primary, target, effective, max(gaps, default=0.0))


__all__ = ["ModelEvaluation", "Parity", "compare", "read_evaluation", "read_test_set", "scores_of"]

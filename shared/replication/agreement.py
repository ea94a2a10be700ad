"""How a replica's predictions are judged against the primary's: which documents are sampled, how
agreement is counted, and which threshold applies. Verify (a run's last step) and the DR drill both
judge with these, so a target one accepts the other cannot fail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.storage.blob import ContainerClient

from shared.language.export_stream import ExportSummary
from shared.language.runtime import SampleDocument

# Each sampled document is one prediction per deployment on each side: a bound on verify's cost.
MAX_SAMPLE = 25


def sample_documents(export: ExportSummary, container: ContainerClient | None, size: int
                     ) -> list[SampleDocument]:
    """Up to `size` documents spread evenly over the export's locations (sorted), read from `container`;
    a conversation project's utterances come from the export itself (their text is their location)."""
    order = sorted(range(export.document_count), key=export.locations.__getitem__)
    count = min(size, len(order), MAX_SAMPLE)
    stride = max(1, len(order) // max(count, 1))
    sample = []
    for index, position in enumerate(order[::stride][:count]):
        location = export.locations[position]
        text = location if container is None else \
            container.get_blob_client(location).download_blob().readall().decode("utf-8")
        sample.append(SampleDocument(str(index), text, export.languages[position] or "en"))
    return sample


@dataclass(frozen=True)
class Agreement:
    fraction: float
    compared: int
    disagreements: list[str]  # "deployment/document" pairs that answered differently


def measure_agreement(answers: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
                      document_ids: Iterable[str]) -> Agreement:
    """`answers`: deployment -> (primary's predictions, target's predictions), by document id."""
    ids = list(document_ids)
    compared = agreed = 0
    disagreements = []
    for name, (primary, target) in sorted(answers.items()):
        for doc_id in ids:
            compared += 1
            if primary.get(doc_id) == target.get(doc_id):
                agreed += 1
            else:
                disagreements.append(f"{name}/{doc_id}")
    return Agreement(agreed / compared if compared else 1.0, compared, disagreements)


def agreement_threshold(resampled_labels: Iterable[str], *, exact: float, resampled: float) -> dict[str, Any]:
    """The threshold in full when both sides' models learned from the same train/test split, else the
    resampled one (the service drew another test set), with the reason the run record keeps."""
    labels = sorted(resampled_labels)
    if labels:
        return {"kind": "resampled", "value": resampled,
                "why": f"the service drew another test set for {', '.join(labels)}"}
    return {"kind": "exact", "value": exact, "why": "the same train/test split on both sides"}


def passes(agreement: Agreement, threshold: float) -> bool:
    return agreement.fraction + 1e-9 >= threshold


__all__ = [
    "MAX_SAMPLE", "Agreement", "agreement_threshold", "measure_agreement", "passes", "sample_documents",
]

"""How long the emulator's learner takes to train (and evaluate) generated projects, and to predict.

Targets: a 100-document project trains in well under a second, a 2,000-document one in seconds,
and a full runtime request (25 documents of 5,000 characters) predicts in well under a second.
Both wall-clock and CPU time are reported: on a shared machine the CPU time is the steadier one.

    python -m bench.learner_training            # 100 and 2,000 documents of each project kind
    python -m bench.learner_training --tiny     # a smoke run
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from emulator.learner import categories_of, labelled_documents, predict_entities, train
from localdev.sample_project import SampleProject, multi_label_project, ner_project, single_label_project

FACTORIES: dict[str, Callable[..., SampleProject]] = {
    "CustomEntityRecognition": ner_project,
    "CustomSingleLabelClassification": single_label_project,
    "CustomMultiLabelClassification": multi_label_project,
}


def timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind, factory in FACTORIES.items():
        for size in sizes:
            rows.append(measure(kind, factory(documents=size)))
    return rows


def measure(kind: str, project: SampleProject) -> dict[str, Any]:
    assets = project.export["assets"]
    documents = labelled_documents(assets, project.documents)
    result, wall, cpu = timed(
        lambda: train(kind, categories_of(assets), documents, {"kind": "manual"}, "2022-05-01")
    )
    row: dict[str, Any] = {
        "kind": kind,
        "documents": len(documents),
        "trainWallSeconds": round(wall, 3),
        "trainCpuSeconds": round(cpu, 3),
        "modelBytes": len(json.dumps(result.model)),
    }
    if kind == "CustomEntityRecognition":
        text = " ".join(project.documents.values())[:5000]
        _, wall, cpu = timed(lambda: [predict_entities(result.model, text) for _ in range(25)])
        row["predict25x5000WallSeconds"] = round(wall, 3)
        row["predict25x5000CpuSeconds"] = round(cpu, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a smoke run with small projects")
    arguments = parser.parse_args()
    for row in run([30] if arguments.tiny else [100, 2000]):
        print(json.dumps(row))


if __name__ == "__main__":
    main()

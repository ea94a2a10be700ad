"""Model-based test for a custom NER project: random interleavings of primary edits, injected faults and
replicate/timer ticks, against the real emulator and Azurite, reset for every example.

The runs, faults and invariants (in sync twice and the dry-run plan agrees; the secondary answers like the
primary; a failed run is repaired by the next tick) are shared with the CLU machine in
replication_model.ReplicationMachine; what is NER's own is here: documents in a storage container, label
edits through an import, training config 2022-05-01, and answers from the analyze-text runtime.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from localdev.sample_project import SampleProject, ner_project
from shared.language.authoring import AuthoringClient
from tests.hypothesis_budget import examples, thorough

from .replication_model import ReplicationMachine, budget
from .support import export_of, predict, seed, wait_job

# Counted with the CI sequences (derandomized from the machine class's source: recount after editing it):
# 8 examples retrain and redeploy both labels, delete staging, edit labels and documents, and run the
# deploy fault, the throttle and the outage; not the train and import faults, which the CLU machine runs
# (the same replicate rule). With 4 to 6 examples they had left some of those out.
BUDGET = budget(examples(8))


class ReplicationModel(ReplicationMachine):
    def seed_primary(self) -> AuthoringClient:
        self.project: SampleProject = ner_project(documents=8)
        self.name = self.project.name
        self.texts = [self.project.documents[name] for name in sorted(self.project.documents)[:3]]
        return seed(self.regions.primary, self.azurite.connection_string("primarydocs"), self.project)

    def train(self, label: str) -> None:
        wait_job(self.primary, self.primary.start_training(
            self.name, model_label=label, training_config_version="2022-05-01",
            evaluation_options={"kind": "manual"}))

    def answers(self, region: Any, deployment: str) -> list[Any]:
        kind = self.project.export["metadata"]["projectKind"]
        return predict(region, self.name, deployment, kind, self.texts)

    # -- NER's own edits: labels in the project, texts in the documents container ----------------------------

    @rule()
    def edit_labels(self) -> None:
        changed = export_of(self.primary, self.name)
        labels = changed["assets"]["documents"][0]["entities"][0]["labels"]
        if len(labels) > 1:
            labels.pop()
        changed["metadata"]["description"] = f"edited {len(labels)}"
        wait_job(self.primary, self.primary.start_import(self.name, json.dumps(changed).encode()))

    @rule(index=st.integers(min_value=0, max_value=7))
    def edit_document(self, index: int) -> None:
        from azure.storage.blob import BlobServiceClient

        container = BlobServiceClient.from_connection_string(
            self.azurite.connection_string("primarydocs")).get_container_client(self.project.container)
        location = sorted(self.project.documents)[index % len(self.project.documents)]
        text = container.download_blob(location).readall().decode("utf-8")
        container.upload_blob(location, (text + " Amended.").encode(), overwrite=True)


@pytest.mark.timeout(0 if thorough() else 900)  # thorough: as long as it takes
def test_replication_holds_under_random_edits_faults_and_ticks(regions, azurite):
    ReplicationModel.regions = regions
    ReplicationModel.azurite = azurite
    run_state_machine_as_test(ReplicationModel, settings=BUDGET)

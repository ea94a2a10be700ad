"""The estate the status page tests read: one NER project replicated to the secondary and a drift check
recorded, so every surface of the page (CLI, HTTP route, browser) shows the same "All protected"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from localdev.sample_project import SampleProject, ner_project
from tests.shared.engine.support import Harness, harness, seed


@dataclass
class ReplicatedEstate:
    project: SampleProject
    harness: Harness   # its engine reads the state storage the run and the drift check wrote


@pytest.fixture
def replicated_estate(regions: Any, azurite: Any) -> ReplicatedEstate:
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    h.engine.start_runs()
    h.run()
    h.engine.drift_report()
    return ReplicatedEstate(project, h)

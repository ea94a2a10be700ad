"""Failover with Microsoft's own loan-agreement sample (../shared/data), when it is present."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from azure.core.credentials import AzureKeyCredential

from language_failover import FailoverTextAnalyticsClient, RegionClientPolicy, RegionEndpoint
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import SampleProject
from localdev.services import Azurite
from tests.conftest import Regions

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "custom-ner-loan-agreements"

pytestmark = [
    pytest.mark.reference_data,
    pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout"),
]


def official_loan_project() -> SampleProject:
    export = json.loads((DATA / "loanAgreementsLabels.json").read_text(encoding="utf-8"))
    export = copy.deepcopy(export)
    export["metadata"]["storageInputContainerName"] = "official-loans"
    for index, document in enumerate(sorted(export["assets"]["documents"], key=lambda d: d["location"])):
        document["dataset"] = "Test" if index % 5 == 4 else "Train"  # manual split: deterministic
    documents = {
        document["location"]: (DATA / document["location"]).read_bytes().decode("utf-8")
        for document in export["assets"]["documents"]
    }
    return SampleProject(export, documents)


def test_official_sample_answers_from_the_secondary_when_the_primary_dies(
    regions: Regions, azurite: Azurite
) -> None:
    project = official_loan_project()
    for region, account in ((regions.primary, "primarydocs"), (regions.secondary, "secondarydocs")):
        deploy_sample_project(region.endpoint, region.key, azurite.connection_string(account), project)
    unseen = [(DATA / f"Test {n}.txt").read_bytes().decode("utf-8") for n in (1, 2, 3)]
    client = FailoverTextAnalyticsClient(
        RegionEndpoint("eastus", regions.primary.endpoint, AzureKeyCredential(regions.primary.key)),
        [RegionEndpoint("westus2", regions.secondary.endpoint, AzureKeyCredential(regions.secondary.key))],
        client_policy=RegionClientPolicy(retries=0, polling_interval=0.02),
    )

    def entities() -> tuple[str, list[list[tuple[str, str]]]]:
        poller = client.begin_recognize_custom_entities(unseen, project.name, "prod")
        found = [[(e.category, e.text) for e in document.entities] for document in poller.result()]
        return poller.region, found

    with client:
        on_primary = entities()
        regions.primary.kill()
        on_secondary = entities()
    assert on_primary[0] == "eastus" and on_secondary[0] == "westus2"
    assert on_secondary[1] == on_primary[1]  # same data, same config: the replica answers alike
    assert sum(map(len, on_primary[1])) > 0

"""The demo's failover scene, played against the two emulated regions."""

from __future__ import annotations

import pytest

from language_failover import CircuitState
from localdev.deploy_sample import deploy_sample_project
from localdev.failover_scene import failover_scene
from localdev.sample_project import single_label_project
from localdev.services import Azurite
from tests.conftest import Regions

PROJECT = single_label_project(documents=12)


def test_scene_keeps_answering_through_the_outage_and_fails_back(regions: Regions, azurite: Azurite) -> None:
    def deploy(region_name: str) -> None:
        region = regions.primary if region_name == "primary" else regions.secondary
        account = "primarydocs" if region_name == "primary" else "secondarydocs"
        deploy_sample_project(region.endpoint, region.key, azurite.connection_string(account), PROJECT)

    deploy("primary")
    deploy("secondary")
    lines: list[str] = []
    report = failover_scene(
        regions.primary, regions.secondary,
        project_name=PROJECT.name, deployment_name="prod", documents=list(PROJECT.documents.values())[:2],
        project_kind="CustomSingleLabelClassification", requests_per_phase=3, cooldown_seconds=0.5,
        restore_primary=lambda: deploy("primary"), say=lines.append,
    )
    primary, secondary = regions.primary.region, regions.secondary.region
    assert report.errors == 0
    assert report.served_by("healthy") == [primary] * 3
    assert report.served_by("primary down") == [secondary] * 3
    assert report.served_by("fail-back") == [primary] * 3
    assert [c.current for c in report.state_changes] == [
        CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED
    ]
    text = "\n".join(lines)
    assert f"answered by {secondary}" in text and "classified as" in text
    assert "Stopping the primary emulator process" in text and "0 errors" in text


def test_scene_refuses_an_unknown_kind(regions: Regions) -> None:
    with pytest.raises(ValueError, match="project_kind"):
        failover_scene(regions.primary, regions.secondary, project_name="P", deployment_name="d",
                       documents=["x"], project_kind="Sentiment")

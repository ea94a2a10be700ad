"""Authoring regions: health and drift name a target configured where custom text cannot be authored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.clock import FakeClock
from shared.engine import ReplicationEngine
from shared.functions.engine_provider import EngineProvider
from shared.functions.health import handle_health_details
from shared.language.regions import (
    AUTHORING_REGIONS,
    authoring_region_problem,
    can_author,
    normalize_region,
    target_region_problems,
)
from tests.shared.functions.host import http_request, json_body
from tests.shared.replication.test_drift import World, make_settings

PREDICTION_ONLY = "francecentral"


def test_region_names_are_compared_in_their_programmatic_form() -> None:
    assert normalize_region("West US 2") == "westus2"
    assert can_author("West Europe") and can_author("eastus2") and can_author("EASTUS")
    assert not can_author(PREDICTION_ONLY) and not can_author("westus") and not can_author("dr-eu")
    assert len(AUTHORING_REGIONS) == 12
    assert all(region == normalize_region(region) for region in AUTHORING_REGIONS)


def test_only_a_known_non_authoring_region_is_a_problem() -> None:
    assert authoring_region_problem("secondary", None) is None  # unknown: nothing to say
    assert authoring_region_problem("secondary", " ") is None
    assert authoring_region_problem("secondary", "westus2") is None
    problem = authoring_region_problem("secondary", PREDICTION_ONLY)
    assert problem is not None
    assert "'secondary'" in problem and f"'{PREDICTION_ONLY}'" in problem
    assert "westus2" in problem and "SECONDARY_REGION" in problem and "regional-support" in problem


def test_each_target_is_checked_by_its_own_region_setting() -> None:
    settings = make_settings(
        SECONDARY_REGION="westus2",
        SECONDARY_TARGETS="north-europe,dr-paris",
        SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT="https://dr-ne.cognitiveservices.azure.com",
        SECONDARY__NORTH_EUROPE__DOCUMENTS_STORAGE="https://drnedocs.blob.core.windows.net",
        SECONDARY__NORTH_EUROPE__REGION="northeurope",
        SECONDARY__DR_PARIS__LANGUAGE_ENDPOINT="https://dr-paris.cognitiveservices.azure.com",
        SECONDARY__DR_PARIS__DOCUMENTS_STORAGE="https://drparisdocs.blob.core.windows.net",
        SECONDARY__DR_PARIS__REGION=PREDICTION_ONLY,
    )
    problems = target_region_problems(settings)
    assert list(problems) == ["dr-paris"]
    assert PREDICTION_ONLY in problems["dr-paris"]


# ---- the drift report ----------------------------------------------------------------------------------


def test_the_drift_report_names_a_target_whose_region_cannot_author() -> None:
    world = World(make_settings(SECONDARY_REGION=PREDICTION_ONLY))
    world.synced()
    report = world.check()
    entry = report.project("Loans", "secondary")
    assert any(PREDICTION_ONLY in risk and "cannot author" in risk for risk in entry.risks)
    assert any("target 'secondary'" in warning and PREDICTION_ONLY in warning for warning in report.warnings)
    assert "target 'secondary' is in region 'francecentral'" in report.to_text()
    # With nothing to replicate yet, the warning still names it.
    empty = World(make_settings(SECONDARY_REGION=PREDICTION_ONLY)).check()
    assert any("target 'secondary'" in warning for warning in empty.to_json()["warnings"])


@pytest.mark.parametrize("region", ["westus2", ""], ids=["authoring", "not-configured"])
def test_an_authoring_or_unknown_region_adds_nothing_to_the_drift_report(region: str) -> None:
    world = World(make_settings(SECONDARY_REGION=region))
    world.synced()
    report = world.check()
    assert not any("cannot author" in risk for risk in report.project("Loans").risks)
    assert not report.warnings


# ---- the health endpoint's report ----------------------------------------------------------------------


def engine_with_region(azurite: Any, region: str) -> ReplicationEngine:
    settings = make_settings(
        SECONDARY_REGION=region,
        PRIMARY_LANGUAGE_KEY="primary-key",
        SECONDARY_LANGUAGE_KEY="secondary-key",
        PRIMARY_DOCUMENTS_STORAGE=azurite.connection_string("primarydocs"),
        SECONDARY_DOCUMENTS_STORAGE=azurite.connection_string("secondarydocs"),
        SNAPSHOT_STORAGE=azurite.connection_string(),
        AzureWebJobsStorage=azurite.connection_string(),
    )
    return ReplicationEngine.from_settings(settings, clock=FakeClock(datetime(2026, 3, 2, tzinfo=UTC)))


def test_health_names_a_target_whose_region_cannot_author(azurite: Any) -> None:
    engine = engine_with_region(azurite, PREDICTION_ONLY)
    health = engine.health()
    assert health["healthy"] is True  # the app works; the target is named so an operator fixes it
    (warning,) = health["warnings"]
    assert "target 'secondary' is in region 'francecentral'" in warning
    # GET /api/health/details (function key) answers with it; the anonymous probe says only "healthy".
    provider = EngineProvider(factory=lambda: engine)
    response = handle_health_details(http_request("GET", "health/details"), provider)
    assert response.status_code == 200
    assert json_body(response)["warnings"] == [warning]

    assert engine_with_region(azurite, "westus2").health()["warnings"] == []

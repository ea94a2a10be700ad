"""The daily check between full passes: a few GETs per resource, and a full pass every DRIFT_FULL_CHECK_DAYS.

Against Azurite and two emulated regions, with the engine's injected clock moved day by day.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest

from localdev.sample_project import ner_project
from shared.language import retry
from shared.replication.drift import OBSERVED_FROM_LISTS, OBSERVED_IN_FULL
from shared.replication.verdict import DriftState
from shared.runs.manifest import SUCCEEDED

from .support import authoring, harness, seed, wait_job


def authoring_gets(*regions) -> int:
    total = 0
    for region in regions:
        with urllib.request.urlopen(f"{region.control_url}/_emulator/requests", timeout=10) as response:
            total += int(json.loads(response.read())["authoring"].get("GET", 0))
    return total


def reset_counts(*regions) -> None:
    for region in regions:
        region.control("/_emulator/requests/reset")


@pytest.fixture
def replicated(regions, azurite, request):
    project = ner_project(documents=6)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, **getattr(request, "param", {}))
    with retry.testing(sleep=h.clock.sleep):
        [start] = h.engine.start_runs()
        h.run()
        assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
        yield project, h


def test_between_full_passes_an_unchanged_replica_costs_only_the_project_lists(replicated, regions):
    project, h = replicated
    first = h.engine.drift_report().project(project.name)
    assert first.observed == OBSERVED_IN_FULL  # nothing recorded a full pass yet

    h.clock.advance(timedelta(days=1))
    reset_counts(regions.primary, regions.secondary)
    entry = h.engine.drift_report().project(project.name)

    assert entry.state is DriftState.IN_SYNC and entry.observed == OBSERVED_FROM_LISTS, entry
    # One project-list page per route family (analyze-text, analyze-conversations) per resource and the
    # training-config list (expiry): nothing per project.
    assert authoring_gets(regions.primary, regions.secondary) == 2 * 2 + 1


def test_a_change_no_timestamp_shows_is_found_by_the_next_full_pass_within_the_window(replicated, regions):
    project, h = replicated
    assert h.engine.drift_report().project(project.name).observed == OBSERVED_IN_FULL
    primary = authoring(regions.primary)
    wait_job(primary, primary.delete_deployment(project.name, "prod"))  # moves no project timestamp

    states = []
    for _ in range(7):
        h.clock.advance(timedelta(days=1))
        entry = h.engine.drift_report().project(project.name)
        states.append((entry.observed, entry.state))

    # Days 1-6 read the project lists only and cannot see it; day 7 (DRIFT_FULL_CHECK_DAYS) is a full pass.
    assert states[:6] == [(OBSERVED_FROM_LISTS, DriftState.IN_SYNC)] * 6
    assert states[6] == (OBSERVED_IN_FULL, DriftState.DRIFTED)
    assert any("deployment 'prod' was removed" in reason
               for reason in h.engine.drift_report().project(project.name).reasons)


@pytest.mark.parametrize("replicated", [{"DRIFT_FULL_CHECK_DAYS": "2"}], indirect=True)
def test_the_full_pass_interval_is_a_setting(replicated):
    project, h = replicated
    observed = []
    for _ in range(5):
        observed.append(h.engine.drift_report().project(project.name).observed)
        h.clock.advance(timedelta(days=1))

    assert observed == [OBSERVED_IN_FULL, OBSERVED_FROM_LISTS, OBSERVED_IN_FULL, OBSERVED_FROM_LISTS,
                        OBSERVED_IN_FULL]


def test_a_timer_tick_a_few_seconds_early_still_makes_the_seventh_day_a_full_pass(replicated):
    project, h = replicated
    assert h.engine.drift_report().project(project.name).observed == OBSERVED_IN_FULL

    h.clock.advance(timedelta(days=7) - timedelta(seconds=5))

    assert h.engine.drift_report().project(project.name).observed == OBSERVED_IN_FULL

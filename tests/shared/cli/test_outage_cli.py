"""`python -m shared promote | promotion | failback`, as the how-to "During a regional outage" runs them."""

from __future__ import annotations

import io
import json
import time

import pytest

from localdev.demo import scaled_engine, scaled_runner
from localdev.sample_project import ner_project
from shared.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from shared.cli.outage import EXIT_CHOICE
from shared.language import retry
from shared.settings import Settings
from tests.shared.engine.support import authoring, control, export_of, seed, settings_values, wait_job

TIME_SCALE = 0.001  # the regions fixture's


@pytest.fixture
def cli(regions, azurite):
    project = ner_project(documents=8)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    values = settings_values(regions, azurite)

    def engine_factory(settings: Settings):
        return scaled_engine(settings, TIME_SCALE)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), environ=values, out=out, err=err, engine_factory=engine_factory,
                    runner_factory=scaled_runner)
        return code, out.getvalue(), err.getvalue()

    run.project = project  # type: ignore[attr-defined]
    # The same retries while a region is down, each wait as much shorter as the regions' jobs are.
    try:
        with retry.testing(sleep=lambda seconds: time.sleep(seconds * TIME_SCALE)):
            yield run
    finally:
        control(regions.primary, "/_emulator/faults/outage", {"mode": None})


def edit(client, project: str, description: str) -> None:
    edited = export_of(client, project)
    edited["assets"]["documents"][0]["entities"][0]["labels"].pop()
    edited["metadata"]["description"] = description
    wait_job(client, client.start_import(project, json.dumps(edited).encode()))


def test_the_outage_commands_in_order(cli, regions):
    project = cli.project
    assert cli("replicate")[0] == EXIT_OK
    code, out, _ = cli("drill")  # rehearse first
    assert code == EXIT_OK and "PASSED" in out and "Recovery time for callers (computed" in out, out
    control(regions.primary, "/_emulator/faults/outage", {"mode": "503"})

    assert cli("promote")[0] == EXIT_USAGE  # a promotion says why
    code, out, err = cli("promote", "--reason", "eastus is down", "--by", "oncall")
    assert code == EXIT_OK, err
    assert "Promoted target 'secondary'" in out and "oncall: eastus is down" in out
    shown = json.loads(cli("promotion", "--json")[1])["promotion"]
    assert shown["actingPrimary"]["target"] == "secondary" and shown["promotedBy"] == "oncall"
    edit(authoring(regions.secondary), project.name, "outage work")

    code, _, err = cli("failback")
    assert code == EXIT_FAILED and "does not answer yet" in err  # the primary is still down
    control(regions.primary, "/_emulator/faults/outage", {"mode": None})
    code, out, _ = cli("failback", "--dry-run")
    assert code == EXIT_OK and "changed on the acting primary" in out and "(dry run)" in out
    code, out, err = cli("failback")
    assert code == EXIT_OK, (out, err)
    assert "verify: succeeded" in out and "Normal direction restored." in out
    assert cli("promotion")[1].startswith("Normal direction")
    assert export_of(authoring(regions.primary), project.name)["metadata"]["description"] == "outage work"


def test_both_sides_changed_exits_3_until_a_choice_is_made(cli, regions):
    project = cli.project
    assert cli("replicate")[0] == EXIT_OK
    edit(authoring(regions.primary), project.name, "primary, just before the outage")
    control(regions.primary, "/_emulator/faults/outage", {"mode": "503"})
    assert cli("promote", "--reason", "drill")[0] == EXIT_OK
    edit(authoring(regions.secondary), project.name, "acting primary")
    control(regions.primary, "/_emulator/faults/outage", {"mode": None})

    code, out, _ = cli("failback")
    assert code == EXIT_CHOICE and "--prefer" in out and "diff (original -> acting)" in out
    code, out, err = cli("failback", "--prefer", "original")
    assert code == EXIT_OK, (out, err)
    description = export_of(authoring(regions.secondary), project.name)["metadata"]["description"]
    assert description == "primary, just before the outage"

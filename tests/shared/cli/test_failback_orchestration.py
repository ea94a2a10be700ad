"""`failback` with an orchestration and the CLU project it routes to (ADR 0012 in reverse): the command
that fails the CLU project back follows the orchestration's failback run its success starts, and a later
`failback` follows a run an earlier one left under way instead of judging a half-applied state."""

from __future__ import annotations

import pytest

from localdev.conversation_samples import clu_project, orchestration_project
from shared.cli.main import EXIT_OK
from tests.shared.cli.test_cli import local  # noqa: F401  (the fixture)
from tests.shared.engine.support import authoring, control, export_of
from tests.shared.engine.test_conversation_projects import seed_conversation

PROJECTS = ("--project", "CoffeeOrders", "--project", "FrontDesk")


@pytest.fixture
def promoted(local, regions):  # noqa: F811
    """CoffeeOrders and FrontDesk replicated, promoted, then changed and retrained on the acting primary."""
    primary, secondary = authoring(regions.primary), authoring(regions.secondary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("FrontDesk"))
    assert local("replicate", *PROJECTS)[0] == EXIT_OK
    control(regions.primary, "/_emulator/faults/outage", {"mode": "503"})
    try:
        code, out, err = local("promote", *PROJECTS, "--reason", "eastus is down")
        assert code == EXIT_OK, out + err
        seed_conversation(secondary, clu_project("CoffeeOrders", per_intent=13))
        front_desk = orchestration_project("FrontDesk")
        front_desk["metadata"]["description"] = "outage work"
        seed_conversation(secondary, front_desk)
    finally:
        control(regions.primary, "/_emulator/faults/outage", {"mode": None})
    return local


def started_run(out: str, project: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith(f"{project} -> primary: run "))
    return line.split()[4]


def test_failback_of_a_clu_project_follows_the_orchestration_run_its_success_starts(promoted, regions):
    code, out, err = promoted("failback", "--project", "FrontDesk")
    assert code == EXIT_OK, out + err
    assert "FrontDesk: changed on the acting primary -> waiting: still promoted" in out, out

    code, out, err = promoted("failback", "--project", "CoffeeOrders")

    assert code == EXIT_OK, out + err
    started = next(line for line in out.splitlines() if line.startswith("FrontDesk -> primary: run "))
    assert "started by the failback run" in started and "'CoffeeOrders'" in started, out
    assert "(trigger failback)" in started
    assert f"[FrontDesk -> primary] run {started_run(out, 'FrontDesk')} succeeded" in out, out
    assert out.rstrip().endswith("Normal direction restored."), out
    assert promoted("promotion")[1].startswith("Normal direction")
    assert export_of(authoring(regions.primary), "FrontDesk")["metadata"]["description"] == "outage work"


def test_a_later_failback_follows_the_run_an_earlier_one_left_under_way(promoted, regions):
    code, out, err = promoted("failback", "--project", "CoffeeOrders", "--no-wait")
    assert code == EXIT_OK, out + err
    [left] = [line for line in out.splitlines() if "CoffeeOrders: changed on the acting primary" in line]

    code, out, err = promoted("failback")

    assert code == EXIT_OK, out + err
    assert "needs-choice" not in out
    [under_way] = [line for line in out.splitlines() if line.startswith("  CoffeeOrders: ")]
    assert "-> under way: run " in under_way, out
    run_id = under_way.rsplit(" ", 1)[-1]
    assert f"[CoffeeOrders -> primary] run {run_id} succeeded" in out, out
    assert f"[FrontDesk -> primary] run {started_run(out, 'FrontDesk')} succeeded" in out, out
    assert out.rstrip().endswith("Normal direction restored."), (left, out)

"""`replicate` with an orchestration and the CLU project it routes to: one command replicates both, the
CLU project first, and follows the orchestration its run started."""

from __future__ import annotations

from localdev.conversation_samples import clu_project, orchestration_project
from localdev.demo import scaled_engine, scaled_runner
from shared.cli.main import EXIT_DRIFT, EXIT_OK
from tests.shared.cli.test_cli import TIME_SCALE, local, run_cli  # noqa: F401  (the fixture)
from tests.shared.engine.support import authoring, settings_values
from tests.shared.engine.test_conversation_projects import seed_conversation


def test_replicate_waits_for_the_clu_project_then_follows_the_orchestration(local, regions):  # noqa: F811
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("AFrontDesk"))  # sorts first under `*`

    code, out, err = local("replicate", "--dry-run")
    assert code == EXIT_OK, out + err
    assert "AFrontDesk -> secondary: waiting" in out
    assert "waiting for the run of CLU project 'CoffeeOrders', which it routes to (planned first)" in out

    code, out, err = local("replicate")
    assert code == EXIT_OK, out + err
    lines = out.splitlines()
    waiting = lines.index("AFrontDesk -> secondary: waiting")
    clu_started = next(i for i, line in enumerate(lines)
                       if line.startswith("CoffeeOrders -> secondary: run "))
    followed = next(i for i, line in enumerate(lines) if line.startswith("AFrontDesk -> secondary: ")
                    and i > waiting)
    assert clu_started < waiting < followed, out
    assert out.rstrip().endswith("All replicated projects are in sync.")
    assert authoring(regions.secondary).get_project("AFrontDesk") is not None


def test_replicate_of_a_clu_project_follows_the_orchestration_run_it_starts(local, regions):  # noqa: F811
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("FrontDesk"))
    assert local("replicate")[0] == EXIT_OK
    seed_conversation(primary, clu_project("CoffeeOrders", per_intent=13))  # a CLU edit, trained, deployed

    code, out, err = local("replicate", "--project", "CoffeeOrders")
    assert code == EXIT_OK, out + err
    lines = out.splitlines()
    started = next(line for line in lines if line.startswith("FrontDesk -> secondary: run "))
    assert "started by the run" in started and "'CoffeeOrders'" in started and "trigger dependency" in started
    run_id = started.split()[4]
    assert f"[FrontDesk -> secondary] run {run_id} succeeded" in out, out
    assert lines[-1] == "In sync: CoffeeOrders, FrontDesk."

    code, out, _ = local("drift")
    assert code == EXIT_OK, out
    assert any(line.split()[:3] == ["FrontDesk", "secondary", "in_sync"] for line in out.splitlines()), out


def test_an_orchestration_whose_clu_project_is_not_replicated_is_at_risk_and_force_is_not_offered(
        local, regions, azurite):  # noqa: F811
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("FrontDesk"))
    assert local("replicate")[0] == EXIT_OK   # both, under `*`
    only_front_desk = settings_values(regions, azurite, "FrontDesk")

    def cli(*argv: str) -> tuple[int, str, str]:
        return run_cli(*argv, environ=only_front_desk,
                       engine_factory=lambda settings: scaled_engine(settings, TIME_SCALE),
                       runner_factory=scaled_runner)

    code, out, _ = cli("drift")
    assert code == EXIT_OK, out   # in sync: the risk is reported, not a drift to repair
    assert ("! it routes to CLU project 'CoffeeOrders', which is not replicated (add it to "
            "REPLICATED_PROJECTS") in out

    code, out, _ = cli("status")
    assert out.splitlines()[0] == "At risk", out
    assert "FrontDesk -> secondary: in_sync, at risk" in out

    code, out, _ = cli("replicate", "--force")
    assert code == EXIT_DRIFT, out
    assert "FrontDesk -> secondary: error" in out and "REPLICATED_PROJECTS" in out
    assert "--force replaces" not in out
    assert out.rstrip().endswith("--force does not change that: see the reasons.")

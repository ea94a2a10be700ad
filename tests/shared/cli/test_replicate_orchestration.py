"""`replicate` with an orchestration and the CLU project it routes to: one command replicates both, the
CLU project first, and follows the orchestration its run started."""

from __future__ import annotations

from localdev.conversation_samples import clu_project, orchestration_project
from shared.cli.main import EXIT_OK
from tests.shared.cli.test_cli import local  # noqa: F401  (the fixture)
from tests.shared.engine.support import authoring
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

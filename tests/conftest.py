"""Session-wide local services: one Azurite and two emulated Language regions.

Started once per test session (they take seconds to boot) and reset before every test
that asks for them, so tests stay independent without paying the start-up again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from localdev.services import Azurite, EmulatorRegion
from tests import hypothesis_budget

# Before any test module builds its Hypothesis settings: they inherit the profile (ci, dev or thorough).
hypothesis_budget.load()

# Tests run the emulator's jobs this much faster than the real service.
TEST_TIME_SCALE = 0.001

# A test that uses one of these (directly or through another fixture) talks to a real local service
# over HTTP: it is an integration test. `pytest -m "not integration"` runs the in-memory rest.
INTEGRATION_FIXTURES = frozenset({"azurite_session", "regions_session"})
# Test files that start their services (or a tool) in a subprocess instead, by file name so a move
# keeps the mark: the benchmarks, the demo, checkov and a pip install into a fresh venv.
SUBPROCESS_TEST_FILES = frozenset({
    "test_bench_tiny.py", "test_failover_overhead.py", "test_demo.py", "test_checkov.py",
    "test_failover_packaging.py",
})


# The files that take longest, longest first (per-file totals of a full run's --junitxml times). Under
# pytest-xdist (`--dist loadfile`, each file on one worker, handed out in collection order) they are
# collected first, so no worker is left running one of them alone at the end. Serial runs keep the
# usual order. A file not listed, or gone faster, only costs a little balance.
SLOWEST_FILES = (
    "tests/shared/engine/test_one_verdict.py",
    "tests/shared/engine/test_replication_model.py",
    "tests/shared/engine/test_clu_replication_model.py",
    "tests/shared/functions/test_http_fuzz.py",
    "tests/shared/engine/test_safety.py",
    "tests/bench/test_bench_tiny.py",
    "tests/failover_client/test_emulated.py",
    "tests/shared/cli/test_cli.py",
    "tests/shared/cli/test_outage_cli.py",
    "tests/localdev/test_quick_start_demo.py",
    "tests/shared/cli/test_replicate_orchestration.py",
    "tests/shared/engine/test_dependency_order.py",
    "tests/shared/outage/test_failback.py",
)


def slowest_first(items: list[pytest.Item]) -> None:
    """Move the tests of SLOWEST_FILES to the front, in that order; the rest keep theirs."""
    rank = {path: index for index, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.path.name in SUBPROCESS_TEST_FILES):
            item.add_marker(pytest.mark.integration)
    if hasattr(config, "workerinput"):  # an xdist worker: its order is the order files are handed out
        slowest_first(items)


@pytest.fixture(scope="session")
def azurite_session() -> Iterator[Azurite]:
    azurite = Azurite().start()
    try:
        yield azurite
    finally:
        azurite.stop()


@pytest.fixture
def azurite(azurite_session: Azurite) -> Azurite:
    """Azurite with every container and queue of every account deleted."""
    azurite_session.clear()
    return azurite_session


@dataclass
class Regions:
    primary: EmulatorRegion
    secondary: EmulatorRegion

    def all(self) -> tuple[EmulatorRegion, EmulatorRegion]:
        return (self.primary, self.secondary)


@pytest.fixture(scope="session")
def regions_session(azurite_session: Azurite) -> Iterator[Regions]:
    primary = EmulatorRegion(
        azurite_session.connection_string("primarydocs"), region="eastus", time_scale=TEST_TIME_SCALE,
        extra_args=["--split-seed", "1"],  # each region draws its own percentage splits, reproducibly
    )
    secondary = EmulatorRegion(
        azurite_session.connection_string("secondarydocs"), region="westus2", time_scale=TEST_TIME_SCALE,
        extra_args=["--split-seed", "2"],
    )
    try:
        primary.start()
        secondary.start()
        yield Regions(primary, secondary)
    finally:
        primary.stop()
        secondary.stop()


@pytest.fixture
def regions(regions_session: Regions, azurite: Azurite) -> Regions:
    """Two emulated regions, emptied, each linked to its own (emptied) Azurite account.

    A test that killed a region gets it started again here.
    """
    for region in regions_session.all():
        if region.process is None or region.process.poll() is not None:
            region.start()
        region.reset()
    return regions_session

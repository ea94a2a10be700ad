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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.path.name in SUBPROCESS_TEST_FILES):
            item.add_marker(pytest.mark.integration)


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

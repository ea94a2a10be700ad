"""The integration marker follows fixture use, so `pytest -m "not integration"` keeps only in-memory tests."""

from __future__ import annotations

import pytest

from localdev.services import Azurite


def test_a_test_using_azurite_is_marked_integration(request: pytest.FixtureRequest, azurite: Azurite) -> None:
    assert request.node.get_closest_marker("integration") is not None


def test_an_in_memory_test_is_not_marked(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("integration") is None


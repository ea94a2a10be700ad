"""The request budget shared through a blob: every instance counts against the same window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.services import Azurite
from shared.clock import FakeClock
from shared.language.request_budget import BudgetLimits
from shared.storage.request_budget import BlobRequestBudget


@pytest.fixture
def budget_container(azurite: Azurite):  # type: ignore[no-untyped-def]
    return BlobServiceClient.from_connection_string(azurite.connection_string()).get_container_client("state")


def test_blob_budget_is_shared_between_instances(budget_container) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    limits = BudgetLimits(reads_per_minute=5, writes_per_minute=3)
    first = BlobRequestBudget(budget_container, clock, limits)
    second = BlobRequestBudget(budget_container, clock, limits)
    assert [first.acquire("primary.example", "POST"), second.acquire("primary.example", "POST")] == [0, 0]
    assert first.acquire("primary.example", "POST") == 0
    assert second.acquire("primary.example", "POST") == pytest.approx(60)
    assert second.acquire("primary.example", "GET") == 0
    clock.advance(61)
    assert second.acquire("primary.example", "POST") == 0


def test_blob_budget_never_overspends_under_contention(budget_container) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    limits = BudgetLimits(writes_per_minute=10)
    budgets = [BlobRequestBudget(budget_container, clock, limits, max_conflicts=200) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda i: budgets[i % 8].acquire("r", "POST"), range(24)))
    assert waits.count(0) == 10

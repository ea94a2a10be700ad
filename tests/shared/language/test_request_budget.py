"""The request budget: 10 writes and 100 reads per sliding minute per resource."""

from __future__ import annotations

import pytest

from shared.clock import FakeClock
from shared.language.request_budget import BudgetLimits, InMemoryRequestBudget


def test_in_memory_budget_counts_per_resource_and_kind() -> None:
    clock = FakeClock()
    budget = InMemoryRequestBudget(clock, BudgetLimits(reads_per_minute=3, writes_per_minute=2))
    assert [budget.acquire("a", "POST") for _ in range(2)] == [0, 0]
    assert budget.acquire("a", "PUT") == pytest.approx(60)
    assert budget.acquire("b", "POST") == 0  # another resource has its own budget
    assert [budget.acquire("a", "GET") for _ in range(3)] == [0, 0, 0]
    clock.advance(30)
    assert budget.acquire("a", "POST") == pytest.approx(30)
    clock.advance(30)
    assert budget.acquire("a", "POST") == 0


def test_window_slides() -> None:
    clock = FakeClock()
    budget = InMemoryRequestBudget(clock, BudgetLimits(writes_per_minute=2))
    budget.acquire("a", "POST")
    clock.advance(40)
    budget.acquire("a", "POST")
    clock.advance(21)
    assert budget.acquire("a", "POST") == 0  # the first left the window
    assert budget.acquire("a", "POST") == pytest.approx(39)  # until the one at 40 s leaves

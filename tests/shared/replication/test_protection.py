"""Whether one replica protects its project: each case of verdict.protection."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.replication.verdict import DriftState, Protection, protection

DAY = timedelta(hours=24)


@pytest.mark.parametrize(("state", "age", "synced", "expected"), [
    (DriftState.IN_SYNC, timedelta(hours=3), True, Protection.PROTECTED),
    (DriftState.IN_SYNC, DAY, True, Protection.PROTECTED),                        # at the objective: met
    (DriftState.IN_SYNC, DAY + timedelta(seconds=1), True, Protection.AT_RISK),   # past it
    (DriftState.DRIFTED, timedelta(hours=1), True, Protection.AT_RISK),
    (DriftState.DIVERGED, timedelta(hours=1), True, Protection.AT_RISK),
    (DriftState.ERROR, None, True, Protection.AT_RISK),             # unknown now, but something to serve
    (DriftState.PROMOTED, None, True, Protection.AT_RISK),
    (DriftState.PROMOTED, None, False, Protection.AT_RISK),         # the acting primary serves
    (DriftState.MISSING, None, True, Protection.NOT_PROTECTED),
    (DriftState.ERROR, None, False, Protection.NOT_PROTECTED),      # never synced: nothing of ours there
    (DriftState.DRIFTED, None, False, Protection.NOT_PROTECTED),    # our unfinished first import
])
def test_each_state_and_age_gives_one_protection_with_a_reason(state, age, synced, expected):
    decided, reason = protection(state, age, DAY, ever_synced=synced)
    assert decided is expected
    assert reason


def test_an_orchestration_routing_to_a_clu_project_not_replicated_is_at_risk_naming_it_and_the_setting():
    decided, reason = protection(DriftState.IN_SYNC, timedelta(hours=1), DAY, ever_synced=True,
                                 unreplicated_dependencies=("CoffeeOrders",))
    assert decided is Protection.AT_RISK
    assert "'CoffeeOrders'" in reason and "REPLICATED_PROJECTS" in reason

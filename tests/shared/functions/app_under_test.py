"""The Functions app wired to Azurite and two emulated regions, the way the host would run it.

The engine is built from settings exactly as in Azure except for three knobs that only change how
long things take: the step queue's delays and the engine's poll interval are scaled down to match
the emulator's time scale, and the request budget is generous so no test waits out a real minute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import ResourceExistsError

from shared.clock import Clock, SystemClock
from shared.engine import EngineOptions, ReplicationEngine
from shared.functions.engine_provider import engines
from shared.language.request_budget import BudgetLimits, InMemoryRequestBudget
from shared.runs.scheduler import POISON_QUEUE_NAME, QUEUE_NAME, StorageQueueScheduler
from shared.settings import settings_from_values
from tests.conftest import TEST_TIME_SCALE
from tests.shared.engine.support import FAST_STEPS, settings_values
from tests.shared.functions.host import QueueHost, raw_queue_client, registered


def engine_for(regions: Any, azurite: Any, *, clock: Clock | None = None, **extra: str) -> ReplicationEngine:
    """One app instance's engine: its step queue is the host's storage (AzureWebJobsStorage) on Azurite."""
    clock = clock or SystemClock()
    settings = settings_from_values(settings_values(regions, azurite, **extra))
    return ReplicationEngine.from_settings(
        settings,
        clock=clock,
        scheduler=StorageQueueScheduler.from_connection_string(
            azurite.connection_string(), delay_scale=TEST_TIME_SCALE
        ),
        options=EngineOptions(steps=FAST_STEPS),
        budget=InMemoryRequestBudget(clock, BudgetLimits(reads_per_minute=1000, writes_per_minute=100)),
    )


# Where the host moves a message the poison queue's own function failed on; no function reads it.
DEAD_LETTER_QUEUE = f"{POISON_QUEUE_NAME}-poison"


def queue_host(azurite: Any, **options: Any) -> QueueHost:
    """The host's queue listener for our two queue functions (it creates the queues, as the host does)."""
    connection = azurite.connection_string()
    step_queue, poison_queue, dead_letter_queue = (
        raw_queue_client(connection, name) for name in (QUEUE_NAME, POISON_QUEUE_NAME, DEAD_LETTER_QUEUE)
    )
    for queue in (step_queue, poison_queue, dead_letter_queue):
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
    return QueueHost(
        step_queue,
        poison_queue,
        step_function=registered("replication_step"),
        poison_function=registered("replication_step_poison"),
        dead_letter_queue=dead_letter_queue,
        **options,
    )


@contextlib.contextmanager
def serving(engine: ReplicationEngine) -> Iterator[ReplicationEngine]:
    """Make every registered function of this worker use `engine`, as if built from the app settings."""
    engines.use(engine)
    try:
        yield engine
    finally:
        engines.clear()

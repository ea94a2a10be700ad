"""Scheduler ports: where the executor hands the next slice of a run.

Cheap to import: the storage-queue scheduler (and with it the storage SDK) loads only when asked for,
so the Functions adapters take the queue names from here without loading the SDK to index functions.
"""

from typing import TYPE_CHECKING, Any

from shared.runs.scheduler.base import Scheduler
from shared.runs.scheduler.in_memory import InMemoryScheduler
from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage

if TYPE_CHECKING:
    from shared.runs.scheduler.storage_queue import StorageQueueScheduler


def __getattr__(name: str) -> Any:
    if name == "StorageQueueScheduler":
        from shared.runs.scheduler.storage_queue import StorageQueueScheduler

        return StorageQueueScheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["POISON_QUEUE_NAME", "QUEUE_NAME", "InMemoryScheduler", "Scheduler", "StepMessage",
           "StorageQueueScheduler"]

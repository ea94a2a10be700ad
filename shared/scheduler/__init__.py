"""Scheduler ports: where the engine hands the next slice of a run."""

from shared.scheduler.base import Scheduler
from shared.scheduler.in_memory import InMemoryScheduler
from shared.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage
from shared.scheduler.storage_queue import StorageQueueScheduler

__all__ = ["POISON_QUEUE_NAME", "QUEUE_NAME", "InMemoryScheduler", "Scheduler", "StepMessage",
           "StorageQueueScheduler"]

"""Scheduler ports: where the engine hands the next slice of a run."""

from shared.runs.scheduler.base import Scheduler
from shared.runs.scheduler.in_memory import InMemoryScheduler
from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage
from shared.runs.scheduler.storage_queue import StorageQueueScheduler

__all__ = ["POISON_QUEUE_NAME", "QUEUE_NAME", "InMemoryScheduler", "Scheduler", "StepMessage",
           "StorageQueueScheduler"]

"""Consume the step queue on this machine the way the Functions host does.

Host semantics reproduced (Azure Functions queue trigger, host.json `extensions.queues`):
- a message is received invisible for the duration of processing, and deleted when the function succeeds;
- when the function fails, the message becomes visible again after `visibilityTimeout`;
- once it has been dequeued `maxDequeueCount` times and fails again, it moves to the poison queue,
  whose trigger (here: `poison_handler`) marks the run failed with the reason.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from shared.errors import InvalidRequest
from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage
from shared.runs.scheduler.storage_queue import ensure_queue, step_queue_client

logger = logging.getLogger(__name__)

Handler = Callable[[StepMessage], None]
PoisonHandler = Callable[[StepMessage, str], None]

DEFAULT_MAX_DEQUEUE_COUNT = 5
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fff]`."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise ValueError(f"not a timespan: {text!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                     microseconds=int((fraction or "0")[:6].ljust(6, "0")))


@dataclass(frozen=True)
class QueueHostSettings:
    """The host.json queue settings that change delivery semantics."""

    max_dequeue_count: int = DEFAULT_MAX_DEQUEUE_COUNT
    visibility_timeout: timedelta = timedelta(0)
    batch_size: int = 16

    @classmethod
    def from_host_json(cls, path: Path) -> QueueHostSettings:
        if not path.exists():
            return cls()
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        queues = data.get("extensions", {}).get("queues", {}) if isinstance(data, dict) else {}
        defaults = cls()
        return cls(
            max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
            visibility_timeout=(parse_timespan(queues["visibilityTimeout"]) if "visibilityTimeout" in queues
                                else defaults.visibility_timeout),
            batch_size=int(queues.get("batchSize", defaults.batch_size)),
        )


class LocalRunner:
    """Receives step messages from the storage queue and hands them to the engine."""

    def __init__(self, queue: QueueClient, poison_queue: QueueClient, handler: Handler,
                 poison_handler: PoisonHandler, *, settings: QueueHostSettings | None = None,
                 processing_timeout: timedelta = timedelta(minutes=10),
                 idle_sleep: float = 0.02) -> None:
        self.queue = queue
        self.poison_queue = poison_queue
        self.handler = handler
        self.poison_handler = poison_handler
        self.settings = settings or QueueHostSettings()
        # How long a received message stays invisible while we process it (the host renews it; one
        # slice is bounded, so a fixed window that outlasts a slice is enough here).
        self.processing_timeout = processing_timeout
        self.idle_sleep = idle_sleep
        self.processed = 0
        self.failures = 0
        # Why each message was poisoned: the poison queue itself carries only the message.
        self._poison_reasons: dict[str, str] = {}
        ensure_queue(queue)
        ensure_queue(poison_queue)

    @classmethod
    def from_connection_string(cls, connection_string: str, handler: Handler, poison_handler: PoisonHandler,
                               *, host_json: Path | None = None, **options: Any) -> LocalRunner:
        settings = QueueHostSettings.from_host_json(host_json) if host_json else QueueHostSettings()
        return cls(step_queue_client(connection_string, QUEUE_NAME),
                   step_queue_client(connection_string, POISON_QUEUE_NAME),
                   handler, poison_handler, settings=settings, **options)

    def run_once(self) -> int:
        """Receive one batch and process it; returns the number of messages handled."""
        handled = self._drain_poison()
        visibility = max(1, int(self.processing_timeout.total_seconds()))
        for received in self.queue.receive_messages(messages_per_page=self.settings.batch_size,
                                                    visibility_timeout=visibility,
                                                    max_messages=self.settings.batch_size):
            handled += 1
            text = _as_text(received.content)
            try:
                self.handler(StepMessage.from_text(text))
            except Exception as error:  # the host catches whatever the function raises
                self.failures += 1
                reason = f"{type(error).__name__}: {error}"
                if received.dequeue_count is not None and received.dequeue_count >= \
                        self.settings.max_dequeue_count:
                    logger.warning("step message moved to %s after %s attempts: %s",
                                   POISON_QUEUE_NAME, received.dequeue_count, reason)
                    self.poison_queue.send_message(text, time_to_live=-1)
                    self.queue.delete_message(received)
                    attempts = received.dequeue_count
                    self._poison_reasons[text] = f"failed {attempts} times; last error: {reason}"
                else:
                    logger.info("step failed (attempt %s), retried later: %s", received.dequeue_count, reason)
                    # By id and pop receipt, so the content is left as the producer wrote it.
                    self.queue.update_message(received.id, pop_receipt=received.pop_receipt,
                                              visibility_timeout=int(
                                                  self.settings.visibility_timeout.total_seconds()))
                continue
            self.processed += 1
            self.queue.delete_message(received)
        return handled + self._drain_poison()

    def _drain_poison(self) -> int:
        handled = 0
        for received in self.poison_queue.receive_messages(max_messages=16, visibility_timeout=60):
            handled += 1
            text = _as_text(received.content)
            try:
                message = StepMessage.from_text(text)
            except InvalidRequest:
                logger.error("unreadable poison message dropped: %r", text[:200])
            else:
                reason = self._poison_reasons.pop(text, "moved to the poison queue after repeated failures")
                self.poison_handler(message, reason)
            self.poison_queue.delete_message(received)
        return handled

    def pending_messages(self) -> int:
        """Messages still in the step queue, visible or not (approximate, as the service reports it)."""
        try:
            count = self.queue.get_queue_properties().approximate_message_count or 0
        except ResourceNotFoundError:
            return 0
        return int(count)

    def run_until_idle(self, *, timeout: float = 60.0, stop: Callable[[], bool] | None = None) -> None:
        """Process until no message is left (or `stop()` says so); waits out delayed messages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop is not None and stop():
                return
            handled = self.run_once()
            if handled == 0:
                if self.pending_messages() == 0:
                    return
                time.sleep(self.idle_sleep)
        raise TimeoutError(f"step queue not idle after {timeout} s")


def _as_text(content: Any) -> str:
    return content.decode("utf-8") if isinstance(content, bytes | bytearray) else str(content)

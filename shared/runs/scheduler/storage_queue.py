"""The Azure Storage queue scheduler: what the deployed app uses, and what the local runner consumes.

Messages are base64-encoded text, which is what the Functions host's queue trigger decodes by default
(host.json `extensions.queues.messageEncoding` = base64). A delay becomes the message's initial
visibility timeout, which the service caps at 7 days.
"""

from __future__ import annotations

import contextlib
import math
from datetime import timedelta

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import (
    BinaryBase64DecodePolicy,
    QueueClient,
    QueueServiceClient,
    TextBase64EncodePolicy,
)

from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage

MAX_VISIBILITY_DELAY = timedelta(days=7)


def step_queue_client(connection_string: str, queue_name: str = QUEUE_NAME) -> QueueClient:
    """A queue client whose encoding matches the Functions host's default (base64 text)."""
    return QueueClient.from_connection_string(
        connection_string, queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=BinaryBase64DecodePolicy(),
    )


def step_queue_client_from_service(service: QueueServiceClient, queue_name: str = QUEUE_NAME) -> QueueClient:
    """The same, from a service client (identity-based connections resolve to one)."""
    return service.get_queue_client(queue_name, message_encode_policy=TextBase64EncodePolicy(),
                                    message_decode_policy=BinaryBase64DecodePolicy())


def ensure_queue(client: QueueClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()


def visibility_seconds(delay: timedelta, scale: float = 1.0) -> int:
    seconds = max(delay, timedelta(0)).total_seconds() * scale
    return min(math.ceil(seconds) if seconds >= 1 else 0, int(MAX_VISIBILITY_DELAY.total_seconds()))


class StorageQueueScheduler:
    """Schedules slices on the step queue.

    `delay_scale` shrinks every delay (the local runner's tests pair it with the emulator's time scale);
    in Azure it stays 1.
    """

    def __init__(self, queue: QueueClient, *, delay_scale: float = 1.0, create_queue: bool = True) -> None:
        self.queue = queue
        self.delay_scale = delay_scale
        self._ready = not create_queue

    @classmethod
    def from_connection_string(cls, connection_string: str, *, queue_name: str = QUEUE_NAME,
                               delay_scale: float = 1.0) -> StorageQueueScheduler:
        return cls(step_queue_client(connection_string, queue_name), delay_scale=delay_scale)

    def schedule(self, message: StepMessage, delay: timedelta) -> None:
        if not self._ready:
            ensure_queue(self.queue)
            self._ready = True
        # time_to_live=-1: a run waiting days on a visibility delay must not have its message expire.
        delay_seconds = visibility_seconds(delay, self.delay_scale)
        self.queue.send_message(message.to_text(), visibility_timeout=delay_seconds, time_to_live=-1)


__all__ = ["POISON_QUEUE_NAME", "QUEUE_NAME", "StorageQueueScheduler", "ensure_queue", "step_queue_client"]

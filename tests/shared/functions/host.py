"""What the Functions host and the Python worker hand to our functions, built with their own converters.

The host base64-decodes a queue message (host.json keeps the default messageEncoding) and passes the
text with its trigger metadata; the worker turns that into func.QueueMessage with
QueueMessageInConverter. The timer's payload is the host's JSON, turned into func.TimerRequest with
TimerRequestConverter. Using those converters here means the tests see exactly what production sees.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.functions.meta import Datum
from azure.functions.queue import QueueMessageInConverter
from azure.functions.timer import TimerRequestConverter
from azure.storage.queue import QueueClient, QueueMessage

FUNCTIONS_BASE_URL = "http://localhost:7071"


@functools.cache
def host_index() -> dict[str, Any]:
    """function_app's functions by name, indexed once as the host does (a second get_functions() on the
    same app is refused)."""
    import function_app

    return {function.get_function_name(): function for function in function_app.app.get_functions()}


def registered(name: str) -> Callable[..., Any]:
    """The Python function the worker invokes for the function named `name`."""
    user_function: Callable[..., Any] = host_index()[name].get_user_function()
    return user_function


def raw_queue_client(connection_string: str, queue_name: str) -> QueueClient:
    """A client that reads message content as stored (no decode policy), i.e. what the host reads."""
    return QueueClient.from_connection_string(connection_string, queue_name)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def as_host_delivers(received: QueueMessage) -> func.QueueMessage:
    """The func.QueueMessage the worker builds for a message the host received from the queue."""
    # messageEncoding base64: the host decodes the stored text before handing it over.
    body = base64.b64decode(str(received.content), validate=True).decode("utf-8")
    metadata = {
        "Id": Datum(received.id, "string"),
        "DequeueCount": Datum(received.dequeue_count, "int"),
        "PopReceipt": Datum(received.pop_receipt, "string"),
        "InsertionTime": Datum(_iso(received.inserted_on), "string"),
        "ExpirationTime": Datum(_iso(received.expires_on), "string"),
        "NextVisibleTime": Datum(_iso(received.next_visible_on), "string"),
    }
    message: func.QueueMessage = QueueMessageInConverter.decode(
        Datum(body, "string"), trigger_metadata={k: v for k, v in metadata.items() if v.value is not None}
    )
    return message


def timer_request(*, past_due: bool = False, now: datetime | None = None) -> func.TimerRequest:
    """The func.TimerRequest the worker builds from the host's timer payload."""
    moment = _iso(now or datetime.now(UTC))
    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": moment, "Next": moment, "LastUpdated": moment},
        "IsPastDue": past_due,
    }
    request: func.TimerRequest = TimerRequestConverter.decode(
        Datum(json.dumps(payload), "json"), trigger_metadata={}
    )
    return request


def http_request(
    method: str,
    path: str,
    *,
    route_params: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """A request as the host routes it: `path` under /api, route parameters already extracted."""
    if isinstance(body, dict | list):
        raw = json.dumps(body).encode("utf-8")
    elif isinstance(body, str):
        raw = body.encode("utf-8")
    else:
        raw = body or b""
    query = dict(params or {})
    # Function-level auth: the caller's key arrives in the query string; it must never be echoed.
    query.setdefault("code", "function-key-secret")
    url = f"{FUNCTIONS_BASE_URL}/api/{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
    return func.HttpRequest(
        method,
        url,
        headers={"Content-Type": "application/json", **(headers or {})},
        params=query,
        route_params=dict(route_params or {}),
        body=raw,
    )


def json_body(response: func.HttpResponse) -> Any:
    assert response.mimetype == "application/json", response.mimetype
    return json.loads(response.get_body())


@dataclass
class QueueHost:
    """Delivers step messages to our queue functions with the host's semantics.

    Received messages stay invisible while the function runs and are deleted when it returns. When it
    raises, the message becomes visible again after `visibility_timeout` seconds, and once it has been
    dequeued `max_dequeue_count` times the host moves it, text unchanged, to "<queue>-poison". The
    poison queue is an ordinary queue to the host: a message its function fails on as often goes on to
    `dead_letter_queue` ("replication-steps-poison-poison"), which no function reads.
    """

    step_queue: QueueClient
    poison_queue: QueueClient
    step_function: Callable[[func.QueueMessage], None]
    poison_function: Callable[[func.QueueMessage], None]
    dead_letter_queue: QueueClient | None = None
    max_dequeue_count: int = 5
    visibility_timeout: int = 0
    batch_size: int = 4
    failures: list[BaseException] = field(default_factory=list)
    delivered: int = 0

    def deliver_once(self) -> int:
        """Receive one batch from each queue and run the functions; returns how many were delivered."""
        handled = self._deliver(self.step_queue, self.step_function, self.poison_queue)
        handled += self._deliver(self.poison_queue, self.poison_function, self.dead_letter_queue)
        self.delivered += handled
        return handled

    def _deliver(
        self,
        queue: QueueClient,
        function: Callable[[func.QueueMessage], None],
        poison_queue: QueueClient | None,
    ) -> int:
        handled = 0
        for received in queue.receive_messages(
            max_messages=self.batch_size, messages_per_page=self.batch_size, visibility_timeout=300
        ):
            handled += 1
            try:
                function(as_host_delivers(received))
            except Exception as error:  # the host catches what the function raises
                self.failures.append(error)
                if (received.dequeue_count or 0) < self.max_dequeue_count:
                    queue.update_message(
                        received.id,
                        pop_receipt=received.pop_receipt,
                        visibility_timeout=self.visibility_timeout,
                    )
                    continue
                if poison_queue is None:
                    raise  # a test that expects no failure here sees it
                poison_queue.send_message(received.content, time_to_live=-1)
            queue.delete_message(received)
        return handled

    def pending(self) -> int:
        total = 0
        for queue in (self.step_queue, self.poison_queue):
            total += int(queue.get_queue_properties().approximate_message_count or 0)
        return total

    def drain(self, *, timeout: float = 60.0, idle_wait: float = 0.02) -> None:
        """Deliver until both queues are empty, waiting out (scaled) visibility delays."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.deliver_once() == 0:
                if self.pending() == 0:
                    return
                time.sleep(idle_wait)
        raise TimeoutError(f"the step queues were not empty after {timeout} s")

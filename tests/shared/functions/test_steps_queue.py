"""The step-queue functions: what the host delivers, what reaches the engine, and the failure paths."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

from shared.functions import steps_queue
from shared.functions.engine_provider import EngineUnavailable
from shared.functions.steps_queue import on_poisoned_step_message, on_step_message, read_step_message
from shared.runs.scheduler import QUEUE_NAME, StepMessage, StorageQueueScheduler
from tests.shared.functions.host import as_host_delivers, raw_queue_client
from tests.shared.functions.providers import provider_of, unreachable_engine, unusable_settings

MESSAGE = StepMessage(run_id="run-1", project="LoanAgreements", target="secondary", step="export", fence=3)


class RecordingEngine:
    """Stands in for the engine where only the adapter's hand-off is under test."""

    def __init__(self) -> None:
        self.advanced: list[StepMessage] = []
        self.poisoned: list[tuple[StepMessage, str]] = []

    def advance(self, message: StepMessage) -> None:
        self.advanced.append(message)

    def fail_poisoned(self, message: StepMessage, reason: str) -> None:
        self.poisoned.append((message, reason))


def test_a_message_from_the_producer_reaches_the_function_as_the_same_step_message(azurite: Any) -> None:
    connection = azurite.connection_string()
    StorageQueueScheduler.from_connection_string(connection).schedule(MESSAGE, timedelta(0))

    [received] = raw_queue_client(connection, QUEUE_NAME).receive_messages(max_messages=1)
    # Stored base64-encoded, so a host decoding base64 (its default) gets the JSON text back.
    assert base64.b64decode(received.content).decode("utf-8") == MESSAGE.to_text()

    delivered = as_host_delivers(received)
    assert delivered.dequeue_count == 1
    assert read_step_message(delivered) == MESSAGE

    engine = RecordingEngine()
    on_step_message(delivered, provider_of(engine))
    assert engine.advanced == [MESSAGE]


def test_the_registered_step_function_hands_the_message_to_the_shared_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = RecordingEngine()
    monkeypatch.setattr(steps_queue, "engines", provider_of(engine))
    steps_queue.replication_step(func.QueueMessage(id="m1", body=MESSAGE.to_text().encode()))
    assert engine.advanced == [MESSAGE]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"run_id": "r"}', b"\xff\xfe"])
def test_a_message_that_is_not_a_step_is_dropped_with_an_error_not_retried(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    message = func.QueueMessage(id="bad-1", body=body)
    with caplog.at_level(logging.ERROR):
        on_step_message(message, unreachable_engine())
        on_poisoned_step_message(message, unreachable_engine())
    assert [record.levelno for record in caplog.records] == [logging.ERROR, logging.ERROR]
    assert "bad-1" in caplog.text


def test_unusable_settings_fail_the_delivery_so_the_host_keeps_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(EngineUnavailable, match="PRIMARY_LANGUAGE_ENDPOINT"):
        on_step_message(func.QueueMessage(id="m1", body=MESSAGE.to_text()), unusable_settings())
    [error] = caplog.records
    assert "PRIMARY_LANGUAGE_ENDPOINT" in error.getMessage()
    assert "run-1 of LoanAgreements → secondary: step 'export' not advanced" in error.getMessage()


def test_unusable_settings_fail_a_poisoned_delivery_too_and_say_why_nothing_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(EngineUnavailable, match="PRIMARY_LANGUAGE_ENDPOINT"):
        on_poisoned_step_message(func.QueueMessage(id="m1", body=MESSAGE.to_text()), unusable_settings())
    [error] = caplog.records
    text = error.getMessage()
    assert "PRIMARY_LANGUAGE_ENDPOINT" in text and "cannot be marked failed" in text
    assert "replication-steps-poison-poison" in text and "drift timer resumes it" in text


def test_a_poisoned_message_fails_its_run_with_a_reason_naming_the_step_and_the_poison_queue() -> None:
    engine = RecordingEngine()
    on_poisoned_step_message(func.QueueMessage(id="m-42", body=MESSAGE.to_text()), provider_of(engine))
    [(message, reason)] = engine.poisoned
    assert message == MESSAGE
    assert "'export'" in reason
    assert "replication-steps-poison" in reason
    assert f"{steps_queue.MAX_DEQUEUE_COUNT} deliveries" in reason
    assert "m-42" in reason

import base64
import json
from datetime import timedelta

from azure.storage.queue import QueueClient

from shared.runs.scheduler import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage, StorageQueueScheduler
from shared.runs.scheduler.local_runner import LocalRunner, QueueHostSettings, parse_timespan


def test_message_text_is_base64_json_as_the_functions_host_decodes_it(azurite):
    connection = azurite.connection_string()
    scheduler = StorageQueueScheduler.from_connection_string(connection)
    sent = StepMessage("run-1", "Loans", "westus2", "plan", 0)
    scheduler.schedule(sent, timedelta(0))
    raw = QueueClient.from_connection_string(connection, QUEUE_NAME)  # no decode policy: the wire text
    [received] = list(raw.receive_messages())
    decoded = base64.b64decode(received.content).decode("utf-8")
    assert json.loads(decoded)["run_id"] == "run-1"
    assert StepMessage.from_text(decoded) == sent


def test_delay_hides_the_message_until_due(azurite):
    scheduler = StorageQueueScheduler.from_connection_string(azurite.connection_string())
    scheduler.schedule(StepMessage("r", "p", "t", "poll", 1), timedelta(hours=1))
    assert list(scheduler.queue.receive_messages()) == []
    assert scheduler.queue.get_queue_properties().approximate_message_count == 1


def test_local_runner_deletes_handled_messages(azurite):
    connection = azurite.connection_string()
    scheduler = StorageQueueScheduler.from_connection_string(connection)
    handled = []
    runner = LocalRunner.from_connection_string(connection, handled.append, lambda m, r: None)
    for fence in range(3):
        scheduler.schedule(StepMessage("r", "p", "t", "s", fence), timedelta(0))
    runner.run_until_idle(timeout=20)
    assert sorted(m.fence for m in handled) == [0, 1, 2]
    assert runner.pending_messages() == 0


def test_local_runner_poisons_after_max_dequeue_count_with_the_reason(azurite):
    connection = azurite.connection_string()
    StorageQueueScheduler.from_connection_string(connection).schedule(
        StepMessage("r", "p", "t", "s", 0), timedelta(0))
    attempts = []
    poisoned = []

    def handler(message):
        attempts.append(message)
        raise ValueError("export was empty")

    runner = LocalRunner.from_connection_string(
        connection, handler, lambda m, reason: poisoned.append((m, reason)),
        processing_timeout=timedelta(seconds=1))
    runner.settings = QueueHostSettings(max_dequeue_count=2)
    runner.run_until_idle(timeout=20)
    assert len(attempts) == 2
    [(message, reason)] = poisoned
    assert message.run_id == "r" and "export was empty" in reason
    poison = QueueClient.from_connection_string(connection, POISON_QUEUE_NAME)
    assert list(poison.peek_messages()) == []  # consumed by the poison handler, as the poison trigger does


def test_host_json_queue_settings_are_read(tmp_path):
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "extensions": {"queues": {
        "maxDequeueCount": 3, "visibilityTimeout": "00:00:30", "batchSize": 4}}}))
    settings = QueueHostSettings.from_host_json(host)
    assert settings == QueueHostSettings(3, timedelta(seconds=30), 4)
    assert QueueHostSettings.from_host_json(tmp_path / "absent.json").max_dequeue_count == 5
    assert parse_timespan("1.02:03:04.5") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)

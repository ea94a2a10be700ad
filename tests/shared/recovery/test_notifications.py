"""Notifications to a local webhook receiver: the three formats, failures reported without the URL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from shared.recovery.notifications import ADAPTIVE_CARD_CONTENT_TYPE, RUN_FAILED, Notification, Notifier
from tests.shared.webhook_receiver import Receiver

NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
NOTE = Notification(RUN_FAILED, "replication run failed: Loans -> westus2",
                    ("run r1 failed at train:v1: quota",), "error", {"run": "r1"})


def test_slack_gets_text(webhook: Receiver) -> None:
    report = Notifier(webhook.url, "slack").send([NOTE], NOW)
    assert report.sent == [NOTE.title]
    assert webhook.bodies == [
        {"text": "*replication run failed: Loans -> westus2*\n• run r1 failed at train:v1: quota"}]


def test_teams_gets_an_adaptive_card_in_a_message_envelope(webhook: Receiver) -> None:
    Notifier(webhook.url, "teams").send([NOTE], NOW)
    [body] = webhook.bodies
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD_CONTENT_TYPE
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block.get("text") for block in card["body"]]
    assert NOTE.title in texts and NOTE.lines[0] in texts
    assert card["body"][-1] == {"type": "FactSet", "facts": [{"title": "run", "value": "r1"}]}


def test_json_carries_everything(webhook: Receiver) -> None:
    Notifier(webhook.url, "json").send([NOTE], NOW)
    [body] = webhook.bodies
    assert body["kind"] == RUN_FAILED and body["severity"] == "error"
    assert body["time"] == "2026-05-06T07:08:09Z"


def test_a_failed_delivery_is_reported_without_the_secret_url(webhook: Receiver, caplog) -> None:
    webhook.status = 500
    caplog.set_level(logging.DEBUG)
    notifier = Notifier(webhook.url, "slack")
    report = notifier.send([NOTE], NOW)
    assert report.failed == [f"{NOTE.title}: HTTP 500"]
    unreachable = Notifier("http://127.0.0.1:9/hooks/secret-token-123", "json").send([NOTE], NOW)
    assert unreachable.failed == [f"{NOTE.title}: URLError"]
    everything = caplog.text + repr(notifier) + str(report.to_json()) + str(unreachable.to_json())
    assert "secret-token-123" not in everything


def test_no_url_sends_nothing() -> None:
    assert Notifier(None).send([NOTE], NOW).sent == []
    with pytest.raises(ValueError):
        Notifier("https://example.invalid", "xml")

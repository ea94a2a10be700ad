"""Webhook notifications: failed runs, persisting drift, old recovery points, expiry, removed projects.

`NOTIFY_FORMAT` shapes the body: `slack` ({"text": ...}, Slack incoming webhooks), `teams` (an Adaptive
Card inside the message envelope that Teams workflow webhooks require) or `json` (our own shape, for
any receiver). The webhook URL is a secret (Slack and Teams URLs carry their own signature): it never
appears in logs, errors or reports, and a failed POST is reported by status or exception kind only.
A notification that cannot be delivered never fails the work that raised it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import utc_iso

logger = logging.getLogger(__name__)

RUN_FAILED = "run-failed"
DRIFT_PERSISTS = "drift-persists"
RECOVERY_POINT_AGE = "recovery-point-age"
EXPIRY_WARNING = "expiry-warning"
TARGET_UNREACHABLE = "target-unreachable"
PROJECT_REMOVED = "project-removed"
TIMEOUT_SECONDS = 10.0
USER_AGENT = "language-dr-replicator"

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Notification:
    kind: str
    title: str
    lines: tuple[str, ...]
    severity: str = "warning"             # warning | error
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "severity": self.severity, "lines": list(self.lines),
                "facts": dict(self.facts)}


def slack_body(notification: Notification) -> dict[str, Any]:
    bullet_lines = "\n".join(f"• {line}" for line in notification.lines)
    return {"text": f"*{notification.title}*\n{bullet_lines}"}


def teams_body(notification: Notification) -> dict[str, Any]:
    """An Adaptive Card in the `message` envelope a Teams workflow ("When a webhook request is received")
    posts to a channel."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notification.title, "weight": "Bolder", "size": "Medium", "wrap": True,
         **({"color": "Attention"} if notification.severity == "error" else {"color": "Warning"})},
    ]
    body += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
             for line in notification.lines]
    if notification.facts:
        body.append({"type": "FactSet",
                     "facts": [{"title": key, "value": value} for key, value in notification.facts.items()]})
    return {
        "type": "message",
        "attachments": [{
            "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
            "contentUrl": None,
            "content": {"$schema": ADAPTIVE_CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4",
                        "body": body},
        }],
    }


def json_body(notification: Notification, now: datetime) -> dict[str, Any]:
    return {"source": USER_AGENT, "time": utc_iso(now), **notification.to_json()}


Poster = Callable[[str, dict[str, Any]], int]


def _post_json(url: str, body: dict[str, Any]) -> int:
    """POST with the standard library: requests/urllib3 log the request line (with the URL's secret path)
    at DEBUG, which a host running at DEBUG level would then keep."""
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)      # titles
    failed: list[str] = field(default_factory=list)    # "title: why" (never the URL)

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed}


class Notifier:
    def __init__(self, url: str | None, format: str = "json", *, post: Poster = _post_json) -> None:
        if format not in ("json", "slack", "teams"):
            raise ValueError(f"unknown notification format {format!r}")
        self._url = url
        self.format = format
        self._post = post

    def __repr__(self) -> str:
        return f"Notifier(configured={self.configured}, format={self.format!r})"

    @property
    def configured(self) -> bool:
        return bool(self._url)

    def body(self, notification: Notification, now: datetime) -> dict[str, Any]:
        if self.format == "slack":
            return slack_body(notification)
        if self.format == "teams":
            return teams_body(notification)
        return json_body(notification, now)

    def send(self, notifications: Sequence[Notification], now: datetime) -> DeliveryReport:
        report = DeliveryReport()
        if not self._url:
            return report
        for notification in notifications:
            try:
                status = self._post(self._url, self.body(notification, now))
            except (OSError, ValueError) as error:
                # Exception messages may carry the URL: name the exception kind only.
                why = type(error).__name__
            else:
                if 200 <= status < 300:
                    report.sent.append(notification.title)
                    continue
                why = f"HTTP {status}"
            logger.warning("notification %r not delivered: %s", notification.title, why)
            report.failed.append(f"{notification.title}: {why}")
        return report

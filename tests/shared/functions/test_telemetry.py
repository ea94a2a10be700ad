"""The log lines the deployment's alert rules parse (docs/reference/infrastructure.md, "Alerts")."""

from __future__ import annotations

import logging
import re

import pytest

from shared.functions.telemetry import report_recovery_point_ages

# What the alert rule's query parses out of `traces`.
LINE = re.compile(r"^replication\.recovery_point_age_hours project=(\S+) target=(\S+) hours=(\d+(?:\.\d+)?)$")


def test_each_synced_target_gets_one_line_in_the_alerts_format(caplog: pytest.LogCaptureFixture) -> None:
    drift = {
        "projects": [
            {"project": "LoanAgreements", "target": "secondary", "recoveryPointAgeSeconds": 45_000},
            {"project": "SupportTickets", "target": "secondary", "recoveryPointAgeSeconds": 0},
            {"project": "NeverSynced", "target": "secondary", "recoveryPointAgeSeconds": None},
        ]
    }
    with caplog.at_level(logging.INFO, logger="shared.functions.telemetry"):
        assert report_recovery_point_ages(drift) == 2
    parsed = [LINE.match(record.getMessage()) for record in caplog.records]
    assert all(parsed), [record.getMessage() for record in caplog.records]
    assert [m.groups() for m in parsed if m] == [
        ("LoanAgreements", "secondary", "12.5"),
        ("SupportTickets", "secondary", "0.0"),
    ]
    assert all(record.levelno == logging.INFO for record in caplog.records)

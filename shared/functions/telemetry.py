"""The telemetry the deployment's alert rules read (docs/reference/infrastructure.md, "Alerts").

After every drift check the app makes, one log line per (project, target) with the recovery point
age; the Functions host forwards Python logging to Application Insights `traces`, where the rules
parse exactly this shape.
"""

import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("shared.functions.telemetry")

RECOVERY_POINT_AGE = "replication.recovery_point_age_hours"


def report_recovery_point_ages(drift: Mapping[str, Any]) -> int:
    """Log each project's recovery point age from a drift report's JSON; returns how many were logged.

    A target that was never synced has no recovery point, so nothing is logged for it: the
    "recovery point age missing" alert covers that case.
    """
    reported = 0
    for entry in drift.get("projects") or ():
        seconds = entry.get("recoveryPointAgeSeconds")
        if seconds is None:
            continue
        hours = round(float(seconds) / 3600, 3)
        logger.info(
            "%s project=%s target=%s hours=%s", RECOVERY_POINT_AGE, entry["project"], entry["target"], hours
        )
        reported += 1
    return reported

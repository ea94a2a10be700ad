"""Wire formats of times and identifiers as the service writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

# .NET ticks (100 ns since 0001-01-01) form the suffix of authoring job ids: `<uuid>_<ticks>`.
_TICKS_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; microseconds kept so ordering survives sub-second jobs."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(value: date) -> str:
    return value.isoformat()


def parse_date(value: str) -> date:
    return date.fromisoformat(value[:10])


def ticks(value: datetime) -> int:
    delta = value.astimezone(UTC) - _TICKS_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def authoring_job_id(now: datetime) -> str:
    return f"{uuid.uuid4()}_{ticks(now)}"


def model_id(label: str, now: datetime) -> str:
    """`model1-20220418T034749-299f45b8114849538c1a750b21b05a94`, as in the service's examples."""
    return f"{label}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex}"

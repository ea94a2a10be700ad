"""The drift timer's schedule (DRIFT_SCHEDULE, six-field NCRONTAB in UTC) and the one rule for "overdue".

`{second} {minute} {hour} {day} {month} {day-of-week}`, each field `*`, a number, a range `a-b`, a step
`*/n` or `a-b/n`, or a comma list of those; months and days of the week may be named (`Jan`, `Mon`),
Sunday is 0 (or 7). A time is due when every field matches, the day and the day of the week included
(NCRONTAB's rule, unlike the classic cron's either-day).

`check_overdue` is the only place deciding that the drift check has not run when it should have: the
status page's estate verdict (web and `python -m shared status`) and `GET /api/health/details` call it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_SCHEDULE = "0 0 3 * * *"  # daily at 03:00 UTC, as the service docs recommend a daily check
# A check is expected for each due time once it is GRACE old: the host may start a timer a little late
# (cold start, a busy instance) and the check takes a while. For a daily schedule this is the rule the
# status page had before it followed the schedule: a check older than 26 h is overdue.
GRACE = timedelta(hours=2)
# The host may fire a few seconds early; a check that close to its due time counts for it.
EARLY = timedelta(minutes=1)
# The longest gap between two due times a valid schedule can have: 29 February on a given day of the
# week comes round every 28 years at most (the calendar's cycle, leap days included, within a century).
SEARCH_DAYS = 28 * 366 + 1

# How the status page and the health details say it (they name the setting, never its value).
OVERDUE = "overdue for DRIFT_SCHEDULE: the drift timer is not running"

_NAMES = {
    4: {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name},
    5: {name.lower(): (number + 1) % 7 for number, name in enumerate(calendar.day_abbr)},
}
_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class ScheduleError(ValueError):
    """Not a six-field NCRONTAB expression that ever fires (the message never quotes the expression)."""


@dataclass(frozen=True)
class Schedule:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]   # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        fields = expression.split()
        if len(fields) != 6:
            raise ScheduleError("needs six fields: second minute hour day month day-of-week")
        values = [_field(text, index) for index, text in enumerate(fields)]
        schedule = cls(tuple(sorted(values[0])), tuple(sorted(values[1])), tuple(sorted(values[2])),
                       frozenset(values[3]), frozenset(values[4]),
                       frozenset(day % 7 for day in values[5]))
        if schedule.last_due(datetime(2026, 1, 1, tzinfo=UTC)) is None:
            raise ScheduleError("never fires (no such day)")
        return schedule

    def last_due(self, at: datetime) -> datetime | None:
        """The latest due time at or before `at` (UTC); None if there is none within SEARCH_DAYS."""
        at = at.astimezone(UTC)
        limit: time | None = at.time().replace(microsecond=0)
        day = at.date()
        for _ in range(SEARCH_DAYS):
            if self._fires_on(day):
                found = self._latest_time(limit)
                if found is not None:
                    return datetime.combine(day, found, UTC)
            day, limit = day - timedelta(days=1), None
        return None

    def _fires_on(self, day: date) -> bool:
        return (day.day in self.days and day.month in self.months
                and (day.weekday() + 1) % 7 in self.weekdays)

    def _latest_time(self, limit: time | None) -> time | None:
        """The latest time of day this schedule fires at, at or before `limit` (None: any)."""
        for hour in reversed(self.hours):
            if limit is not None and hour > limit.hour:
                continue
            hour_bound = limit is not None and hour == limit.hour
            for minute in reversed(self.minutes):
                if hour_bound and limit is not None and minute > limit.minute:
                    continue
                minute_bound = hour_bound and limit is not None and minute == limit.minute
                for second in reversed(self.seconds):
                    if minute_bound and limit is not None and second > limit.second:
                        continue
                    return time(hour, minute, second)
        return None


def check_overdue(schedule: str, checked_at: datetime, now: datetime) -> bool:
    """Whether the last drift check (at `checked_at`) is older than the schedule allows at `now`.

    Expected: a check for the latest due time that is at least GRACE old (a check that came a minute
    early counts). So a schedule every 6 h is overdue after a missed tick plus GRACE, a weekly one only a
    week after its last check; an invalid schedule (settings refuse it) falls back to the default's."""
    try:
        parsed = Schedule.parse(schedule)
    except ScheduleError:
        parsed = Schedule.parse(DEFAULT_SCHEDULE)
    due = parsed.last_due(now - GRACE)
    return due is not None and checked_at < due - EARLY


def _field(text: str, index: int) -> set[int]:
    low, high = _BOUNDS[index]
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, index) if step_text else 1
        if step < 1:
            raise ScheduleError("a step must be 1 or more")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _number(start, index), _number(end, index)
        else:
            first = _number(span, index)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ScheduleError(f"field {index + 1} is out of range {low}-{high}")
        values.update(range(first, last + 1, step))
    return values


def _number(text: str, index: int) -> int:
    named = _NAMES.get(index, {}).get(text.lower())
    if named is not None:
        return named
    if not text.isdigit():
        raise ScheduleError(f"field {index + 1} is not a number, range, step or list")
    return int(text)

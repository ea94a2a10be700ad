"""The status page's pictures as inline SVG, drawn on the server: no script, no library, no network.

Colour is never the only signal: a failed step is also hatched and marked with a cross, a recovery point
over its objective is drawn as a triangle instead of a dot, and every chart carries a <title> and a
<desc> that say in words what it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from shared.replication.drift import format_age
from shared.replication.drift_history import HistoryPoint
from shared.status.model import RunView

WIDTH = 640
LABEL = 185          # the left column: run start, target, duration
ROW = 20
AGE_HEIGHT = 120
PAD = 6

# Fill per step status; the legend and the hatching carry the same meaning without colour.
STEP_FILL = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "pending": "#9e9e9e",
             "cancelled": "#757575", "skipped": "#bdbdbd"}

DEFS = ('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#c62828"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="3"/></pattern></defs>')


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def run_timeline(chart_id: str, project: str, runs: Sequence[RunView], now: datetime) -> str:
    """The last runs of one project, newest on top: each run a row spanning its own duration (a 40-minute
    training next to two-minute steps stays visible whatever the days between runs), its steps as bars."""
    if not runs:
        return ""
    plot = WIDTH - LABEL - PAD
    height = ROW * len(runs) + PAD * 2
    failed_steps = sum(step.status == "failed" for run in runs for step in run.steps)
    desc = ("Each row is one run, scaled to its own duration, its steps as bars in order: "
            + "; ".join(f"{run.run_id} to {run.target} {run.status}, "
                        f"{format_age((run.finished_at or now) - run.created_at)}" for run in runs)
            + f". {failed_steps} failed step(s), hatched and marked with a cross.")
    parts = [f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
             f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-t">Timeline of the last runs of {_e(project)}</title>',
             f'<desc id="{chart_id}-d">{_e(desc)}</desc>', DEFS]
    for row, run in enumerate(runs):
        run_end = run.finished_at or now
        span = max((run_end - run.created_at).total_seconds(), 1.0)

        def x(when: datetime, run: RunView = run, span: float = span) -> float:
            return LABEL + plot * max(0.0, min(1.0, (when - run.created_at).total_seconds() / span))

        y = PAD + ROW * row
        mark = " ✕" if run.status == "failed" else ""
        parts.append(f'<text x="0" y="{y + 13}" font-size="11">{run.created_at:%m-%d %H:%M} '
                     f'{_e(_short(run.target, 11))} {_e(format_age(run_end - run.created_at))}{mark}</text>')
        parts.append(f'<line x1="{LABEL}" x2="{LABEL + plot}" y1="{y + 9}" y2="{y + 9}" '
                     'stroke="#e0e0e0" stroke-width="1"/>')
        for step in run.steps:
            if step.started_at is None:
                continue
            step_end = step.finished_at or (run_end if not run.active else now)
            left, right = x(step.started_at), x(step_end)
            failed = step.status == "failed"
            fill = "url(#hatch)" if failed else STEP_FILL.get(step.status, "#9e9e9e")
            duration = format_age(step_end - step.started_at)
            parts.append(f'<rect x="{left:.0f}" y="{y + 3}" width="{max(2.0, right - left):.0f}" height="12" '
                         f'fill="{fill}" stroke="#ffffff" stroke-width="1"><title>{_e(step.name)}: '
                         f'{_e(step.status)}, {duration}</title></rect>')
            if failed:
                parts.append(f'<text x="{min(right + 2, WIDTH - 10):.0f}" y="{y + 13}" font-size="12" '
                             'fill="#c62828">✕</text>')
    parts.append("</svg>")
    return "".join(parts)


def age_chart(chart_id: str, project: str, target: str, points: Sequence[HistoryPoint], objective: timedelta,
              window: timedelta, now: datetime) -> str:
    """Recovery point age at each drift check of the window, with the objective as a dashed line."""
    aged = [(point.at, point.age) for point in points if point.age is not None]
    limit = objective.total_seconds()
    top = max([limit * 1.25, *(age.total_seconds() for _, age in aged)]) or 1.0
    start = now - window
    left, right, plot_top, bottom = 44, WIDTH - PAD, 8, AGE_HEIGHT - 22

    def x(when: datetime) -> float:
        share = (when - start).total_seconds() / window.total_seconds()
        return left + (right - left) * max(0.0, min(1.0, share))

    def y(seconds: float) -> float:
        return bottom - (bottom - plot_top) * min(1.0, seconds / top)

    over = [(at, age) for at, age in aged if age.total_seconds() > limit]
    if aged:
        newest = aged[-1][1]
        highest = max(age for _, age in aged)
        desc = (f"{len(aged)} drift check(s) in the last {window.days} days; "
                f"newest age {format_age(newest)}, "
                f"highest {format_age(highest)}; {len(over)} above the objective of {format_age(objective)} "
                "(drawn as triangles).")
    else:
        desc = f"No drift check with a recovery point in the last {window.days} days."
    parts = [f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
             f'viewBox="0 0 {WIDTH} {AGE_HEIGHT}" width="{WIDTH}" height="{AGE_HEIGHT}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-t">Recovery point age of {_e(project)} on {_e(target)}, last '
             f'{window.days} days</title>',
             f'<desc id="{chart_id}-d">{_e(desc)}</desc>',
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#616161"/>',
             f'<line x1="{left}" y1="{plot_top}" x2="{left}" y2="{bottom}" stroke="#616161"/>',
             f'<text x="{left - 4}" y="{bottom}" font-size="10" text-anchor="end">0</text>',
             f'<text x="{left - 4}" y="{plot_top + 8}" font-size="10" text-anchor="end">'
             f'{_e(format_age(timedelta(seconds=top)))}</text>',
             f'<line x1="{left}" y1="{y(limit):.0f}" x2="{right}" y2="{y(limit):.0f}" stroke="#e65100" '
             'stroke-dasharray="6 4" stroke-width="1.5"/>',
             f'<text x="{right}" y="{y(limit) - 3:.0f}" font-size="10" text-anchor="end" fill="#e65100">'
             f'objective {_e(format_age(objective))}</text>',
             f'<text x="{left}" y="{AGE_HEIGHT - 6}" font-size="10">{start:%Y-%m-%d}</text>',
             f'<text x="{right}" y="{AGE_HEIGHT - 6}" font-size="10" text-anchor="end">{now:%Y-%m-%d}</text>']
    if len(aged) > 1:
        line = " ".join(f"{x(at):.0f},{y(age.total_seconds()):.0f}" for at, age in aged)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="1.5"/>')
    for at, age in aged:
        cx, cy = x(at), y(age.total_seconds())
        label = f"{at:%Y-%m-%d %H:%M}: {format_age(age)}"
        if age.total_seconds() > limit:
            corners = f"{cx:.0f},{cy - 5:.0f} {cx - 5:.0f},{cy + 4:.0f} {cx + 5:.0f},{cy + 4:.0f}"
            parts.append(f'<polygon points="{corners}" fill="#c62828"><title>{label}, above the objective'
                         "</title></polygon>")
        else:
            parts.append(f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="3" fill="#1565c0"><title>{label}</title>'
                         '</circle>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"

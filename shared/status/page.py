"""The status page: one self-contained HTML document from an EstateStatus (no script, no external asset).

Every value is escaped here; the page's only style sheet is inline and allowed by its hash in the
Content-Security-Policy, so the same document works as a file opened offline and behind the Functions
host. Each run's details are anchors on the page: no link carries the function key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape

from shared.language.project_kinds import count_items, display_name_of
from shared.recovery.expiry import ExpiryWarning
from shared.replication.drift import format_age
from shared.replication.verdict import Protection
from shared.status.charts import age_chart, run_timeline
from shared.status.estate import EstateVerdict
from shared.status.model import EstateStatus, ProjectView, ReplicaView, RunView

# Long text (a service's error, a blob name) wraps anywhere rather than widening the page past the window.
# Sections off screen are not laid out until scrolled to (content-visibility): a 500-project page holds
# thousands of step rows, and laying them all out took Chromium over ten seconds.
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:0 16px 48px;color:#212121;background:#fff;line-height:1.4}
h1{font-size:1.3rem;margin:16px 0 8px}h2{margin-top:32px;border-bottom:1px solid #e0e0e0}
.verdict{border:3px solid;border-radius:8px;padding:12px 16px;margin:8px 0 16px}
.verdict p.word{font-size:2rem;font-weight:700;margin:0}
.v-all_protected{border-color:#2e7d32;background:#e8f5e9}.v-at_risk{border-color:#e65100;background:#fff3e0}
.v-not_protected{border-color:#c62828;background:#ffebee}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:4px 6px;
border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:anywhere}
h3,h4,p,li{overflow-wrap:anywhere}caption{text-align:left;font-weight:600;padding:4px 0}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-weight:600;border:1px solid}
.p-protected{color:#1b5e20;border-color:#2e7d32}.p-at_risk{color:#bf360c;border-color:#e65100}
.p-not_protected{color:#b71c1c;border-color:#c62828}
.project{border:1px solid #e0e0e0;border-radius:6px;padding:8px 12px;margin:12px 0}
.project h3{margin:4px 0}.muted{color:#616161}.chart{max-width:100%;height:auto;display:block;margin:6px 0}
ul{margin:4px 0;padding-left:20px}.legend span{margin-right:12px}.run{margin:16px 0}
.over{font-weight:700}
.project{content-visibility:auto;contain-intrinsic-size:auto 900px}
.run{content-visibility:auto;contain-intrinsic-size:auto 320px}
"""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# No script, no frame, nothing fetched; only the inline style above and data: images (the empty icon).
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src '{STYLE_HASH}'; img-src data:; base-uri 'none'; "
                           "form-action 'none'")
# The HTTP answer adds what a <meta> policy cannot carry.
HTTP_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY + "; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

VERDICT_MARK = {EstateVerdict.ALL_PROTECTED: "✓", EstateVerdict.AT_RISK: "⚠",
                EstateVerdict.NOT_PROTECTED: "✕"}
PROTECTION_TEXT = {Protection.PROTECTED: "✓ protected", Protection.AT_RISK: "⚠ at risk",
                   Protection.NOT_PROTECTED: "✕ not protected"}
STATE_TEXT = {"in_sync": "in sync", "drifted": "drifted", "diverged": "diverged", "missing": "missing",
              "error": "error", "promoted": "promoted"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    text = f"{value:%Y-%m-%d %H:%M} UTC"
    return f"{text} ({format_age(now - value)} ago)" if now is not None else text


def _clock(value: datetime | None) -> str:
    """A step's time: the run's heading has the date."""
    # isoformat is several times faster than strftime, and a large page has tens of thousands of these.
    return "-" if value is None else value.isoformat(sep=" ", timespec="seconds")[5:19]


def render(status: EstateStatus) -> str:
    """The whole page."""
    now = status.generated_at
    title = f"DR status: {status.verdict.label}"
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<meta name="referrer" content="no-referrer">',
             f'<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">',
             f'<title>{_e(title)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head><body>',
             "<h1>Language DR replicator: status</h1>"]
    parts += _verdict(status)
    parts += _estate_notes(status)
    parts += _summary_table(status)
    parts.append('<h2 id="projects">Projects</h2>')
    parts.append('<p class="legend">Timeline bars: <span>■ succeeded (green)</span><span>■ running (blue)'
                 '</span><span>▨ ✕ failed (red, hatched, crossed)</span><span>■ other (grey)</span> — '
                 'Recovery point age: <span>● a drift check</span><span>▲ above the objective</span>'
                 '<span>- - - the objective</span></p>')
    for index, project in enumerate(status.projects):
        parts += _project(index, project, status)
    parts.append('<h2 id="runs">Run details</h2>')
    runs = [run for project in status.projects for run in project.runs]
    if not runs:
        parts.append("<p>No run recorded yet.</p>")
    parts += [_run_details(run, now) for run in runs]
    parts.append(f'<p class="muted">Generated at {_when(now)} from state storage only (no Language '
                 "request).</p></body></html>")
    return "".join(parts)


def _verdict(status: EstateStatus) -> list[str]:
    counts = status.counts()
    replicas = sum(counts.values())
    summary = ", ".join(f"{count} {STATE_TEXT.get(state, state)}" for state, count in sorted(counts.items()))
    check = (f"last drift check {_when(status.checked_at, status.generated_at)}"
             if status.checked_at else "no drift check recorded")
    return [f'<section class="verdict v-{status.verdict.value}" role="status" aria-label="Estate verdict">',
            f'<p class="word" id="verdict">{VERDICT_MARK[status.verdict]} {_e(status.verdict.label)}</p>',
            "<ul>", *(f"<li>{_e(reason)}</li>" for reason in status.verdict_reasons), "</ul>",
            f"<p>{len(status.projects)} project(s), {replicas} replica(s)"
            f"{': ' + _e(summary) if summary else ''}"
            f"; {check}; recovery point objective {_e(format_age(status.objective))}.</p></section>"]


def _estate_notes(status: EstateStatus) -> list[str]:
    parts = []
    if status.promotion:
        parts.append(f'<p class="badge p-at_risk" role="note">Promotion in effect: '
                     f"{_e(status.promotion)}</p>")
    if status.warnings:
        parts += ["<h2>Warnings</h2><ul>", *(f"<li>{_e(w)}</li>" for w in status.warnings), "</ul>"]
    if status.estate_expiry:
        parts += ["<h2>Expiry (every project)</h2>", _expiry_list(status.estate_expiry)]
    expiry_check = _when(status.expiry_checked_at, status.generated_at) if status.expiry_checked_at else (
        "not run yet (the daily upkeep runs it)")
    parts.append(f'<p class="muted">Last expiry watch: {_e(expiry_check)}.</p>')
    return parts


def _summary_table(status: EstateStatus) -> list[str]:
    now = status.generated_at
    rows = []
    for index, project in enumerate(status.projects):
        for replica in project.replicas:
            rows.append(
                f'<tr><td><a href="#project-{index}">{_e(project.project)}</a></td>'
                f'<td>{_e(display_name_of(project.kind) or "-")}</td><td>{_e(replica.target)}</td>'
                f"<td>{_e(STATE_TEXT.get(replica.state.value))}</td>"
                f"<td>{_protection(replica)}</td><td>{_age(replica.age, status.objective)}</td>"
                f"<td>{_e(_when(replica.last_synced_at, now))}</td>"
                f"<td>{_run_link(replica.active_run, current=True)}</td>"
                f"<td>{_run_link(replica.last_failure)}</td></tr>")
    if not rows:
        return ["<p>No replicated project in the last drift check.</p>"]
    head = _head("Project", "Kind", "Target", "State", "Protection", "Recovery point age / objective",
                 "Last successful sync", "Active run", "Last failure")
    return [f'<table id="summary"><caption>Every project and target</caption>{head}<tbody>', *rows,
            "</tbody></table>"]


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f'<th scope="col">{name}</th>' for name in names) + "</tr></thead>"


def _protection(replica: ReplicaView) -> str:
    return (f'<span class="badge p-{replica.protection.value}" title="{_e(replica.protection_reason)}">'
            f"{PROTECTION_TEXT[replica.protection]}</span>")


def _age(age: timedelta | None, objective: timedelta) -> str:
    if age is None:
        return "-"
    over = age > objective
    text = f"{format_age(age)} / {format_age(objective)}"
    return f'<span class="over">{_e(text)} (over)</span>' if over else _e(text)


def _run_link(run: RunView | None, *, current: bool = False) -> str:
    if run is None:
        return "-"
    if current:
        done, total = run.progress
        step = run.current_step
        doing = f"{step.name} ({step.status})" if step else "finishing"
        return (f'<a href="#{run.anchor}">{_e(run.run_id)}</a>: step {min(done + 1, total)} of {total}, '
                f"{_e(doing)}")
    return f'<a href="#{run.anchor}">{_e(run.run_id)}</a>: {_e(run.error or "failed")}'


def _project(index: int, project: ProjectView, status: EstateStatus) -> list[str]:
    now = status.generated_at
    kind = f' <span class="muted">({_e(display_name_of(project.kind))})</span>' if project.kind else ""
    parts = [f'<section class="project" id="project-{index}" aria-labelledby="project-{index}-h">',
             f'<h3 id="project-{index}-h">{_e(project.project)}{kind}</h3>']
    for replica_index, replica in enumerate(project.replicas):
        parts.append(f"<h4>→ {_e(replica.target)}: {_e(STATE_TEXT.get(replica.state.value))} "
                     f"{_protection(replica)}</h4>")
        parts.append(f"<p>{_e(replica.protection_reason)}. Recovery point age "
                     f"{_age(replica.age, status.objective)}; last successful sync "
                     f"{_e(_when(replica.last_synced_at, now))}.</p>")
        if replica.reasons:
            parts += ["<p>Why:</p><ul>", *(f"<li>{_e(r)}</li>" for r in replica.reasons), "</ul>"]
        if replica.risks:
            parts += ["<p>Risks:</p><ul>", *(f"<li>{_e(r)}</li>" for r in replica.risks), "</ul>"]
        if replica.active_run is not None:
            parts.append(f"<p>Active run: {_run_link(replica.active_run, current=True)}</p>")
        if replica.last_failure is not None:
            parts.append(f"<p>Last failure: {_run_link(replica.last_failure)}</p>")
        parts.append(age_chart(f"age-{index}-{replica_index}", project.project, replica.target,
                               replica.history, status.objective, status.history_window, now))
    snapshots = project.snapshots
    newest = (f"newest {_e(snapshots.newest.name)} ({_e(_when(snapshots.newest.created, now))}, "
              f"{_e(count_items(snapshots.newest.project_kind, snapshots.newest.documents))})"
              if snapshots.newest else "none yet")
    good = _e(snapshots.latest_good) if snapshots.latest_good else "none"
    parts.append(f"<p>Snapshots: {snapshots.count}; {newest}; latest good (last synced): {good}.</p>")
    if project.expiry:
        parts += ["<p>Expiry:</p>", _expiry_list(project.expiry)]
    if project.runs:
        parts.append(run_timeline(f"timeline-{index}", project.project, project.runs, now))
        parts += ["<ul>", *(f'<li><a href="#{run.anchor}">{_e(run.run_id)}</a> → {_e(run.target)}: '
                            f"{_e(run.status)}{' ✕' if run.status == 'failed' else ''}</li>"
                            for run in project.runs), "</ul>"]
    else:
        parts.append("<p>No run recorded.</p>")
    parts.append("</section>")
    return parts


def _expiry_list(warnings: Iterable[ExpiryWarning]) -> str:
    return "<ul>" + "".join(f"<li>{_e(warning.message)}</li>" for warning in warnings) + "</ul>"


STEP_HEAD = _head("Step", "Kind", "Status", "Started", "Finished", "Took", "Submits (POSTs)", "Polls",
                  "Job id", "Job state", "Errors, warnings")


def _run_details(run: RunView, now: datetime) -> str:
    rows = []
    for step in run.steps:
        end = step.finished_at or (now if step.status == "running" else None)
        took = format_age(end - step.started_at) if step.started_at and end else "-"
        notes = [*step.errors, *step.warnings]
        mark = "✕ " if step.status == "failed" else ""
        rows.append(f"<tr><td>{_e(step.name)}</td><td>{_e(step.kind)}</td><td>{mark}{_e(step.status)}</td>"
                    f"<td>{_clock(step.started_at)}</td><td>{_clock(step.finished_at)}</td><td>{took}</td>"
                    f"<td>{step.attempts}</td><td>{step.polls}</td><td>{_e(step.job_id or '-')}</td>"
                    f"<td>{_e(step.job_state or '-')}</td>"
                    f"<td>{'<br>'.join(_e(n) for n in notes) or '-'}</td></tr>")
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in run.reasons)
    error = f"<p>Error: {_e(run.error)}</p>" if run.error else ""
    # A run's own warnings (not any one step's) would otherwise show nowhere in its details.
    warnings = ("<p>Warnings:</p><ul>" + "".join(f"<li>{_e(w)}</li>" for w in run.warnings) + "</ul>"
                if run.warnings else "")
    return (f'<section class="run" id="{run.anchor}"><h3>Run {_e(run.run_id)}: {_e(run.project)} → '
            f"{_e(run.target)}, {_e(run.status)}</h3><p>Trigger {_e(run.trigger)}; started "
            f"{_e(_when(run.created_at))}; finished {_e(_when(run.finished_at))}.</p>"
            f"{'<ul>' + reasons + '</ul>' if reasons else ''}{error}{warnings}"
            f"<table>{STEP_HEAD}<tbody>{''.join(rows)}</tbody></table>"
            '<p><a href="#summary">back to the summary</a></p></section>')


__all__ = ["CONTENT_SECURITY_POLICY", "HTTP_HEADERS", "render"]

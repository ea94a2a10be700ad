"""The page's HTML: escaped, self-contained, every link an anchor on the page, every chart labelled."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from datetime import timedelta

from bench.status_page import NOW, OBJECTIVE, sample_estate
from shared.replication.drift import DriftState, ProjectDrift
from shared.runs.manifest import RunManifest
from shared.status.model import RunView, build_status
from shared.status.page import CONTENT_SECURITY_POLICY, HTTP_HEADERS, render

HOSTILE = '<script>alert(1)</script> "quoted" & AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0'


def test_service_text_is_escaped_and_redacted():
    entry = ProjectDrift("secondary", "Loans", DriftState.ERROR, (HOSTILE,), (HOSTILE,), None, None)
    page = render(build_status(now=NOW, checked_at=NOW, entries=[entry], objective=OBJECTIVE,
                               warnings=[HOSTILE], promotion=HOSTILE))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; AccountKey=***" in page
    assert "c2VjcmV0" not in page


def test_the_only_style_is_the_one_the_policy_allows_and_nothing_is_fetched():
    page = render(sample_estate(12))
    [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "<script" not in page and " style=" not in page
    assert not re.search(r'(?:src|href)="(?!#|data:)', page), "only anchors and data: URLs"
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert HTTP_HEADERS["Referrer-Policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in page


def test_every_link_is_an_anchor_on_the_page_and_every_run_has_details():
    status = sample_estate(30)
    page = render(status)
    ids = set(re.findall(r'id="([^"]+)"', page))
    targets = set(re.findall(r'href="#([^"]+)"', page))
    assert targets <= ids, sorted(targets - ids)[:5]
    for project in status.projects:
        for run in project.runs:
            assert run.anchor in targets


def test_every_chart_has_a_title_and_a_description_and_failures_are_not_only_red():
    status = sample_estate(30)
    page = render(status)
    charts = re.findall(r"<svg[^>]*>.*?</svg>", page, re.S)
    assert len(charts) == sum(len(p.replicas) + bool(p.runs) for p in status.projects)
    for chart in charts:
        labelled = re.search(r'aria-labelledby="([^ "]+) ([^"]+)"', chart)
        assert labelled and 'role="img"' in chart
        assert f'<title id="{labelled[1]}">' in chart and f'<desc id="{labelled[2]}">' in chart
    failed = [c for c in charts if "failed step(s)" in c and "0 failed step(s)" not in c]
    assert failed and all('url(#hatch)' in c and "✕" in c for c in failed)
    over = [c for c in charts if "<polygon" in c]
    assert over and all("above the objective" in c for c in over)


def test_the_verdict_comes_first_and_attention_sorts_first():
    status = sample_estate(60)
    page = render(status)
    assert page.index('id="verdict"') < page.index('id="summary"')
    assert "⚠ At risk" in page or "✕ Not protected" in page
    first = status.projects[0].replicas[0]
    assert first.state is DriftState.MISSING   # not protected sorts before at risk and protected


def test_an_empty_estate_says_so():
    page = render(build_status(now=NOW, checked_at=None, entries=[], objective=timedelta(hours=24)))
    assert "✕ Not protected" in page and "no drift check has been recorded yet" in page
    assert "No run recorded yet." in page


def test_a_check_that_could_not_list_the_primary_shows_each_replica_we_synced_not_one_star():
    reason = "cannot list the primary's projects: ConnectionError"
    synced = NOW - timedelta(hours=5)
    status = build_status(
        now=NOW, checked_at=NOW, objective=OBJECTIVE,
        entries=[ProjectDrift("secondary", "*", DriftState.ERROR, (reason,))],
        last_synced={("secondary", "Loans"): synced, ("secondary", "Tickets"): synced,
                     ("other", "Ignored"): synced})
    assert [p.project for p in status.projects] == ["Loans", "Tickets"]
    replicas = [replica for project in status.projects for replica in project.replicas]
    assert all(r.last_synced_at == synced and r.reasons == (reason,) for r in replicas)
    assert status.verdict.value == "at_risk"   # unknown now, but each has a replica that could serve


def test_an_active_run_shows_its_current_step_and_a_failed_one_its_error():
    status = sample_estate(12)
    page = render(status)
    active = next(p.replicas[0].active_run for p in status.projects if p.replicas[0].active_run)
    assert f'<a href="#{active.anchor}">{active.run_id}</a>: step 5 of 7, train:v1 (running)' in page
    failed = next(p.replicas[0].last_failure for p in status.projects if p.replicas[0].last_failure)
    assert f'<a href="#{failed.anchor}">{failed.run_id}</a>: TrainingFailed: the job failed' in page
    details = page[page.index(f'id="{failed.anchor}"'):]
    assert "✕ failed" in details[:details.index("</section>")]


def test_kinds_read_as_people_name_them_and_the_newest_snapshot_counts_its_own_items():
    status = sample_estate(3)
    newest = status.projects[0].snapshots.newest
    assert newest is not None
    clu = replace(status.projects[0], kind="Conversation", snapshots=replace(
        status.projects[0].snapshots, newest=replace(newest, project_kind="Conversation", documents=48)))
    page = render(replace(status, projects=(clu, *status.projects[1:])))
    cells = re.findall(r'<td><a href="#project-\d+">[^<]*</a></td><td>([^<]*)</td>', page)
    assert cells[0] == "CLU" and set(cells) == {"CLU", "Custom NER"}   # Project0 has two targets
    assert "CustomEntityRecognition" not in page and "(CLU)</span>" in page
    assert ", 48 utterances)" in page


def test_a_runs_own_warning_shows_in_its_details():
    status = sample_estate(3)
    project = status.projects[0]
    warned = replace(project.runs[0], warnings=("StoreFaq is not replicated by this tool",))
    page = render(replace(status, projects=(replace(project, runs=(warned, *project.runs[1:])),
                                            *status.projects[1:])))
    details = page[page.index(f'id="{warned.anchor}"'):]
    details = details[:details.index("</section>")]
    assert "<li>StoreFaq is not replicated by this tool</li>" in details


def test_long_text_wraps_in_the_only_style():
    cells = re.search(r"th,td\{[^}]*\}", render(sample_estate(1)))
    assert cells is not None and "overflow-wrap:anywhere" in cells[0]


def test_a_manifests_run_level_warnings_reach_the_view_redacted():
    manifest = RunManifest("r1", "Faq", "secondary", "timer", False, NOW, NOW,
                           warnings=["StoreFaq is not replicated by this tool", HOSTILE])
    view = RunView.of(manifest)
    assert view.warnings[0] == "StoreFaq is not replicated by this tool"
    assert "c2VjcmV0" not in view.warnings[1]

"""The status model gathered from a real engine's state (emulator + Azurite), and only from its state."""

from __future__ import annotations

from localdev.sample_project import ner_project
from shared.recovery.upkeep import Maintenance
from shared.replication.drift import DriftState
from shared.replication.verdict import Protection
from shared.status.estate import EstateVerdict
from shared.status.model import gather
from shared.status.page import render
from tests.shared.engine.support import harness, make_engine, seed

WEBHOOK = "https://hooks.example.test/services/T000/B000/very-secret-path"


def test_a_replicated_project_is_protected_with_its_run_snapshots_and_history(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, NOTIFY_WEBHOOK_URL=WEBHOOK)
    assert gather(h.engine).verdict is EstateVerdict.NOT_PROTECTED   # no drift check recorded yet
    [start] = h.engine.start_runs()
    h.run()
    h.engine.drift_report()          # every check lands in the history the page draws
    Maintenance(h.engine).expiry()   # the daily expiry watch is kept for the page too

    status = gather(h.engine)
    assert status.verdict is EstateVerdict.ALL_PROTECTED, status.verdict_reasons
    [view] = status.projects
    [replica] = view.replicas
    assert (replica.state, replica.protection) == (DriftState.IN_SYNC, Protection.PROTECTED)
    assert replica.last_synced_at is not None and replica.active_run is None and replica.last_failure is None
    assert [point.state for point in replica.history] == [DriftState.IN_SYNC]
    assert view.kind == "CustomEntityRecognition"
    [run] = view.runs
    assert run.run_id == start.run_id and run.status == "succeeded"
    jobs = [step.job_id for step in run.steps if step.job_id]
    assert jobs and all("/" not in job and "http" not in job for job in jobs)
    assert view.snapshots.count >= 1 and view.snapshots.latest_good is not None
    assert status.expiry_checked_at is not None

    page = render(status)
    assert f'id="{run.anchor}"' in page and f'href="#{run.anchor}"' in page
    account_key = azurite.connection_string().split("AccountKey=", 1)[1].split(";", 1)[0]
    for secret in (regions.primary.key, regions.secondary.key, account_key, "AccountKey", WEBHOOK,
                   "hooks.example.test", regions.primary.endpoint, regions.secondary.endpoint):
        assert secret not in page


def test_the_page_is_drawn_from_storage_while_the_primary_is_unreachable(regions, azurite):
    project = ner_project()
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    h.engine.start_runs()
    h.run()
    h.engine.drift_report()
    # Another instance during an outage of the primary's region: its Language endpoint answers nothing.
    down = make_engine(regions, azurite, PRIMARY_LANGUAGE_ENDPOINT="http://127.0.0.1:9")
    status = gather(down)
    assert status.verdict is EstateVerdict.ALL_PROTECTED
    assert [p.project for p in status.projects] == [project.name]

    # Its drift check cannot list the primary: with REPLICATED_PROJECTS=* that is one "*" entry, and the
    # page still shows the project, with its runs and snapshots, at risk rather than unknown.
    star = make_engine(regions, azurite, PRIMARY_LANGUAGE_ENDPOINT="http://127.0.0.1:9",
                       REPLICATED_PROJECTS="*")
    assert [entry.project for entry in star.drift_report().projects] == ["*"]
    status = gather(star)
    assert status.verdict is EstateVerdict.AT_RISK
    [view] = status.projects
    assert view.project == project.name and view.runs and view.snapshots.count >= 1
    assert view.replicas[0].state is DriftState.ERROR and view.replicas[0].last_synced_at is not None


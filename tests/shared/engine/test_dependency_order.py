"""Orchestration order across runs, against Azurite and two emulated regions.

The run machinery (order, waiting, the dependency's run starting its dependants, blocking, the connected
signal) is the same whatever the kinds; here a custom NER project stands in for the CLU project an
orchestration routes to, so these tests need nothing beyond the text API's replication.
"""

from __future__ import annotations

from typing import Any

from localdev.sample_project import ner_project
from shared.replication.dependencies import DependencyGraph
from shared.replication.orchestration import (
    Dependencies,
    DependencyReader,
    Routing,
    RoutingReader,
    RoutingTarget,
    TargetKind,
)
from shared.replication.verdict import DriftState
from shared.runs.manifest import FAILED, SKIPPED, SUCCEEDED

from .support import authoring, control, harness, seed

ROUTES = (RoutingTarget("Loans", TargetKind.CONVERSATION, "LoanAgreements", "prod"),
          RoutingTarget("Faq", TargetKind.QUESTION_ANSWERING, "StoreFaq"))
NOTE = ROUTES[1].describe()


class StandInRouting(RoutingReader):
    """Contracts routes to LoanAgreements (and to a question answering project)."""

    def __init__(self) -> None:
        super().__init__(lambda name: {})

    def routing(self, metadata: Any) -> Routing | None:
        return Routing("Contracts", "", ROUTES) if metadata.get("projectName") == "Contracts" else None


class StandInDependencies(DependencyReader):
    def __init__(self) -> None:
        super().__init__(lambda: [], StandInRouting())

    def read(self, is_replicated: Any) -> Dependencies:
        routing = Routing("Contracts", "", ROUTES)
        return Dependencies(DependencyGraph({"Contracts": routing.connected}), {"Contracts": routing.notes})


def seeded(regions, azurite):
    docs = azurite.connection_string("primarydocs")
    seed(regions.primary, docs, ner_project())
    seed(regions.primary, docs, ner_project("Contracts", container="contracts", documents=12, seed=11))
    # Listed dependant first: the order must come from the dependencies, not the setting.
    h = harness(regions, azurite, project="Contracts,LoanAgreements")
    h.engine.replication.dependency_reader = StandInDependencies()
    return h


def statuses(starts) -> list[tuple[str, str]]:
    return [(start.project, start.status) for start in starts]


def test_the_orchestration_waits_while_its_clu_project_replicates_and_starts_once_it_has(regions, azurite):
    h = seeded(regions, azurite)
    starts = h.engine.start_runs()
    assert statuses(starts) == [("LoanAgreements", "started"), ("Contracts", "waiting")]
    loans_run = starts[0].run_id
    assert starts[1].plan["reasons"] == [
        f"waiting for the run of CLU project 'LoanAgreements', which it routes to (run {loans_run}): its "
        "training reads that project on the target"]
    assert starts[1].plan["warnings"] == [f"{NOTE}: not replicated by this tool (the orchestration is "
                                          "replicated without it; recreate it in the target's resource "
                                          "yourself)"]
    # Asked again while the CLU project's run is under way (its lock held): still waiting.
    [again] = h.engine.start_runs(["Contracts"])
    assert again.status == "waiting" and f"(run {loans_run})" in again.plan["reasons"][0]
    h.run()
    loans = h.engine.get_run("LoanAgreements", loans_run)
    assert loans.status == SUCCEEDED
    # (A real CLU project's run starts it at once: tests/shared/engine/test_conversation_projects.py.)
    assert statuses(h.engine.start_runs()) == [("LoanAgreements", "in_sync"), ("Contracts", "started")]
    h.run()
    [contracts] = h.engine.list_runs("Contracts")
    assert contracts.status == SUCCEEDED and contracts.created_at >= loans.finished_at
    assert any(NOTE in warning for warning in contracts.warnings)
    # Both synced: nothing more to do, and the drift check reports the note as a standing risk.
    assert statuses(h.engine.start_runs()) == [("LoanAgreements", "in_sync"), ("Contracts", "in_sync")]
    drift = h.engine.drift_report().project("Contracts")
    assert drift.state is DriftState.IN_SYNC and any(NOTE in risk for risk in drift.risks)


def test_a_connected_project_replicated_again_is_drift_and_re_trains_the_orchestration(regions, azurite):
    h = seeded(regions, azurite)
    h.engine.start_runs()
    h.run()
    h.engine.start_runs()
    h.run()
    h.clock.advance(60)
    [again] = h.engine.start_runs(["LoanAgreements"], force=True)
    h.run()
    assert h.engine.get_run("LoanAgreements", again.run_id).status == SUCCEEDED

    drift = h.engine.drift_report().project("Contracts")
    assert drift.state is DriftState.DRIFTED
    assert drift.reasons[0].startswith(
        "connected CLU project 'LoanAgreements' was replicated to the target at ")
    [start] = h.engine.start_runs(["Contracts"])
    assert start.status == "started", start
    h.run()
    run = h.engine.get_run("Contracts", start.run_id)
    assert run.status == SUCCEEDED
    assert run.step("train:v1").status != SKIPPED, "the orchestration must be re-trained"
    assert h.engine.drift_report().project("Contracts").state is DriftState.IN_SYNC


def test_a_failed_clu_project_blocks_its_orchestration_naming_it(regions, azurite):
    h = seeded(regions, azurite)
    control(regions.secondary, "/_emulator/faults/jobs", {
        "kind": "train", "count": 5, "code": "InvalidRequest", "message": "Too few labelled documents."})
    [loans, waiting] = h.engine.start_runs()
    assert waiting.status == "waiting"
    h.run()
    assert h.engine.get_run("LoanAgreements", loans.run_id).status == FAILED
    assert h.engine.list_runs("Contracts") == []
    [blocked] = h.engine.start_runs(["Contracts"])
    assert blocked.status == "blocked"
    [reason] = blocked.plan["reasons"]
    assert reason.startswith(f"blocked: the replication of CLU project 'LoanAgreements', which it routes to, "
                             f"failed (run {loans.run_id}: ")


def test_a_changed_clu_project_is_replicated_first_and_then_re_trains_its_orchestration(regions, azurite):
    from localdev.conversation_samples import clu_project, orchestration_project

    from .test_conversation_projects import seed_conversation

    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("FrontDesk"))
    h = harness(regions, azurite, project="FrontDesk,CoffeeOrders")
    h.engine.start_runs()
    h.run()
    assert [run.status for run in h.engine.list_runs("FrontDesk")] == [SUCCEEDED]
    # The orchestration's targets are cached under its lastModifiedDateTime: no export while unchanged.
    reader = h.engine.replication.dependency_reader.reader
    exports = reader.exports
    h.engine.drift_report()
    h.engine.start_runs()
    assert reader.exports == exports

    h.clock.advance(3600)
    seed_conversation(primary, clu_project("CoffeeOrders", per_intent=14))  # edited, retrained, redeployed
    report = h.engine.timer_tick()
    drift = {(entry["project"], entry["state"]) for entry in report.drift["projects"]}
    assert drift == {("CoffeeOrders", "drifted"), ("FrontDesk", "in_sync")}
    assert [(s.project, s.status) for s in report.started] == [("CoffeeOrders", "started")]
    h.run()
    latest = h.engine.list_runs("FrontDesk")[0]
    assert latest.status == SUCCEEDED and latest.trigger == "dependency", latest.to_json()
    assert latest.reasons[0].startswith("connected CLU project 'CoffeeOrders' was replicated to the target")
    assert latest.step("train:v1").status == SUCCEEDED  # re-trained on the target's new CLU utterances
    assert h.engine.drift_report().in_sync


def test_an_orchestration_routing_to_an_unreplicated_clu_project_is_an_error_of_its_own(regions, azurite):
    from localdev.conversation_samples import clu_project, orchestration_project

    from .test_conversation_projects import seed_conversation

    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project("CoffeeOrders"))
    seed_conversation(primary, orchestration_project("FrontDesk"))
    seed(regions.primary, azurite.connection_string("primarydocs"), ner_project())
    h = harness(regions, azurite, project="FrontDesk,LoanAgreements")
    starts = h.engine.start_runs()
    assert [(s.project, s.status) for s in starts] == [("FrontDesk", "error"), ("LoanAgreements", "started")]
    assert starts[0].plan["error"] == (
        "'FrontDesk' cannot be replicated: it routes to CLU project 'CoffeeOrders', which is not replicated "
        "(add it to REPLICATED_PROJECTS, or replicate `*`)")


def test_dependencies_that_cannot_be_read_make_each_start_an_error_to_retry_not_a_crash(regions, azurite):
    seed(regions.primary, azurite.connection_string("primarydocs"), ner_project())
    h = harness(regions, azurite, project="LoanAgreements")
    # Listing the primary's projects is throttled for longer than a call may sleep.
    control(regions.primary, "/_emulator/faults/throttle",
            {"method": "GET", "path": "/projects$", "count": 1, "retryAfterSeconds": 120})
    [start] = h.engine.start_runs()
    assert (start.status, start.retry_after) == ("error", 120.0), start
    assert h.engine.list_runs("LoanAgreements") == []
    [start] = h.engine.start_runs()  # the throttling is over
    assert start.status == "started", start

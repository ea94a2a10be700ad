"""An orchestration's targets read from its export (the shape of analyzeconversations-authoring.json,
2023-04-01, `OrchestrationExportedIntent`), and the routing cache that spares the daily check exports."""

from __future__ import annotations

import pytest

from localdev.conversation_samples import orchestration_project
from shared.replication.orchestration import (
    Routing,
    RoutingError,
    RoutingReader,
    RoutingTarget,
    TargetKind,
    connected_projects,
    not_replicated_notes,
    routing_targets,
)


def luis_intent(category: str = "Legacy") -> dict:
    return {"category": category, "orchestration": {
        "targetProjectKind": "Luis",
        "luisOrchestration": {"appId": "0f2c2e67-0000-4000-8000-000000000000", "appVersion": "0.1",
                              "slotName": "production"}}}


def test_the_sample_orchestration_routes_to_a_clu_project_and_a_question_answering_project():
    targets = routing_targets(orchestration_project("FrontDesk", clu_project_name="CoffeeOrders",
                                                    clu_deployment="production", faq_project_name="StoreFaq"))
    assert targets == (RoutingTarget("Coffee", TargetKind.CONVERSATION, "CoffeeOrders", "production"),
                       RoutingTarget("Faq", TargetKind.QUESTION_ANSWERING, "StoreFaq"))
    assert connected_projects(targets) == ("CoffeeOrders",)


def test_question_answering_and_luis_targets_are_reported_as_not_replicated_and_are_no_dependency():
    exported = orchestration_project()
    exported["assets"]["intents"].append(luis_intent())
    targets = routing_targets(exported)
    notes = not_replicated_notes(targets)
    assert len(notes) == 2
    assert notes[0].startswith("intent 'Faq' routes to custom question answering project 'StoreFaq'")
    assert notes[1].startswith("intent 'Legacy' routes to LUIS app '0f2c2e67-")
    assert all("not replicated by this tool" in note for note in notes)
    assert connected_projects(targets) == ("CoffeeOrders",)


def test_two_intents_routing_to_one_clu_project_make_one_dependency():
    exported = orchestration_project()
    second = {"category": "Coffee2", "orchestration": {
        "targetProjectKind": "Conversation",
        "conversationOrchestration": {"projectName": "CoffeeOrders", "deploymentName": "staging"}}}
    exported["assets"]["intents"].append(second)
    assert connected_projects(routing_targets(exported)) == ("CoffeeOrders",)


@pytest.mark.parametrize("orchestration, message", [
    ({"targetProjectKind": "Bot"}, "unknown target kind 'Bot'"),
    ({"targetProjectKind": "Conversation", "conversationOrchestration": {"deploymentName": "d"}},
     "CLU project without a projectName"),
])
def test_an_unreadable_target_is_an_error_naming_the_intent(orchestration, message):
    exported = {"assets": {"intents": [{"category": "Odd", "orchestration": orchestration}]}}
    with pytest.raises(RoutingError, match="intent 'Odd'") as raised:
        routing_targets(exported)
    assert message in raised.value.message


def test_a_project_without_assets_routes_nowhere():
    assert routing_targets({"metadata": {}}) == ()


def test_routing_round_trips_through_json():
    routing = Routing("FrontDesk", "2026-01-01T00:00:00Z", routing_targets(orchestration_project()))
    assert Routing.from_json(routing.to_json()) == routing
    assert routing.connected == ("CoffeeOrders",) and len(routing.notes) == 1


def test_the_reader_exports_only_orchestrations():
    exported: list[str] = []
    reader = RoutingReader(lambda name: exported.append(name) or orchestration_project(name))
    assert reader.routing({"projectName": "CoffeeOrders", "projectKind": "Conversation"}) is None
    assert reader.routing({"projectName": "Loans", "projectKind": "CustomEntityRecognition"}) is None
    routing = reader.routing({"projectName": "FrontDesk", "projectKind": "Orchestration",
                              "lastModifiedDateTime": "2026-01-01T00:00:00Z"})
    assert routing is not None and routing.connected == ("CoffeeOrders",)
    assert exported == ["FrontDesk"] and reader.exports == 1

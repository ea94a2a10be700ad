"""After the replicator has copied a CLU project and an orchestration, Microsoft's conversations client,
unchanged, gets the same answers from either region: what a caller who fails over actually sees."""

from __future__ import annotations

from typing import Any

from azure.ai.language.conversations import ConversationAnalysisClient
from azure.core.credentials import AzureKeyCredential

from localdev.conversation_samples import clu_project, orchestration_project
from shared.runs.manifest import SUCCEEDED

from .support import authoring, harness
from .test_conversation_projects import seed_conversation

CLU = "CoffeeOrders"
ORCHESTRATION = "FrontDesk"
UTTERANCES = ["two large latte please", "cancel my order ORD-12345", "when do you open on sunday",
              "do you have wifi", "tell me a joke"]


def answers(region: Any, project: str) -> list[dict[str, Any]]:
    """The SDK's whole prediction per utterance (the query echo aside, every field must match)."""
    with ConversationAnalysisClient(region.endpoint, AzureKeyCredential(region.key)) as client:
        results = []
        for index, text in enumerate(UTTERANCES):
            answer = client.analyze_conversation({
                "kind": "Conversation",
                "analysisInput": {"conversationItem": {"id": str(index), "participantId": "caller",
                                                       "text": text, "language": "en-us"}},
                "parameters": {"projectName": project, "deploymentName": "production"},
            })
            assert answer["kind"] == "ConversationResult"
            results.append(answer["result"]["prediction"])
        return results


def test_the_sdk_gets_the_same_answers_from_both_regions_after_a_replication(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU))
    seed_conversation(primary, orchestration_project(ORCHESTRATION))
    h = harness(regions, azurite, project=f"{ORCHESTRATION},{CLU}")
    h.engine.start_runs()
    h.run()
    assert [run.status for name in (CLU, ORCHESTRATION) for run in h.engine.list_runs(name)] == [
        SUCCEEDED, SUCCEEDED]

    clu = answers(regions.secondary, CLU)
    assert clu == answers(regions.primary, CLU)
    assert clu[0]["topIntent"] == "OrderDrink" and clu[0]["entities"], clu[0]

    routed = answers(regions.secondary, ORCHESTRATION)
    assert routed == answers(regions.primary, ORCHESTRATION)
    # Orchestration routing: the routed-to CLU project's own answer travels inside the orchestration's.
    targets = {name: intent["targetProjectKind"] for answer in routed
               for name, intent in answer["intents"].items()}
    assert "Conversation" in targets.values()
    first = routed[0]
    routed_to = first["intents"][first["topIntent"]]
    assert routed_to["targetProjectKind"] == "Conversation"
    assert routed_to["result"]["prediction"]["topIntent"] == "OrderDrink"

"""The conversation APIs in real `python -m emulator` processes (the session's two regions)."""

from __future__ import annotations

from azure.ai.language.conversations import ConversationAnalysisClient
from azure.ai.language.conversations.authoring import ConversationAuthoringClient
from azure.core.credentials import AzureKeyCredential

from localdev.conversation_samples import clu_project
from tests.conftest import Regions

POLL = 0.02


def test_a_region_process_serves_conversation_projects_and_reset_empties_them(regions: Regions) -> None:
    primary, secondary = regions.primary, regions.secondary
    client = ConversationAuthoringClient(primary.endpoint, AzureKeyCredential(primary.key))
    client.begin_import_project("CoffeeOrders", clu_project(), polling_interval=POLL).result()
    client.begin_train(
        "CoffeeOrders", {"modelLabel": "m1", "trainingMode": "standard"}, polling_interval=POLL
    ).result()
    client.begin_deploy_project(
        "CoffeeOrders", "production", {"trainedModelLabel": "m1"}, polling_interval=POLL
    ).result()
    answer = ConversationAnalysisClient(
        primary.endpoint, AzureKeyCredential(primary.key)
    ).analyze_conversation(
        {
            "kind": "Conversation",
            "analysisInput": {
                "conversationItem": {"id": "1", "participantId": "1", "text": "one small latte"}
            },
            "parameters": {"projectName": "CoffeeOrders", "deploymentName": "production"},
        }
    )
    assert answer["result"]["prediction"]["topIntent"] == "OrderDrink"
    other = ConversationAuthoringClient(secondary.endpoint, AzureKeyCredential(secondary.key))
    assert list(other.list_projects()) == []  # each region is its own resource
    primary.reset()
    assert list(client.list_projects()) == []

"""Microsoft's `azure-ai-language-conversations` 1.1.x, unchanged, against two emulated regions.

Region A is authored with `ConversationAuthoringClient` (import, train, deploy a CLU project and
an orchestration that routes to it); region B gets a replica the way the product makes one
(export from A, import into B, train with A's training mode and evaluation options, deploy).
`ConversationAnalysisClient` then gets identical answers from both regions, orchestration
routing included. Servers run on 127.0.0.1 with the wall clock and a tiny time scale; every
poller is given a short polling interval.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.language.conversations import ConversationAnalysisClient
from azure.ai.language.conversations.authoring import ConversationAuthoringClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.config import EmulatorConfig
from localdev.conversation_samples import clu_project, orchestration_project
from tests.emulator.conversations.conftest import KEY, UNUSED_STORAGE

POLL = 0.02
QUERIES = (
    "can I get two large latte for pickup at 5pm",
    "please cancel ORD-10137",
    "what are your opening hours today",
    "one venti capp ☕",
)


@pytest.fixture(scope="module")
def regions() -> Iterator[tuple[str, str]]:
    servers = []
    for _ in range(2):
        app = create_app(EmulatorConfig(key=KEY, storage_connection_string=UNUSED_STORAGE, time_scale=0.0005))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield tuple(f"http://127.0.0.1:{s.server_port}" for s in servers)  # type: ignore[misc]
    finally:
        for server in servers:
            server.shutdown()


def authoring(endpoint: str) -> ConversationAuthoringClient:
    return ConversationAuthoringClient(endpoint, AzureKeyCredential(KEY))


def analysis(endpoint: str) -> ConversationAnalysisClient:
    return ConversationAnalysisClient(endpoint, AzureKeyCredential(KEY))


def author(client: ConversationAuthoringClient, exported: dict[str, Any], training: dict[str, Any]) -> None:
    name = exported["metadata"]["projectName"]
    client.begin_import_project(
        name, exported, exported_project_format="Conversation", polling_interval=POLL
    ).result()
    job = client.begin_train(name, {"modelLabel": "m1", **training}, polling_interval=POLL).result()
    assert job["status"] == "succeeded", job
    deployed = client.begin_deploy_project(
        name, "production", {"trainedModelLabel": "m1"}, polling_interval=POLL
    ).result()
    # A PUT's poller ends on the resource itself: the deployment.
    assert deployed["deploymentName"] == "production", deployed


def replicate(source: ConversationAuthoringClient, target: ConversationAuthoringClient, name: str) -> None:
    """What the product does for one project: export, import, train with the primary's options, deploy."""
    job = source.begin_export_project(
        name, string_index_type="Utf16CodeUnit", exported_project_format="Conversation", polling_interval=POLL
    ).result()
    exported = source.send_request(HttpRequest("GET", job["resultUrl"])).json()
    (training,) = list(source.list_training_jobs(name))
    summary = source.get_model_evaluation_summary(name, "m1")
    options = {
        "trainingMode": training["result"]["trainingMode"],
        "trainingConfigVersion": training["result"]["trainingConfigVersion"],
        "evaluationOptions": summary["evaluationOptions"],
    }
    author(target, exported, options)


def ask(client: ConversationAnalysisClient, project: str, text: str) -> dict[str, Any]:
    task = {
        "kind": "Conversation",
        "analysisInput": {"conversationItem": {"id": "1", "participantId": "caller", "text": text}},
        "parameters": {
            "projectName": project,
            "deploymentName": "production",
            "stringIndexType": "UnicodeCodePoint",
        },
    }
    answer: dict[str, Any] = client.analyze_conversation(task)
    return answer


def test_the_sdk_gets_identical_answers_from_both_regions_after_a_replication(
    regions: tuple[str, str],
) -> None:
    primary, secondary = regions
    author(authoring(primary), clu_project(), {"trainingMode": "advanced"})
    author(
        authoring(primary),
        orchestration_project(),
        {"trainingMode": "standard", "evaluationOptions": {"kind": "manual"}},
    )
    # Dependency order: the orchestration trains on its connected CLU project's utterances.
    replicate(authoring(primary), authoring(secondary), "CoffeeOrders")
    replicate(authoring(primary), authoring(secondary), "FrontDesk")

    assert [j["result"]["trainingMode"] for j in authoring(secondary).list_training_jobs("CoffeeOrders")] == [
        "advanced"
    ]
    for text in QUERIES:
        for project in ("CoffeeOrders", "FrontDesk"):
            first, second = ask(analysis(primary), project, text), ask(analysis(secondary), project, text)
            assert first == second, (project, text)
    routed = ask(analysis(secondary), "FrontDesk", QUERIES[0])["result"]["prediction"]
    assert routed["projectKind"] == "Orchestration" and routed["topIntent"] == "Coffee"
    clu = routed["intents"]["Coffee"]["result"]["prediction"]
    assert clu["topIntent"] == "OrderDrink"
    assert {e["category"] for e in clu["entities"]} >= {"Quantity", "Size", "Drink", "PickupTime"}


def test_the_sdk_sees_the_service_errors(regions: tuple[str, str]) -> None:
    primary, _ = regions
    with pytest.raises(ResourceNotFoundError):
        ask(analysis(primary), "NoSuchProject", "hello")
    with pytest.raises(HttpResponseError) as raised:
        authoring(primary).begin_train("CoffeeOrders", {"modelLabel": "m2"}, polling_interval=POLL)
    assert raised.value.status_code == 400
    created = authoring(primary).create_project(
        "Scratch", {"projectName": "Scratch", "projectKind": "Conversation", "language": "en"}
    )
    assert created["projectKind"] == "Conversation" and "storageInputContainerName" not in created
    assert "Scratch" in [p["projectName"] for p in authoring(primary).list_projects()]

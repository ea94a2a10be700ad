"""FailoverConversationAnalysisClient against two emulated regions: real processes, real faults.

Both regions are authored directly with Microsoft's `ConversationAuthoringClient` (the same CLU
project and an orchestration routing to it, trained on the same datasets), so these tests do not
depend on the replicator's conversation pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.ai.language.conversations import ConversationAnalysisClient
from azure.ai.language.conversations.authoring import ConversationAuthoringClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from language_failover import (
    BreakerPolicy,
    CircuitState,
    FailoverConversationAnalysisClient,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
    Verdict,
)
from localdev.conversation_samples import clu_project, orchestration_project
from localdev.services import REPO_ROOT, EmulatorRegion
from tests.conftest import Regions

POLL = 0.02
THRESHOLD = 3
DEPLOYMENT = "production"
CLU, ORCHESTRATION = "CoffeeOrders", "FrontDesk"
RUNTIME = "/language/:analyze-conversations"
HOW_TO = REPO_ROOT / "docs" / "how-to" / "failover-for-callers.md"
ORDER = "can I get two large latte for pickup at 5pm"


def author(region: EmulatorRegion, *, orchestration: bool = False) -> None:
    """The CLU project (and the orchestration routing to it) imported, trained and deployed in `region`."""
    client = ConversationAuthoringClient(region.endpoint, AzureKeyCredential(region.key))
    # The orchestration trains on its connected CLU project's utterances: the CLU project comes first.
    for exported in [clu_project(), *([orchestration_project()] if orchestration else [])]:
        name = exported["metadata"]["projectName"]
        client.begin_import_project(name, exported, exported_project_format="Conversation",
                                    polling_interval=POLL).result()
        # Manual evaluation: both regions train on the export's own Train set, so their models agree.
        trained = client.begin_train(
            name, {"modelLabel": "m1", "trainingMode": "standard", "evaluationOptions": {"kind": "manual"}},
            polling_interval=POLL,
        ).result()
        assert trained["status"] == "succeeded", trained
        client.begin_deploy_project(name, DEPLOYMENT, {"trainedModelLabel": "m1"},
                                    polling_interval=POLL).result()


def author_both(regions: Regions, *, orchestration: bool = False) -> None:
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(author, region, orchestration=orchestration) for region in regions.all()]:
            future.result()


def task(text: str, project: str = CLU) -> dict[str, Any]:
    return {
        "kind": "Conversation",
        "analysisInput": {"conversationItem": {"id": "1", "participantId": "caller", "text": text}},
        "parameters": {"projectName": project, "deploymentName": DEPLOYMENT,
                       "stringIndexType": "UnicodeCodePoint"},
    }


def sdk(region: EmulatorRegion) -> ConversationAnalysisClient:
    return ConversationAnalysisClient(region.endpoint, AzureKeyCredential(region.key))


def endpoint_of(region: EmulatorRegion) -> RegionEndpoint:
    return RegionEndpoint(region.region, region.endpoint, AzureKeyCredential(region.key))


def make_client(regions: Regions, changes: list[RegionStateChange] | None = None
                ) -> FailoverConversationAnalysisClient:
    return FailoverConversationAnalysisClient(
        endpoint_of(regions.primary),
        [endpoint_of(regions.secondary)],
        breaker_policy=BreakerPolicy(consecutive_failures=THRESHOLD, cooldown_seconds=300),
        client_policy=RegionClientPolicy(retries=0, read_timeout=5),
        on_state_change=changes.append if changes is not None else None,
    )


def fault(region: EmulatorRegion, status: int, count: int) -> None:
    """The next `count` analyze-conversations requests to `region` answer `status`."""
    body = {"method": "POST", "path": RUNTIME, "status": status, "count": count}
    region.control("/_emulator/faults/errors", json.dumps(body).encode())


def top_intent(answer: Any) -> str:
    return str(answer["result"]["prediction"]["topIntent"])


def entities(answer: Any) -> list[tuple[str, str]]:
    return sorted((e["category"], e["text"]) for e in answer["result"]["prediction"]["entities"])


def test_primary_faulted_answers_come_from_the_secondary_with_the_same_top_intent(regions: Regions) -> None:
    author_both(regions)
    changes: list[RegionStateChange] = []
    with make_client(regions, changes) as client:
        healthy = client.analyze_conversation_with_region(task(ORDER))
        assert healthy.region == regions.primary.region
        assert healthy.result == sdk(regions.primary).analyze_conversation(task(ORDER))  # unchanged
        assert top_intent(healthy.result) == "OrderDrink"

        fault(regions.primary, 503, count=100)
        served = [client.analyze_conversation_with_region(task(ORDER)) for _ in range(THRESHOLD + 2)]
    assert {answer.region for answer in served} == {regions.secondary.region}
    for answer in served:
        assert top_intent(answer.result) == top_intent(healthy.result)
        assert entities(answer.result) == entities(healthy.result)
    # The primary was asked until its breaker opened, then skipped.
    asked_primary = [a for answer in served for a in answer.attempts if a.region == regions.primary.region]
    assert [a.outcome for a in asked_primary] == [Verdict.REGION_FAILURE.value] * THRESHOLD
    assert "503" in asked_primary[0].reason
    assert [(c.region, c.current) for c in changes] == [(regions.primary.region, CircuitState.OPEN)]


def test_a_burst_shorter_than_the_threshold_does_not_open_the_breaker(regions: Regions) -> None:
    author_both(regions)
    changes: list[RegionStateChange] = []
    with make_client(regions, changes) as client:
        for _ in range(2):
            fault(regions.primary, 500, count=THRESHOLD - 1)
            burst = [client.analyze_conversation_with_region(task(ORDER)) for _ in range(THRESHOLD - 1)]
            assert [answer.region for answer in burst] == [regions.secondary.region] * (THRESHOLD - 1)
            assert client.analyze_conversation_with_region(task(ORDER)).region == regions.primary.region
    assert changes == []
    assert client.region_states()[regions.primary.region] is CircuitState.CLOSED


def test_a_killed_primary_fails_over_without_errors(regions: Regions) -> None:
    author_both(regions)
    with make_client(regions) as client:
        expected = client.analyze_conversation(task(ORDER))
        regions.primary.kill()
        for _ in range(THRESHOLD + 1):
            answer = client.analyze_conversation_with_region(task(ORDER))
            assert answer.region == regions.secondary.region
            assert top_intent(answer.result) == top_intent(expected)
        assert client.region_states()[regions.primary.region] is CircuitState.OPEN


def test_the_callers_4xx_is_raised_and_not_failed_over(
    regions: Regions, caplog: pytest.LogCaptureFixture
) -> None:
    author_both(regions)
    changes: list[RegionStateChange] = []
    with make_client(regions, changes) as client, caplog.at_level(logging.WARNING, "language_failover"):
        for _ in range(THRESHOLD + 1):
            with pytest.raises(ResourceNotFoundError):
                client.analyze_conversation(task(ORDER, project="NoSuchProject"))
        missing_text = task(ORDER)
        del missing_text["analysisInput"]["conversationItem"]["text"]
        with pytest.raises(HttpResponseError) as raised:
            client.analyze_conversation(missing_text)
        assert raised.value.status_code == 400
        fault(regions.primary, 400, count=1)
        with pytest.raises(HttpResponseError) as raised:
            client.analyze_conversation(task(ORDER))
        assert raised.value.status_code == 400
        assert client.analyze_conversation_with_region(task(ORDER)).region == regions.primary.region
    assert changes == []
    assert not [record for record in caplog.records if "next region" in record.getMessage()]


def test_orchestration_routing_passes_through_unchanged_from_either_region(regions: Regions) -> None:
    author_both(regions, orchestration=True)
    expected = sdk(regions.secondary).analyze_conversation(task(ORDER, project=ORCHESTRATION))
    with make_client(regions) as client:
        healthy = client.analyze_conversation_with_region(task(ORDER, project=ORCHESTRATION))
        fault(regions.primary, 503, count=1)
        failed_over = client.analyze_conversation_with_region(task(ORDER, project=ORCHESTRATION))
    assert healthy.region == regions.primary.region
    assert failed_over.region == regions.secondary.region
    assert healthy.result == failed_over.result == expected
    routed = failed_over.result["result"]["prediction"]
    assert routed["projectKind"] == "Orchestration" and routed["topIntent"] == "Coffee"
    assert top_intent(routed["intents"]["Coffee"]) == "OrderDrink"


def test_the_how_to_snippet_runs_against_two_regions(regions: Regions) -> None:
    page = HOW_TO.read_text(encoding="utf-8")
    found = re.search(r"<!-- conversations-snippet -->\n```python\n(.*?)```\n<!-- /conversations-snippet -->",
                      page, re.DOTALL)
    assert found, "the how-to's conversations snippet is not between its markers"
    author_both(regions)
    environment = {name: value for name, value in os.environ.items() if not name.startswith(
        ("PRIMARY_", "SECONDARY", "ROUTING_"))} | {
        "PYTHONPATH": str(REPO_ROOT / "failover_client"),
        "PRIMARY_LANGUAGE_ENDPOINT": regions.primary.endpoint,
        "PRIMARY_LANGUAGE_KEY": regions.primary.key,
        "SECONDARY_LANGUAGE_ENDPOINT": regions.secondary.endpoint,
        "SECONDARY_LANGUAGE_KEY": regions.secondary.key,
    }
    result = subprocess.run([sys.executable, "-c", found.group(1)], env=environment, capture_output=True,
                            text=True, timeout=60, check=True)
    intent, answered = result.stdout.splitlines()
    assert intent.startswith("OrderDrink [") and "'Size'" in intent
    assert answered == "answered by primary"

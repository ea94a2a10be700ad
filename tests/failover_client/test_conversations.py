"""FailoverConversationAnalysisClient without a service: signatures, settings, and the breaker wiring.

The wiring tests give each region a scripted stand-in for the SDK client (the class attribute the
failover clients build their regions from), so every outcome of `analyze_conversation` is chosen
exactly; against real emulated regions the same paths run in test_conversations_emulated.py.
"""

from __future__ import annotations

import inspect
import io
import json
import subprocess
import sys
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

import pytest
from azure.ai.language.conversations import ConversationAnalysisClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from language_failover import (
    BreakerPolicy,
    CircuitState,
    ConversationAnswer,
    FailoverConversationAnalysisClient,
    FailoverTextAnalyticsClient,
    NoRegionAvailableError,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
    Verdict,
)
from language_failover.region import RegionRetryPolicy
from language_failover.routing import RoutingFollower
from localdev.services import REPO_ROOT

THRESHOLD = 3
TASK = {
    "kind": "Conversation",
    "analysisInput": {"conversationItem": {"id": "1", "participantId": "user", "text": "one latte"}},
    "parameters": {"projectName": "CoffeeOrders", "deploymentName": "production"},
}


def http_error(status: int) -> HttpResponseError:
    error = ResourceNotFoundError(message=f"HTTP {status}") if status == 404 else HttpResponseError(
        message=f"HTTP {status}")
    error.status_code = status
    return error


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Outcome = Callable[[], Any]


class ScriptedSdk:
    """Stands in for one region's ConversationAnalysisClient: each call takes the next scripted outcome."""

    scripts: ClassVar[dict[str, deque[Outcome]]] = {}
    calls: ClassVar[list[tuple[str, Any, dict[str, Any]]]] = []

    def __init__(self, endpoint: str, credential: object, **kwargs: Any) -> None:
        self.endpoint = endpoint
        self.kwargs = kwargs

    def analyze_conversation(self, task: Any, **kwargs: Any) -> Any:
        ScriptedSdk.calls.append((self.endpoint, task, kwargs))
        script = ScriptedSdk.scripts.get(self.endpoint)
        outcome = script.popleft() if script else answer_from(self.endpoint)
        return outcome()

    def close(self) -> None:
        pass


def answer_from(endpoint: str) -> Outcome:
    return lambda: {"kind": "ConversationResult", "result": {"query": "one latte", "servedBy": endpoint}}


def fail(error: BaseException) -> Outcome:
    def raise_it() -> Any:
        raise error

    return raise_it


class ScriptedClient(FailoverConversationAnalysisClient):
    sdk_client_type = ScriptedSdk


PRIMARY, SECONDARY = "https://primary.example", "https://secondary.example"


@pytest.fixture
def scripted() -> Callable[..., ScriptedClient]:
    ScriptedSdk.scripts = {}
    ScriptedSdk.calls = []

    def make(changes: list[RegionStateChange] | None = None,
             clock: ManualClock | None = None) -> ScriptedClient:
        return ScriptedClient(
            RegionEndpoint("eastus", PRIMARY, AzureKeyCredential("k")),
            [RegionEndpoint("westus2", SECONDARY, AzureKeyCredential("k"))],
            breaker_policy=BreakerPolicy(consecutive_failures=THRESHOLD, cooldown_seconds=30),
            on_state_change=changes.append if changes is not None else None,
            clock=clock,
        )

    return make


def script(endpoint: str, *outcomes: Outcome) -> None:
    ScriptedSdk.scripts.setdefault(endpoint, deque()).extend(outcomes)


def served_by(answer: MutableMapping[str, Any]) -> str:
    return str(answer["result"]["servedBy"])


# -- the SDK's shape -----------------------------------------------------------------------------


def test_analyze_conversation_has_the_sdk_signature() -> None:
    ours = inspect.signature(FailoverConversationAnalysisClient.analyze_conversation).parameters
    sdk = inspect.signature(inspect.unwrap(ConversationAnalysisClient.analyze_conversation)).parameters
    assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in sdk.values()]


def test_each_region_is_the_sdk_client_with_short_timeouts_and_a_small_retry_budget() -> None:
    client = FailoverConversationAnalysisClient(
        RegionEndpoint("eastus", PRIMARY, AzureKeyCredential("k")),
        [RegionEndpoint("westus2", SECONDARY, AzureKeyCredential("k"))],
        client_policy=RegionClientPolicy(retries=1, connection_timeout=2, read_timeout=5),
        api_version="2022-05-01",
    )
    with client:
        for region in client._regions:
            assert isinstance(region.client, ConversationAnalysisClient)
            config = region.client._config
            assert config.api_version == "2022-05-01"  # constructor keywords reach the SDK client
            assert isinstance(config.retry_policy, RegionRetryPolicy)
            assert config.retry_policy.total_retries == 1
            transport = region.client._client._pipeline._transport
            assert transport.connection_config.timeout == 2
            assert transport.connection_config.read_timeout == 5
    assert repr(client).startswith("FailoverConversationAnalysisClient(")


def test_from_settings_reads_the_same_settings_as_the_text_client() -> None:
    values = {
        "PRIMARY_LANGUAGE_ENDPOINT": PRIMARY,
        "PRIMARY_LANGUAGE_KEY": "k1",
        "SECONDARY_TARGETS": "westus2,north-europe",
        "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": SECONDARY,
        "SECONDARY__WESTUS2__LANGUAGE_KEY": "k2",
        "SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT": "https://neu.example",
        "SECONDARY__NORTH_EUROPE__LANGUAGE_KEY": "k3",
        "SECONDARY__NORTH_EUROPE__REGION": "northeurope",
        "ROUTING_URL": "https://account.blob.core.windows.net/routing/promotion.json?sv=1&sig=abc",
    }
    conversations = FailoverConversationAnalysisClient.from_settings(values)
    text = FailoverTextAnalyticsClient.from_settings(values)
    assert isinstance(conversations, FailoverConversationAnalysisClient)
    assert conversations.region_names == text.region_names == ["primary", "westus2", "northeurope"]
    assert [r.endpoint for r in conversations._regions] == [r.endpoint for r in text._regions]
    assert conversations.routing is not None  # the promotion follower is built the same way
    with pytest.raises(ValueError, match="SECONDARY_LANGUAGE_ENDPOINT"):
        FailoverConversationAnalysisClient.from_settings({"PRIMARY_LANGUAGE_ENDPOINT": PRIMARY})


# -- the breaker wiring --------------------------------------------------------------------------


def test_a_healthy_primary_answers_and_the_sdk_answer_is_returned_unchanged(scripted: Any) -> None:
    client = scripted()
    assert client.analyze_conversation(TASK, headers={"x-ms-client-request-id": "1"}) == {
        "kind": "ConversationResult", "result": {"query": "one latte", "servedBy": PRIMARY}}
    (endpoint, task, kwargs), = ScriptedSdk.calls
    assert (endpoint, task, kwargs) == (PRIMARY, TASK, {"headers": {"x-ms-client-request-id": "1"}})
    answer = client.analyze_conversation_with_region(TASK)
    assert isinstance(answer, ConversationAnswer)
    assert answer.region == "eastus"
    assert [(a.region, a.outcome) for a in answer.attempts] == [("eastus", "succeeded")]


@pytest.mark.parametrize("error", [ServiceRequestError("refused"), ServiceResponseError("reset"),
                                   http_error(503), http_error(500), http_error(429), http_error(408)])
def test_a_region_failure_moves_the_request_and_counts_against_the_region(scripted: Any,
                                                                          error: BaseException) -> None:
    changes: list[RegionStateChange] = []
    client = scripted(changes)
    script(PRIMARY, fail(error))
    answer = client.analyze_conversation_with_region(TASK)
    assert served_by(answer.result) == SECONDARY
    assert [(a.region, a.outcome) for a in answer.attempts] == [
        ("eastus", Verdict.REGION_FAILURE.value), ("westus2", "succeeded")]
    assert changes == []  # one failure is not a consistent one
    assert served_by(client.analyze_conversation(TASK)) == PRIMARY


def test_the_breaker_opens_after_consistent_failures_only_and_fails_back_through_one_probe(
    scripted: Any,
) -> None:
    clock = ManualClock()
    changes: list[RegionStateChange] = []
    client = scripted(changes, clock)
    # Failures interrupted by a success never add up to the threshold.
    for _ in range(2):
        script(PRIMARY, *[fail(http_error(503))] * (THRESHOLD - 1))
        for _ in range(THRESHOLD - 1):
            assert served_by(client.analyze_conversation(TASK)) == SECONDARY
        assert served_by(client.analyze_conversation(TASK)) == PRIMARY
    assert changes == []
    # THRESHOLD failures in a row open the primary: it is not asked again until the cool-down ends.
    script(PRIMARY, *[fail(http_error(503))] * THRESHOLD)
    for _ in range(THRESHOLD):
        assert served_by(client.analyze_conversation(TASK)) == SECONDARY
    assert client.region_states()["eastus"] is CircuitState.OPEN
    asked = len(ScriptedSdk.calls)
    assert served_by(client.analyze_conversation(TASK)) == SECONDARY
    assert [endpoint for endpoint, _, _ in ScriptedSdk.calls[asked:]] == [SECONDARY]
    clock.now += 30
    assert served_by(client.analyze_conversation(TASK)) == PRIMARY  # the probe succeeded
    assert [(c.region, c.current) for c in changes] == [
        ("eastus", CircuitState.OPEN), ("eastus", CircuitState.HALF_OPEN), ("eastus", CircuitState.CLOSED)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_the_callers_4xx_from_the_primary_is_raised_not_failed_over(scripted: Any, status: int) -> None:
    changes: list[RegionStateChange] = []
    client = scripted(changes)
    for _ in range(THRESHOLD + 1):
        script(PRIMARY, fail(http_error(status)))
        with pytest.raises(HttpResponseError) as raised:
            client.analyze_conversation(TASK)
        assert raised.value.status_code == status
    assert {endpoint for endpoint, _, _ in ScriptedSdk.calls} == {PRIMARY}
    assert changes == [] and client.region_states()["eastus"] is CircuitState.CLOSED


def test_a_secondary_without_the_project_is_marked_unusable(scripted: Any) -> None:
    changes: list[RegionStateChange] = []
    client = scripted(changes)
    script(PRIMARY, fail(http_error(503)))
    script(SECONDARY, fail(http_error(404)))
    with pytest.raises(NoRegionAvailableError) as raised:
        client.analyze_conversation(TASK)
    assert "eastus: HttpResponseError 503" in str(raised.value)
    assert "westus2: ResourceNotFoundError 404" in str(raised.value)
    assert client.region_states()["westus2"] is CircuitState.UNUSABLE
    assert [(c.region, c.current) for c in changes] == [("westus2", CircuitState.UNUSABLE)]


def test_a_promotion_record_sends_requests_to_the_acting_primary_first() -> None:
    ScriptedSdk.scripts = {}
    ScriptedSdk.calls = []
    record: list[bytes | None] = [json.dumps({"actingPrimary": {"endpoint": SECONDARY + "/"}}).encode()]
    client = ScriptedClient(
        RegionEndpoint("eastus", PRIMARY, AzureKeyCredential("k")),
        [RegionEndpoint("westus2", SECONDARY, AzureKeyCredential("k"))],
        routing=RoutingFollower(lambda: record[0], ttl=0),
    )
    answer = client.analyze_conversation_with_region(TASK)
    assert (answer.region, [a.region for a in answer.attempts]) == ("westus2", ["westus2"])
    record[0] = None  # failback deleted the record: the configured order again
    assert client.analyze_conversation_with_region(TASK).region == "eastus"


def test_a_streamed_task_is_read_once_and_sent_to_each_region_whole(scripted: Any) -> None:
    client = scripted()
    script(PRIMARY, fail(ServiceRequestError("refused")))
    body = b'{"kind": "Conversation"}'
    assert served_by(client.analyze_conversation(io.BytesIO(body))) == SECONDARY
    assert [task for _, task, _ in ScriptedSdk.calls] == [body, body]


# -- the optional extra --------------------------------------------------------------------------


def test_without_the_extra_the_package_works_and_the_conversations_client_says_how_to_get_it() -> None:
    # The SDK made unimportable, as in an environment installed without `[conversations]`.
    code = (
        "import sys\n"
        "sys.modules['azure.ai.language.conversations'] = None\n"
        "import language_failover\n"
        "from language_failover import FailoverTextAnalyticsClient\n"
        "try:\n"
        "    language_failover.FailoverConversationAnalysisClient\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT / "failover_client", check=True,
                            capture_output=True, text=True, timeout=60)
    assert 'pip install "language-dr-failover[conversations]"' in result.stdout


def test_a_2x_conversations_sdk_is_refused_with_the_supported_range() -> None:
    code = (
        "import azure.ai.language.conversations as sdk\n"
        "sdk.__version__ = '2.0.0b1'\n"
        "try:\n"
        "    import language_failover.conversations\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT / "failover_client", check=True,
                            capture_output=True, text=True, timeout=60)
    assert "azure-ai-language-conversations>=1.1,<2" in result.stdout
    assert "found azure-ai-language-conversations 2.0.0b1" in result.stdout

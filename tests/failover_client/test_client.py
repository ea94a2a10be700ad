"""FailoverTextAnalyticsClient without a service: construction, settings, signatures, tokens, dead regions."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest
from azure.ai.textanalytics import TextAnalyticsClient
from azure.core.credentials import AccessToken, AzureKeyCredential

from language_failover import (
    BreakerPolicy,
    CircuitState,
    FailoverTextAnalyticsClient,
    NoRegionAvailableError,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
)
from language_failover.poller import decode_continuation_token, encode_continuation_token
from language_failover.region import RegionRetryPolicy
from localdev.services import free_port

METHODS = ("begin_recognize_custom_entities", "begin_single_label_classify", "begin_multi_label_classify")


class StaticTokenCredential:
    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("token", 4_102_444_800)


def dead_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


def policy_names(client: FailoverTextAnalyticsClient, region: int) -> list[str]:
    pipeline = client._regions[region].client._client._client._pipeline
    return [type(policy).__name__ for policy in pipeline._impl_policies]


def make_client(*endpoints: str, **kwargs: object) -> FailoverTextAnalyticsClient:
    regions = [RegionEndpoint(f"region{i}", url, AzureKeyCredential("k")) for i, url in enumerate(endpoints)]
    return FailoverTextAnalyticsClient(regions[0], regions[1:], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", METHODS)
def test_methods_have_the_sdk_signature(method: str) -> None:
    ours = inspect.signature(getattr(FailoverTextAnalyticsClient, method)).parameters
    sdk = inspect.signature(inspect.unwrap(getattr(TextAnalyticsClient, method))).parameters
    assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in sdk.values()]
    assert [p.default for p in ours.values()] == [p.default for p in sdk.values()]


def test_each_region_gets_short_timeouts_and_a_small_retry_budget() -> None:
    client = make_client("https://a.example", "https://b.example",
                         client_policy=RegionClientPolicy(retries=1, connection_timeout=2, read_timeout=5))
    for region in client._regions:
        config = region.client._client._config
        assert isinstance(config.retry_policy, RegionRetryPolicy)
        assert config.retry_policy.total_retries == 1
        assert config.retry_policy.backoff_max <= 1
        transport = region.client._client._client._pipeline._transport
        assert transport.connection_config.timeout == 2
        assert transport.connection_config.read_timeout == 5


def test_region_names_must_be_unique() -> None:
    region = RegionEndpoint("eastus", "https://a.example", AzureKeyCredential("k"))
    with pytest.raises(ValueError, match="unique"):
        FailoverTextAnalyticsClient(region, [region])


def test_endpoint_must_be_a_url() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        RegionEndpoint("eastus", "a.example", AzureKeyCredential("k"))


def test_from_settings_reads_the_replicator_settings() -> None:
    client = FailoverTextAnalyticsClient.from_settings(
        {
            "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.example",
            "PRIMARY_LANGUAGE_KEY": "k1",
            "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.example",
            "SECONDARY_LANGUAGE_KEY": "k2",
            "SECONDARY_REGION": "westus2",
        },
        breaker_policy=BreakerPolicy(consecutive_failures=7),
    )
    assert client.region_names == ["primary", "westus2"]
    assert client.breaker_policy.consecutive_failures == 7
    endpoints = [region.endpoint for region in client._regions]
    assert endpoints == ["https://primary.example", "https://secondary.example"]


def test_from_settings_uses_the_injected_credential_when_a_key_is_absent() -> None:
    credential = StaticTokenCredential()
    client = FailoverTextAnalyticsClient.from_settings(
        {"PRIMARY_LANGUAGE_ENDPOINT": "https://primary.example",
         "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.example", "SECONDARY_LANGUAGE_KEY": "k2"},
        credential=credential,
    )
    assert client.region_names == ["primary", "secondary"]
    assert "BearerTokenCredentialPolicy" in policy_names(client, 0)


def test_from_settings_names_the_missing_setting() -> None:
    with pytest.raises(ValueError, match="SECONDARY_LANGUAGE_ENDPOINT"):
        FailoverTextAnalyticsClient.from_settings({"PRIMARY_LANGUAGE_ENDPOINT": "https://primary.example"})


def test_from_settings_builds_every_listed_secondary_in_order() -> None:
    credential = StaticTokenCredential()
    client = FailoverTextAnalyticsClient.from_settings(
        {
            "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.example",
            "PRIMARY_LANGUAGE_KEY": "k1",
            "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.example",
            "SECONDARY_LANGUAGE_KEY": "k2",
            "SECONDARY_REGION": "westus2",
            "SECONDARY_TARGETS": "north-europe, centralus",
            "SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT": "https://neu.example",
            "SECONDARY__NORTH_EUROPE__LANGUAGE_KEY": "k3",
            "SECONDARY__NORTH_EUROPE__REGION": "northeurope",
            "SECONDARY__CENTRALUS__LANGUAGE_ENDPOINT": "https://cus.example",
        },
        credential=credential,
    )
    assert client.region_names == ["primary", "westus2", "northeurope", "centralus"]
    assert [region.endpoint for region in client._regions] == [
        "https://primary.example", "https://secondary.example", "https://neu.example", "https://cus.example"
    ]
    assert "BearerTokenCredentialPolicy" in policy_names(client, 3)  # no key: Entra ID
    assert "BearerTokenCredentialPolicy" not in policy_names(client, 2)


def test_from_settings_with_listed_targets_only() -> None:
    client = FailoverTextAnalyticsClient.from_settings({
        "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.example",
        "PRIMARY_LANGUAGE_KEY": "k1",
        "SECONDARY_TARGETS": "westus2,eastus2",
        "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": "https://w.example",
        "SECONDARY__WESTUS2__LANGUAGE_KEY": "k2",
        "SECONDARY__EASTUS2__LANGUAGE_ENDPOINT": "https://e.example",
        "SECONDARY__EASTUS2__LANGUAGE_KEY": "k3",
    })
    assert client.region_names == ["primary", "westus2", "eastus2"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SECONDARY_TARGETS": "westus2"}, "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT is not set"),
        ({"SECONDARY_TARGETS": "West US"}, "SECONDARY_TARGETS: holds a name that is not a valid target name"),
        ({"SECONDARY_TARGETS": "primary"}, "not a valid target name"),
    ],
)
def test_from_settings_names_the_bad_target_setting(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FailoverTextAnalyticsClient.from_settings({"PRIMARY_LANGUAGE_ENDPOINT": "https://p.example"} | values)


def test_from_settings_builds_every_target_of_the_loaded_settings_in_order() -> None:
    from shared.settings import settings_from_values

    connection = (
        "DefaultEndpointsProtocol=https;AccountName=docs;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
    values = {
        "PRIMARY_LANGUAGE_ENDPOINT": "https://contoso-eastus.cognitiveservices.azure.com",
        "PRIMARY_LANGUAGE_KEY": "k1",
        "PRIMARY_DOCUMENTS_STORAGE": connection,
        "SNAPSHOT_STORAGE": connection,
        "REPLICATED_PROJECTS": "*",
        "SECONDARY_TARGETS": "westus2,northeurope",
        "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": "https://contoso-westus2.cognitiveservices.azure.com",
        "SECONDARY__WESTUS2__LANGUAGE_KEY": "k2",
        "SECONDARY__WESTUS2__DOCUMENTS_STORAGE": connection,
        "SECONDARY__NORTHEUROPE__LANGUAGE_ENDPOINT": "https://contoso-neu.cognitiveservices.azure.com",
        "SECONDARY__NORTHEUROPE__LANGUAGE_KEY": "k3",
        "SECONDARY__NORTHEUROPE__DOCUMENTS_STORAGE": connection,
    }
    from_object = FailoverTextAnalyticsClient.from_settings(settings_from_values(values))
    from_values = FailoverTextAnalyticsClient.from_settings(values)
    assert from_object.region_names == from_values.region_names == ["primary", "westus2", "northeurope"]
    assert [r.endpoint for r in from_object._regions] == [r.endpoint for r in from_values._regions]


def test_from_settings_accepts_the_replicator_settings_object() -> None:
    @dataclass
    class Resource:
        name: str
        endpoint: str
        key: str | None
        region: str | None

    @dataclass
    class Target:
        name: str
        language: Resource

    @dataclass
    class Settings:
        primary: Resource
        targets: tuple[Target, ...]

    settings = Settings(
        Resource("primary", "https://primary.example", "k1", None),
        (Target("secondary", Resource("secondary", "https://secondary.example", "k2", "westus2")),),
    )
    client = FailoverTextAnalyticsClient.from_settings(settings)
    assert client.region_names == ["primary", "westus2"]


def test_continuation_token_round_trip_and_rejects_foreign_tokens() -> None:
    token = encode_continuation_token("westus2", METHODS[0], "sdk-token")
    assert decode_continuation_token(token) == ("westus2", METHODS[0], "sdk-token")
    with pytest.raises(ValueError, match="not a continuation token"):
        decode_continuation_token("sdk-token")
    with pytest.raises(ValueError, match="malformed"):
        decode_continuation_token("failover1.!!!")


def test_continuation_token_for_an_unknown_region_is_refused() -> None:
    client = make_client("https://a.example", "https://b.example")
    token = encode_continuation_token("elsewhere", METHODS[0], "sdk-token")
    with pytest.raises(ValueError, match="elsewhere"):
        client.begin_recognize_custom_entities(["x"], "P", "D", continuation_token=token)
    token = encode_continuation_token("region0", METHODS[1], "sdk-token")
    with pytest.raises(ValueError, match="belongs to"):
        client.begin_recognize_custom_entities(["x"], "P", "D", continuation_token=token)


def test_every_region_dead_raises_one_error_naming_each_region() -> None:
    changes: list[RegionStateChange] = []
    client = make_client(dead_endpoint(), dead_endpoint(), on_state_change=changes.append,
                         breaker_policy=BreakerPolicy(consecutive_failures=2))
    for _ in range(2):
        with pytest.raises(NoRegionAvailableError) as raised:
            client.begin_single_label_classify(["text"], "P", "D")
        assert "region0: ServiceRequestError" in str(raised.value)
        assert "region1: ServiceRequestError" in str(raised.value)
    assert client.region_states() == {"region0": CircuitState.OPEN, "region1": CircuitState.OPEN}
    opened = {(c.region, c.current) for c in changes}
    assert opened == {("region0", CircuitState.OPEN), ("region1", CircuitState.OPEN)}
    # Both out of rotation: they are still asked (last resort) rather than failing unasked.
    with pytest.raises(NoRegionAvailableError) as raised:
        client.begin_single_label_classify(["text"], "P", "D")
    assert len(raised.value.errors) == 2


def test_from_settings_accepts_the_replicators_loaded_settings() -> None:
    from shared.settings import settings_from_values

    connection = (
        "DefaultEndpointsProtocol=https;AccountName=docs;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
    settings = settings_from_values(
        {
            "PRIMARY_LANGUAGE_ENDPOINT": "https://contoso-eastus.cognitiveservices.azure.com",
            "PRIMARY_LANGUAGE_KEY": "k1",
            "SECONDARY_LANGUAGE_ENDPOINT": "https://contoso-westus2.cognitiveservices.azure.com",
            "SECONDARY_REGION": "westus2",
            "PRIMARY_DOCUMENTS_STORAGE": connection,
            "SECONDARY_DOCUMENTS_STORAGE": connection,
            "SNAPSHOT_STORAGE": connection,
            "REPLICATED_PROJECTS": "*",
            "DRIFT_SCHEDULE": "0 0 3 * * *",
        }
    )
    client = FailoverTextAnalyticsClient.from_settings(settings, credential=StaticTokenCredential())
    assert client.region_names == ["primary", "westus2"]
    assert [region.endpoint for region in client._regions] == [
        "https://contoso-eastus.cognitiveservices.azure.com",
        "https://contoso-westus2.cognitiveservices.azure.com",
    ]
    assert "BearerTokenCredentialPolicy" in policy_names(client, 1)  # no SECONDARY_LANGUAGE_KEY: Entra ID

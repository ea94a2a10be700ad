"""A secondary reached with a Microsoft Entra ID token (over TLS, as bearer tokens require)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from azure.core.credentials import AzureKeyCredential

from emulator.tokens import EmulatorTokenCredential
from language_failover import (
    CircuitState,
    FailoverTextAnalyticsClient,
    NoRegionAvailableError,
    RegionClientPolicy,
    RegionEndpoint,
)
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import ner_project
from localdev.services import Azurite, EmulatorRegion
from tests.conftest import Regions

PROJECT = ner_project(documents=12)
TEXTS = list(PROJECT.documents.values())[:2]
SCOPE = "https://cognitiveservices.azure.com/.default"
WRONG_SECRET = "a-secret-the-emulator-does-not-know-of-32-bytes-or-more"


class TlsRegion:
    def __init__(self, region: EmulatorRegion, ca_bundle: Path) -> None:
        self.region = region
        self.ca_bundle = ca_bundle

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.region.port}"


@pytest.fixture(scope="module")
def tls_secondary(azurite_session: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRegion]:
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_bundle = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca_bundle))
    region = EmulatorRegion(
        azurite_session.connection_string("secondarydocs"), region="westus3", time_scale=0.001,
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
    )
    region.start()
    try:
        yield TlsRegion(region, ca_bundle)
    finally:
        region.stop()


def deploy_to(secondary: TlsRegion, azurite: Azurite) -> None:
    secondary.region.reset()
    storage = azurite.connection_string("secondarydocs")
    deploy_sample_project(secondary.endpoint, secondary.region.key, storage, PROJECT,
                          verify=str(secondary.ca_bundle))


def test_failover_to_a_secondary_authenticated_with_entra_id(
    regions: Regions, azurite: Azurite, tls_secondary: TlsRegion
) -> None:
    deploy_to(tls_secondary, azurite)
    primary = regions.primary
    deploy_sample_project(primary.endpoint, primary.key, azurite.connection_string("primarydocs"), PROJECT)
    credential = EmulatorTokenCredential("Reader")
    client = FailoverTextAnalyticsClient(
        RegionEndpoint("eastus", regions.primary.endpoint, AzureKeyCredential(regions.primary.key)),
        [RegionEndpoint("westus3", tls_secondary.endpoint, credential)],
        client_policy=RegionClientPolicy(retries=0, polling_interval=0.02),
        connection_verify=str(tls_secondary.ca_bundle),
    )
    with client:
        regions.primary.kill()
        poller = client.begin_recognize_custom_entities(TEXTS, PROJECT.name, "prod")
        results = list(poller.result())
    assert poller.region == "westus3"
    assert any(document.entities for document in results)
    assert credential.scopes_requested and set(credential.scopes_requested) == {(SCOPE,)}


def test_a_secondary_rejecting_the_token_is_unusable(
    regions: Regions, azurite: Azurite, tls_secondary: TlsRegion, caplog: pytest.LogCaptureFixture
) -> None:
    deploy_to(tls_secondary, azurite)
    client = FailoverTextAnalyticsClient(
        RegionEndpoint("eastus", regions.primary.endpoint, AzureKeyCredential(regions.primary.key)),
        [RegionEndpoint("westus3", tls_secondary.endpoint, EmulatorTokenCredential(secret=WRONG_SECRET))],
        client_policy=RegionClientPolicy(retries=0, polling_interval=0.02),
        connection_verify=str(tls_secondary.ca_bundle),
    )
    with client, caplog.at_level(logging.ERROR, "language_failover"):
        regions.primary.kill()
        with pytest.raises(NoRegionAvailableError, match="westus3: ClientAuthenticationError 401"):
            client.begin_recognize_custom_entities(TEXTS, PROJECT.name, "prod")
        assert client.region_states()["westus3"] is CircuitState.UNUSABLE
    assert any("UNUSABLE" in record.getMessage() for record in caplog.records)

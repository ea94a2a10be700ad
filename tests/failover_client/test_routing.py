"""The client follows a promotion: the acting primary first until failback, the configured order when the
record cannot be read. The record is the one the replicator's `promote` writes, read from Azurite."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from language_failover import FailoverTextAnalyticsClient
from language_failover.routing import RoutingFollower, blob_reader, follower_from_values
from localdev.services import Azurite
from tests.conftest import Regions
from tests.failover_client.test_emulated import DEPLOYMENT, NER, NER_TEXTS, both, seed

RECORD = {"actingPrimary": {"target": "secondary", "endpoint": "https://West.example.com/"},
          "projects": "*", "state": "promoted"}


class Reads:
    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.count = 0

    def __call__(self) -> bytes | None:
        self.count += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]


def test_the_record_is_cached_for_its_ttl_and_read_again_after() -> None:
    now = [0.0]
    reads = Reads(json.dumps(RECORD).encode(), None)
    follower = RoutingFollower(reads, ttl=60, clock=lambda: now[0])

    assert follower.preferred_endpoint() == "https://west.example.com"
    now[0] = 59.0
    assert follower.preferred_endpoint() == "https://west.example.com" and reads.count == 1
    now[0] = 61.0
    assert follower.preferred_endpoint() is None and reads.count == 2  # failed back: configured order


def test_an_unreadable_record_keeps_the_configured_order_and_is_logged_once(caplog) -> None:
    now = [0.0]
    follower = RoutingFollower(Reads(PermissionError("403"), b"not json", json.dumps(RECORD).encode()),
                               ttl=0, clock=lambda: now[0])

    with caplog.at_level(logging.WARNING, logger="language_failover"):
        assert follower.preferred_endpoint() is None
        assert follower.preferred_endpoint() is None
    assert len([r for r in caplog.records if "promotion record" in r.message]) == 1
    assert follower.preferred_endpoint() == "https://west.example.com"


def test_settings_are_named_never_shown() -> None:
    with pytest.raises(ValueError, match="ROUTING_CACHE_SECONDS") as error:
        follower_from_values({"ROUTING_URL": "https://a.blob.core.windows.net/routing/promotion.json",
                              "ROUTING_CACHE_SECONDS": "s3cret"}, lambda: pytest.fail("no credential"))
    assert "s3cret" not in str(error.value)
    with pytest.raises(ValueError, match="ROUTING_URL") as error:
        follower_from_values({"ROUTING_URL": "ftp://s3cret"}, lambda: pytest.fail("no credential"))
    assert "s3cret" not in str(error.value)
    assert follower_from_values({}, lambda: pytest.fail("no credential")) is None


@pytest.mark.parametrize("url", ["http://localhost.evil.example/routing/p.json?sig=x",
                                 "http://127.0.0.1.nip.io/routing/p.json?sig=x",
                                 "http://a.blob.core.windows.net/routing/p.json?sig=x"])
def test_a_routing_url_over_plain_http_is_refused_unless_it_is_this_machine(url: str) -> None:
    # A SAS in the URL must never travel in clear text to another host, however its name begins.
    with pytest.raises(ValueError, match="ROUTING_URL"):
        follower_from_values({"ROUTING_URL": url}, lambda: pytest.fail("no credential"))
    assert follower_from_values({"ROUTING_URL": "http://127.0.0.1:10000/acct/routing/p.json?sig=x"},
                                lambda: pytest.fail("no credential")) is not None


def sas_url(azurite: Azurite, container: str, blob: str) -> str:
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    client = service.get_blob_client(container, blob)
    token = generate_blob_sas(service.account_name, container, blob,
                              account_key=service.credential.account_key,
                              permission=BlobSasPermissions(read=True),
                              expiry=datetime.now(UTC) + timedelta(hours=1))
    return f"{client.url}?{token}"


def test_from_settings_prefers_the_acting_primary_until_failback(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    routing = BlobServiceClient.from_connection_string(azurite.connection_string()).get_container_client(
        "routing")
    if not routing.exists():
        routing.create_container()
    url = sas_url(azurite, "routing", "promotion.json")
    values = {"PRIMARY_LANGUAGE_ENDPOINT": regions.primary.endpoint,
              "PRIMARY_LANGUAGE_KEY": regions.primary.key,
              "SECONDARY_LANGUAGE_ENDPOINT": regions.secondary.endpoint,
              "SECONDARY_LANGUAGE_KEY": regions.secondary.key, "SECONDARY_REGION": regions.secondary.region,
              "ROUTING_URL": url, "ROUTING_CACHE_SECONDS": "0"}
    record = {**RECORD, "actingPrimary": {"target": "secondary", "endpoint": regions.secondary.endpoint}}
    with FailoverTextAnalyticsClient.from_settings(values, polling_interval=0.02) as client:
        def served_by() -> str:
            poller = client.begin_recognize_custom_entities(NER_TEXTS, project_name=NER.name,
                                                            deployment_name=DEPLOYMENT)
            poller.result()
            return poller.region

        assert served_by() == "primary"  # no record: normal direction
        routing.upload_blob("promotion.json", json.dumps(record).encode(), overwrite=True)
        assert served_by() == regions.secondary.region  # promoted: the acting primary first
        routing.delete_blob("promotion.json")
        assert served_by() == "primary"  # failed back
    assert blob_reader(url, None)() is None

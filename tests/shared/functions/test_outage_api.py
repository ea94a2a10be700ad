"""The outage HTTP functions, driven with the requests the host builds: promote, read, fail back."""

from __future__ import annotations

import json
from typing import Any

from localdev.sample_project import ner_project
from shared.functions import outage_api as api
from shared.language import retry
from tests.shared.engine.support import authoring, export_of, harness, seed, wait_job
from tests.shared.functions.host import http_request, json_body
from tests.shared.functions.providers import provider_of


def test_promote_then_fail_back_over_http(regions: Any, azurite: Any) -> None:
    project = ner_project(documents=8)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    with retry.testing(sleep=h.clock.sleep):
        h.engine.start_runs()
        h.run()
        provider = provider_of(h.engine)

        assert json_body(api.handle_get_promotion(http_request("GET", "promotion"), provider)) == {
            "promotion": None}
        refused = api.handle_promote(http_request("POST", "promotion", body={}), provider)
        assert refused.status_code == 400 and "why" in json_body(refused)["error"]["message"]
        promoted = api.handle_promote(http_request(
            "POST", "promotion", body={"reason": "eastus down"},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "oncall@example.com"}), provider)
        assert promoted.status_code == 201, promoted.get_body()
        record = json_body(api.handle_get_promotion(http_request("GET", "promotion"), provider))["promotion"]
        assert record["promotedBy"] == "oncall@example.com" and record["reason"] == "eastus down"

        secondary = authoring(regions.secondary)
        edited = export_of(secondary, project.name)
        edited["metadata"]["description"] = "outage work"
        wait_job(secondary, secondary.start_import(project.name, json.dumps(edited).encode()))
        bad = api.handle_failback(http_request("POST", "failback", body={"prefer": "both"}), provider)
        assert bad.status_code == 400
        dry = api.handle_failback(http_request("POST", "failback", body={"dryRun": True}), provider)
        assert dry.status_code == 200 and json_body(dry)["projects"][0]["change"] == "acting"
        started = api.handle_failback(http_request("POST", "failback"), provider)
        assert started.status_code == 202, started.get_body()
        h.run()
        assert h.engine.promotion() is None
        assert export_of(authoring(regions.primary), project.name)["metadata"]["description"] == "outage work"

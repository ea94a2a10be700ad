"""The backup-and-recovery HTTP functions, driven with the requests the host builds."""

from __future__ import annotations

from typing import Any

from localdev.sample_project import ner_project
from shared.functions import snapshots_api as api
from tests.shared.engine.support import harness, predict, seed
from tests.shared.functions.host import http_request, json_body
from tests.shared.functions.providers import provider_of


def test_catalogue_and_restore_over_http(regions: Any, azurite: Any) -> None:
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)
    h.engine.start_runs()
    h.run()
    provider = provider_of(h.engine)

    listed = api.handle_list_snapshots(
        http_request("GET", f"snapshots/{project.name}", route_params={"project": project.name}), provider)
    assert listed.status_code == 200
    snapshots = json_body(listed)["snapshots"]
    model = next(s["name"] for s in snapshots if s["reason"] == "model:v1")
    working = next(s["name"] for s in snapshots if s["reason"] == "working-copy")

    part = model.split("/", 1)[1]
    shown = api.handle_show_snapshot(http_request(
        "GET", f"snapshots/{project.name}/{part}", route_params={"project": project.name, "snapshot": part}),
        provider)
    assert shown.status_code == 200 and json_body(shown)["verified"] is True
    latest = api.handle_show_snapshot(http_request(
        "GET", f"snapshots/{project.name}/latest",
        route_params={"project": project.name, "snapshot": "latest"}), provider)
    assert json_body(latest)["name"] == snapshots[0]["name"]
    never_known = api.handle_list_snapshots(
        http_request("GET", "snapshots/Nope", route_params={"project": "Nope"}), provider)
    assert never_known.status_code == 404 and json_body(never_known)["error"]["code"] == "UnknownProject"
    missing = api.handle_show_snapshot(http_request(
        "GET", "snapshots/Nope/latest", route_params={"project": "Nope", "snapshot": "latest"}), provider)
    assert missing.status_code == 404 and json_body(missing)["error"]["code"] == "SnapshotNotFound"

    diff = api.handle_diff_snapshots(http_request(
        "GET", f"snapshot-diffs/{project.name}", route_params={"project": project.name},
        params={"old": part, "new": working.split("/", 1)[1]}), provider)
    assert diff.status_code == 200 and json_body(diff)["old"] == model

    # A caller's mistake only the engine can see is still a 4xx naming it, and nothing starts.
    for request_body, status, message in [
        ({"snapshot": model, "target": "tertiary"}, 400, "unknown target 'tertiary'"),
        ({"snapshot": model, "target": "secondary", "project": "not ok!"}, 400, "project"),
        # 60 characters: a conversation project's name may be that long, a custom NER project's not.
        ({"snapshot": model, "target": "secondary", "project": "x" * 60}, 400, "at most 50 characters"),
        ({"snapshot": model, "target": "secondary", "train": True, "deployments": ["a b"]}, 400,
         "deployment"),
        ({"snapshot": f"{project.name}/19990101", "target": "secondary"}, 404, "19990101"),
        # The body's own field name, not the CLI's flag.
        ({"snapshot": working, "target": "secondary", "project": "Copy", "train": True}, 400,
         "without a trained model label: give 'modelLabel' to train"),
    ]:
        refused = api.handle_start_restore(http_request("POST", "restores", body=request_body), provider)
        assert refused.status_code == status, (request_body, refused.get_body())
        assert message in json_body(refused)["error"]["message"]
    unknown_run = api.handle_get_restore(http_request(
        "GET", "restores/x", route_params={"project": project.name, "runId": "20260101T000000Z-deadbeef"}),
        provider)
    assert unknown_run.status_code == 404 and json_body(unknown_run)["error"]["code"] == "UnknownRun"

    started = api.handle_start_restore(http_request(
        "POST", "restores", body={"snapshot": model, "target": "secondary", "train": True}), provider)
    assert started.status_code == 202, started.get_body()
    body = json_body(started)
    assert started.headers["Location"].endswith(f"/api/restores/{project.name}/{body['runId']}")
    h.run()
    run = api.handle_get_restore(http_request(
        "GET", "restores/x", route_params={"project": project.name, "runId": body["runId"]}), provider)
    assert json_body(run)["status"] == "succeeded"
    texts = list(project.documents.values())[:3]
    assert predict(regions.secondary, project.name, "prod", project.kind, texts) == predict(
        regions.primary, project.name, "prod", project.kind, texts)

    retention = api.handle_retention(http_request("POST", "retention", params={"dryRun": "true"}), provider)
    assert retention.status_code == 200 and json_body(retention)["dryRun"] is True
    # The body is read too: {"dryRun": true} used to be ignored, and the sweep deleted for real.
    in_body = api.handle_retention(http_request("POST", "retention", body={"dryRun": True}), provider)
    assert in_body.status_code == 200 and json_body(in_body)["dryRun"] is True
    expiry = api.handle_expiry(http_request("GET", "expiry"), provider)
    assert expiry.status_code == 200 and json_body(expiry)["warnings"] == []



def test_a_clu_snapshot_is_diffed_and_restored_into_a_long_name_over_http(regions: Any, azurite: Any) -> None:
    from localdev.conversation_samples import clu_project
    from tests.shared.engine.support import authoring
    from tests.shared.engine.test_conversation_projects import CLU, seed_conversation

    seed_conversation(authoring(regions.primary), clu_project(CLU))
    h = harness(regions, azurite, project=CLU)
    h.engine.start_runs()
    h.run()
    provider = provider_of(h.engine)
    snapshots = json_body(api.handle_list_snapshots(
        http_request("GET", f"snapshots/{CLU}", route_params={"project": CLU}), provider))["snapshots"]
    model = next(s["name"] for s in snapshots if s["reason"] == "model:v1")
    shown = json_body(api.handle_show_snapshot(http_request(
        "GET", f"snapshots/{CLU}/latest", route_params={"project": CLU, "snapshot": "latest"}), provider))
    assert shown["storageInputContainerName"] == "" and shown["documents"] > 0

    long_name = "C" * 100
    too_long = api.handle_start_restore(http_request(
        "POST", "restores", body={"snapshot": model, "target": "secondary", "project": long_name + "x"}),
        provider)
    assert too_long.status_code == 400
    started = api.handle_start_restore(http_request(
        "POST", "restores", body={"snapshot": model, "target": "secondary", "project": long_name}), provider)
    assert started.status_code == 202, started.get_body()
    run_id = json_body(started)["runId"]
    h.run()
    run = api.handle_get_restore(http_request(
        "GET", "restores/x", route_params={"project": long_name, "runId": run_id}), provider)
    assert json_body(run)["status"] == "succeeded"
    assert authoring(regions.secondary).get_project(long_name) is not None

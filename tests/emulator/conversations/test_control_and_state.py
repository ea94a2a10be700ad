"""Conversation projects under the emulator's own machinery: roles, persistence, control routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.tokens import mint_token
from tests.emulator.authoring_client import error_of
from tests.emulator.conversations.conftest import ConversationApi


def test_roles_apply_to_the_conversations_authoring_api(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    conv.headers = {"Authorization": f"Bearer {mint_token('Reader')}"}
    assert conv.get("/projects/CoffeeOrders").status_code == 200
    refused = conv.post("/projects/CoffeeOrders/:train", json={"modelLabel": "m", "trainingMode": "standard"})
    assert refused.status_code == 403
    conv.headers = {"Authorization": f"Bearer {mint_token('Writer')}"}
    assert (
        conv.post(
            "/projects/CoffeeOrders/:train", json={"modelLabel": "m", "trainingMode": "standard"}
        ).status_code
        == 202
    )
    deploy = conv.call(
        "PUT", "/projects/CoffeeOrders/deployments/production", json={"trainedModelLabel": "m"}
    )
    assert deploy.status_code == 403  # deployments need the Owner role


def test_conversation_projects_survive_a_restart(
    make_conv: Any, tmp_path: Path, coffee: dict[str, Any]
) -> None:
    first = make_conv(state_dir=tmp_path)
    first.ready(coffee)
    answer = first.analyze("CoffeeOrders", "one small latte").get_json()
    assert (tmp_path / "conversations-state.json").is_file()
    second = make_conv(state_dir=tmp_path)
    assert second.analyze("CoffeeOrders", "one small latte").get_json() == answer
    assert (
        second.get(
            "http://localhost/language/authoring/analyze-text/projects?api-version=2023-04-01"
        ).get_json()["value"]
        == []
    )


def test_expiry_controls_address_conversation_projects(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    body = {
        "api": "conversations",
        "project": "CoffeeOrders",
        "label": "model1",
        "modelExpirationDate": "2030-01-01",
    }
    assert conv.client.post("/_emulator/expiry/models", json=body).status_code == 200
    assert conv.get("/projects/CoffeeOrders/models/model1").get_json()["modelExpirationDate"] == "2030-01-01"
    past = {"api": "conversations", "project": "CoffeeOrders", "deployment": "production", "inDays": -1}
    assert conv.client.post("/_emulator/expiry/deployments", json=past).status_code == 200
    assert (
        conv.analyze("CoffeeOrders", "one latte").status_code == 404
    )  # an expired deployment serves nothing
    text_only = conv.client.post("/_emulator/expiry/models", json={**body, "api": "text"})
    assert text_only.status_code == 404 and error_of(text_only)["code"] == "ProjectNotFound"
    wrong = conv.client.post("/_emulator/expiry/models", json={**body, "api": "speech"})
    assert wrong.status_code == 400


def test_job_inspection_and_failure_injection(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.import_project(coffee)
    assert conv.client.post("/_emulator/faults/jobs", json={"kind": "train", "count": 1}).status_code == 200
    failed = conv.train("CoffeeOrders")
    assert failed["status"] == "failed" and failed["errors"]
    jobs = conv.client.get("/_emulator/jobs?api=conversations&kind=train").get_json()["value"]
    assert [j["status"] for j in jobs] == ["failed"]
    assert conv.train("CoffeeOrders")["status"] == "succeeded"

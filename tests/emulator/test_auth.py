"""Contract: subscription keys, bearer tokens (over HTTPS) and the Language role matrix."""

from __future__ import annotations

import time

import pytest
import requests

from emulator.auth import OWNER, READER, WRITER, required_rank
from emulator.tokens import EmulatorTokenCredential, mint_token
from tests.emulator.authoring_client import error_of
from tests.emulator.conftest import AUTHORING, KEY, SECONDARY_KEY, Api, Served

GATEWAY_401 = "Access denied due to invalid subscription key or wrong API endpoint."


def test_either_key_is_accepted(api: Api) -> None:
    for key in (KEY, SECONDARY_KEY):
        assert api.get("/projects", headers={"Ocp-Apim-Subscription-Key": key}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Ocp-Apim-Subscription-Key": "wrong"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
    ],
)
def test_missing_or_wrong_credentials_are_401_in_the_gateway_shape(api: Api, headers: dict[str, str]) -> None:
    api.headers = headers
    response = api.get("/projects")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "401"
    assert set(error) == {"code", "message"}
    if not headers.get("Authorization"):
        assert error["message"].startswith(GATEWAY_401)


def test_runtime_routes_need_credentials_too(api: Api) -> None:
    api.headers = {}
    response = api.client.post("/language/analyze-text/jobs?api-version=2023-04-01", json={})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        mint_token("Owner", audience="https://management.azure.com"),
        mint_token("Owner", now=time.time() - 7200),
        mint_token("Owner", secret="some-other-secret-of-at-least-32-bytes"),
    ],
    ids=["wrong-audience", "expired", "bad-signature"],
)
def test_bad_tokens_are_401(api: Api, token: str) -> None:
    api.headers = {"Authorization": f"Bearer {token}"}
    response = api.get("/projects")
    assert response.status_code == 401
    assert error_of(response)["code"] == "401"


def test_unsigned_tokens_and_tokens_without_roles_are_accepted(api: Api) -> None:
    api.headers = {"Authorization": f"Bearer {mint_token(signed=False)}"}
    assert api.get("/projects").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", f"{AUTHORING}/projects/p/models", READER),
        ("POST", f"{AUTHORING}/projects/p/:export", READER),
        ("POST", "/language/analyze-text/jobs", READER),
        ("PATCH", f"{AUTHORING}/projects/p", WRITER),
        ("POST", f"{AUTHORING}/projects/p/:import", WRITER),
        ("POST", f"{AUTHORING}/projects/p/:train", WRITER),
        ("POST", f"{AUTHORING}/projects/p/train/jobs/j/:cancel", WRITER),
        ("POST", f"{AUTHORING}/projects/p/models/m/:load-snapshot", WRITER),
        ("PUT", f"{AUTHORING}/projects/p/deployments/d", OWNER),
        ("DELETE", f"{AUTHORING}/projects/p/deployments/d", OWNER),
        ("POST", f"{AUTHORING}/projects/p/deployments/:swap", OWNER),
        ("DELETE", f"{AUTHORING}/projects/p/models/m", OWNER),
        ("DELETE", f"{AUTHORING}/projects/p", OWNER),
    ],
)
def test_role_matrix(method: str, path: str, needed: int) -> None:
    assert required_rank(method, path) == needed


def test_roles_are_enforced_with_403(api: Api) -> None:
    project = api.ready_project(train=True)
    as_role = {
        role: {"Authorization": f"Bearer {mint_token(role)}"} for role in ("Reader", "Writer", "Owner")
    }
    deploy = f"/projects/{project.name}/deployments/prod"
    api.headers = as_role["Reader"]
    assert api.get(f"/projects/{project.name}").status_code == 200
    assert (
        api.post(f"/projects/{project.name}/:export", query={"stringIndexType": "Utf16CodeUnit"}).status_code
        == 202
    )
    forbidden = api.post(f"/projects/{project.name}/:import", json=project.export)
    assert forbidden.status_code == 403
    assert error_of(forbidden)["code"] == "PermissionDenied"
    assert "Writer" in error_of(forbidden)["message"]
    api.headers = as_role["Writer"]
    assert api.post(f"/projects/{project.name}/:import", json=project.export).status_code == 202
    assert api.call("PUT", deploy, json={"trainedModelLabel": "model1"}).status_code == 403
    api.headers = as_role["Owner"]
    assert api.call("PUT", deploy, json={"trainedModelLabel": "model1"}).status_code == 202


def test_bearer_over_https_with_the_token_credential(serve, tls_files: dict[str, str]) -> None:
    served: Served = serve(tls=True)
    credential = EmulatorTokenCredential("Reader")
    token = credential.get_token("https://cognitiveservices.azure.com/.default").token
    response = requests.get(
        f"{served.endpoint}{AUTHORING}/projects",
        params={"api-version": "2023-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=tls_files["ca"],
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {"value": [], "nextLink": None}
    writer_only = requests.patch(
        f"{served.endpoint}{AUTHORING}/projects/x",
        params={"api-version": "2023-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        json={},
        verify=tls_files["ca"],
        timeout=10,
    )
    assert writer_only.status_code == 403
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{served.endpoint}/_emulator/health", timeout=10)  # our CA only

"""Fixtures for the analyze-conversations tests: the app in-process with a fake clock.

Conversation projects carry their utterances inline, so these tests need no storage: the
linked-storage client is built from a connection string and never called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from emulator.app import EmulatorContext, create_app, emulator_context
from emulator.clock import FakeClock
from emulator.config import EmulatorConfig
from localdev.conversation_samples import clu_project, orchestration_project

KEY = "conversations-test-key"
AUTHORING = "/language/authoring/analyze-conversations"
RUNTIME = "/language/:analyze-conversations"
FINAL = ("succeeded", "failed", "cancelled")
UNUSED_STORAGE = "UseDevelopmentStorage=true"


class ConversationApi:
    """Authoring and runtime calls with the key and api-version by default; jobs move with the fake clock."""

    def __init__(self, clock: FakeClock, **config: Any) -> None:
        settings = EmulatorConfig(key=KEY, storage_connection_string=UNUSED_STORAGE, **config)
        self.app = create_app(settings, clock=clock)
        self.client: FlaskClient = self.app.test_client()
        self.clock = clock
        self.api_version = "2023-04-01"
        self.headers = {"Ocp-Apim-Subscription-Key": KEY}

    @property
    def context(self) -> EmulatorContext:
        return emulator_context(self.app)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        api_version: str | None = None,
    ) -> TestResponse:
        params = dict(query or {})
        if "://" not in path:
            params.setdefault("api-version", api_version or self.api_version)
        url = (
            path if "://" in path or path.startswith(("/_emulator", "/language/:")) else f"{AUTHORING}{path}"
        )
        return self.client.open(
            url,
            method=method,
            json=json,
            query_string=params or None,
            headers={**self.headers, **(headers or {})},
        )

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def accepted(self, response: TestResponse) -> str:
        assert response.status_code == 202, response.get_data(as_text=True)
        return str(response.headers["operation-location"])

    def wait(self, location: str, step: float = 30.0) -> dict[str, Any]:
        for _ in range(200):
            body = self.get(location).get_json()
            if body["status"] in FINAL:
                return dict(body)
            self.clock.advance(step)
        raise AssertionError(f"job never finished: {body}")

    def import_project(self, exported: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        name = name or exported["metadata"]["projectName"]
        return self.wait(self.accepted(self.post(f"/projects/{name}/:import", json=exported)))

    def train(self, project: str, label: str = "model1", **options: Any) -> dict[str, Any]:
        body = {"modelLabel": label, "trainingMode": "standard", **options}
        return self.wait(self.accepted(self.post(f"/projects/{project}/:train", json=body)))

    def deploy(self, project: str, deployment: str = "production", label: str = "model1") -> dict[str, Any]:
        response = self.call(
            "PUT", f"/projects/{project}/deployments/{deployment}", json={"trainedModelLabel": label}
        )
        return self.wait(self.accepted(response))

    def ready(self, exported: dict[str, Any], deployment: str = "production", **train: Any) -> str:
        name = str(exported["metadata"]["projectName"])
        assert self.import_project(exported)["status"] == "succeeded"
        assert self.train(name, **train)["status"] == "succeeded"
        assert self.deploy(name, deployment)["status"] == "succeeded"
        return name

    def analyze(
        self, project: str, text: str, deployment: str = "production", **parameters: Any
    ) -> TestResponse:
        body = {
            "kind": "Conversation",
            "analysisInput": {"conversationItem": {"id": "1", "participantId": "user", "text": text}},
            "parameters": {"projectName": project, "deploymentName": deployment, **parameters},
        }
        return self.post(RUNTIME, json=body)


def error_of(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_conv(clock: FakeClock) -> Callable[..., ConversationApi]:
    return lambda **config: ConversationApi(clock, **config)


@pytest.fixture
def conv(make_conv: Callable[..., ConversationApi]) -> ConversationApi:
    return make_conv()


@pytest.fixture
def coffee() -> dict[str, Any]:
    return clu_project()


@pytest.fixture
def front_desk() -> dict[str, Any]:
    return orchestration_project()

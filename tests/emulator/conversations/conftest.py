"""Fixtures for the analyze-conversations tests: the app in-process with a fake clock.

Conversation projects carry their utterances inline, so these tests need no storage: the
linked-storage client is built from a connection string and never called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from werkzeug.test import TestResponse

from emulator.app import create_app
from emulator.clock import FakeClock
from emulator.config import EmulatorConfig
from localdev.conversation_samples import clu_project, orchestration_project
from tests.emulator.authoring_client import AuthoringTestClient

KEY = "conversations-test-key"
AUTHORING = "/language/authoring/analyze-conversations"
RUNTIME = "/language/:analyze-conversations"
UNUSED_STORAGE = "UseDevelopmentStorage=true"


class ConversationApi(AuthoringTestClient):
    """Authoring and runtime calls with the key and api-version by default; jobs move with the fake clock."""

    prefix = AUTHORING
    unprefixed = ("/_emulator", "/language/:")
    train_options: ClassVar[dict[str, Any]] = {"trainingMode": "standard"}

    def __init__(self, clock: FakeClock, **config: Any) -> None:
        settings = EmulatorConfig(key=KEY, storage_connection_string=UNUSED_STORAGE, **config)
        super().__init__(create_app(settings, clock=clock), clock, KEY)

    def import_project(self, exported: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        name = name or exported["metadata"]["projectName"]
        return self.wait(self.accepted(self.post(f"/projects/{name}/:import", json=exported)))

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

"""Fixtures for the emulator's own tests.

Contract tests drive the app in-process (Flask test client) with a fake clock, against
the real Azurite: fast, and jobs move only when a test moves time. Tests of sockets,
TLS and processes use real servers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import trustme
from azure.storage.blob import BlobServiceClient
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from emulator.app import EmulatorContext, create_app, emulator_context
from emulator.clock import FakeClock
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from localdev.sample_project import SampleProject, ner_project, upload_documents
from localdev.services import Azurite, free_port

KEY = "primary-test-key"
SECONDARY_KEY = "secondary-test-key"
AUTHORING = "/language/authoring/analyze-text"
FINAL = ("succeeded", "failed", "cancelled", "partiallyCompleted")


class Api:
    """A thin authoring client over the Flask test client: auth header and api-version by default."""

    def __init__(self, app: Flask, clock: FakeClock, azurite: Azurite, account: str = "primarydocs") -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.clock = clock
        self.azurite = azurite
        self.account = account
        self.api_version = "2023-04-01"
        self.headers: dict[str, str] = {"Ocp-Apim-Subscription-Key": KEY}

    @property
    def context(self) -> EmulatorContext:
        return emulator_context(self.app)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        api_version: str | None = None,
    ) -> TestResponse:
        params = dict(query or {})
        if "://" not in path and api_version != "":
            params.setdefault("api-version", api_version or self.api_version)
        url = path if "://" in path or path.startswith("/_emulator") else f"{AUTHORING}{path}"
        merged = {**self.headers, **(headers or {})}
        return self.client.open(
            url, method=method, json=json, data=data, query_string=params or None, headers=merged
        )

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def control(self, path: str, body: Any = None) -> Any:
        response = self.client.post(f"/_emulator{path}", json=body if body is not None else {})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    # -- flows -----------------------------------------------------------------------------------
    def accepted(self, response: TestResponse) -> str:
        assert response.status_code == 202, response.get_data(as_text=True)
        assert response.get_data() == b""
        return str(response.headers["operation-location"])

    def wait(self, location: str, step: float = 30.0, limit: int = 200) -> dict[str, Any]:
        """Poll a job, moving the fake clock between polls, until it is final."""
        for _ in range(limit):
            body = self.get(location).get_json()
            if body["status"] in FINAL:
                return dict(body)
            self.clock.advance(step)
        raise AssertionError(f"job never finished: {body}")

    def upload(self, project: SampleProject) -> None:
        service = BlobServiceClient.from_connection_string(self.azurite.connection_string(self.account))
        upload_documents(service.get_container_client(project.container), project)

    def import_project(self, project: SampleProject, name: str | None = None) -> dict[str, Any]:
        location = self.accepted(self.post(f"/projects/{name or project.name}/:import", json=project.export))
        return self.wait(location)

    def train(self, project: str, label: str = "model1", **options: Any) -> dict[str, Any]:
        body = {"modelLabel": label, "trainingConfigVersion": "2022-05-01", **options}
        return self.wait(self.accepted(self.post(f"/projects/{project}/:train", json=body)))

    def deploy(self, project: str, deployment: str, label: str = "model1") -> dict[str, Any]:
        response = self.call(
            "PUT", f"/projects/{project}/deployments/{deployment}", json={"trainedModelLabel": label}
        )
        return self.wait(self.accepted(response))

    def ready_project(
        self, project: SampleProject | None = None, *, train: bool = False, deploy: str | None = None
    ) -> SampleProject:
        project = project or ner_project()
        self.upload(project)
        assert self.import_project(project)["status"] == "succeeded"
        if train or deploy:
            assert self.train(project.name)["status"] == "succeeded"
        if deploy:
            assert self.deploy(project.name, deploy)["status"] == "succeeded"
        return project


def error_of(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_api(azurite: Azurite, clock: FakeClock, tmp_path: Any) -> Iterator[Any]:
    def make(account: str = "primarydocs", **config: Any) -> Api:
        settings = EmulatorConfig(
            key=KEY,
            secondary_key=SECONDARY_KEY,
            storage_connection_string=azurite.connection_string(account),
            **config,
        )
        return Api(create_app(settings, clock=clock), clock, azurite, account)

    yield make


@pytest.fixture
def api(make_api: Any) -> Api:
    return make_api()


def eventually(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@dataclass
class Served:
    """A real emulator server in this process (werkzeug threads), for socket- and TLS-level tests."""

    server: EmulatorServer
    app: Flask
    scheme: str

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.service.port}"

    @property
    def control_url(self) -> str:
        assert self.server.control is not None
        return f"http://127.0.0.1:{self.server.control.port}"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    authority.cert_pem.write_to_path(str(paths["ca"]))
    certificate.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    certificate.private_key_pem.write_to_path(str(paths["key"]))
    return {name: str(path) for name, path in paths.items()}


@pytest.fixture
def serve(azurite: Azurite, tls_files: dict[str, str]) -> Iterator[Any]:
    started: list[EmulatorServer] = []

    def start(*, tls: bool = False, clock: Any = None, **config: Any) -> Served:
        config.setdefault("time_scale", 0.001)
        settings = EmulatorConfig(
            key=KEY,
            secondary_key=SECONDARY_KEY,
            storage_connection_string=azurite.connection_string("primarydocs"),
            **config,
        )
        app = create_app(settings, clock=clock)
        server = EmulatorServer(
            app,
            emulator_context(app).faults,
            host="127.0.0.1",
            port=free_port(),
            control_port=free_port(),
            tls_cert=tls_files["cert"] if tls else None,
            tls_key=tls_files["key"] if tls else None,
        )
        server.start()
        started.append(server)
        return Served(server, app, "https" if tls else "http")

    yield start
    for server in started:
        server.stop()

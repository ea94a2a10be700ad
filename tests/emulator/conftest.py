"""Fixtures for the emulator's own tests.

Contract tests drive the app in-process (Flask test client) with a fake clock, against
the real Azurite: fast, and jobs move only when a test moves time. Tests of sockets,
TLS and processes use real servers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import trustme
from azure.storage.blob import BlobServiceClient
from flask import Flask

from emulator.app import create_app, emulator_context
from emulator.clock import FakeClock
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from localdev.sample_project import SampleProject, ner_project, upload_documents
from localdev.services import Azurite, free_port
from tests.emulator.authoring_client import AuthoringTestClient

KEY = "primary-test-key"
SECONDARY_KEY = "secondary-test-key"
AUTHORING = "/language/authoring/analyze-text"


class Api(AuthoringTestClient):
    """The analyze-text authoring client, with the linked storage account its projects read."""

    prefix = AUTHORING
    train_options: ClassVar[dict[str, Any]] = {"trainingConfigVersion": "2022-05-01"}

    def __init__(self, app: Flask, clock: FakeClock, azurite: Azurite, account: str = "primarydocs") -> None:
        super().__init__(app, clock, KEY)
        self.azurite = azurite
        self.account = account

    def control(self, path: str, body: Any = None) -> Any:
        response = self.client.post(f"/_emulator{path}", json=body if body is not None else {})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    # -- flows -----------------------------------------------------------------------------------
    def upload(self, project: SampleProject) -> None:
        service = BlobServiceClient.from_connection_string(self.azurite.connection_string(self.account))
        upload_documents(service.get_container_client(project.container), project)

    def import_project(self, project: SampleProject, name: str | None = None) -> dict[str, Any]:
        location = self.accepted(self.post(f"/projects/{name or project.name}/:import", json=project.export))
        return self.wait(location)

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

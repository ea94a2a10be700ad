"""Microsoft's runtime SDK (`azure-ai-textanalytics` 5.4 `TextAnalyticsClient`) against the runtime routes.

Two levels: the runtime blueprint on a local HTTP server with a fake backend (fast, no storage),
and a real emulator process from the `regions` fixture, where a sample project is imported,
trained and deployed through the REST API before the SDK predicts. The SDK polls every 30 s by
default, so every call passes a small `polling_interval`; it asks for `UnicodeCodePoint` offsets
unless told otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import pytest
import requests
from azure.ai.textanalytics import TextAnalyticsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from werkzeug.serving import make_server

from emulator.runtime import RuntimeService
from emulator.text_offsets import grapheme_count, utf16_length
from localdev.sample_project import SampleProject, multi_label_project, ner_project, single_label_project
from localdev.sample_project import upload_documents as upload_sample_documents
from tests.emulator.test_runtime import EMOJI_TEXT, FakeBackend, trained

POLL = 0.02
KEY = "runtime-sdk-test-key"


class WallClockBackend(FakeBackend):
    """The SDK sleeps between polls, so jobs here move with the real clock (50 ms per job)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def runtime_job_duration(self) -> timedelta:
        return timedelta(milliseconds=50)


@pytest.fixture(scope="module")
def local_endpoint() -> Iterator[tuple[str, RuntimeService]]:
    backend = WallClockBackend()
    backend.deployments[("LoanAgreements", "prod")] = trained(ner_project())
    backend.deployments[("SupportTickets", "prod")] = trained(single_label_project())
    backend.deployments[("MovieGenres", "prod")] = trained(multi_label_project())
    service = RuntimeService(backend)
    app = flask.Flask("runtime-sdk-test")
    app.register_blueprint(service.blueprint)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", service
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def sdk(local_endpoint) -> TextAnalyticsClient:
    return TextAnalyticsClient(local_endpoint[0], AzureKeyCredential(KEY))


def assert_entities_match_text(result: Any, text: str, measure=len) -> None:
    assert not result.is_error, result
    assert result.entities
    for entity in result.entities:
        start = text.index(entity.text)
        assert entity.offset == measure(text[:start])
        assert entity.length == measure(entity.text)


@pytest.mark.parametrize(
    ("string_index_type", "measure"),
    [
        (None, len),
        ("UnicodeCodePoint", len),
        ("Utf16CodeUnit", utf16_length),
        ("TextElement_v8", grapheme_count),
    ],
)
def test_sdk_custom_entities_offsets_in_each_index_type(sdk, string_index_type, measure) -> None:
    options = {"string_index_type": string_index_type} if string_index_type else {}
    poller = sdk.begin_recognize_custom_entities(
        [EMOJI_TEXT], project_name="LoanAgreements", deployment_name="prod", polling_interval=POLL, **options
    )
    (result,) = list(poller.result())
    assert_entities_match_text(result, EMOJI_TEXT, measure)


def test_sdk_reports_per_document_errors_and_statistics(sdk) -> None:
    poller = sdk.begin_recognize_custom_entities(
        ["Date 6/29/2018", ""],
        project_name="LoanAgreements",
        deployment_name="prod",
        polling_interval=POLL,
        show_stats=True,
        display_name="stats",
    )
    ok, empty = list(poller.result())
    assert not ok.is_error and ok.statistics.character_count == 14
    assert empty.is_error and empty.error.code == "InvalidDocument"
    assert poller.display_name == "stats"


def test_sdk_single_and_multi_label_classification(sdk) -> None:
    single = sdk.begin_single_label_classify(
        ["I was charged twice on my last invoice and the refund has not arrived"],
        project_name="SupportTickets",
        deployment_name="prod",
        polling_interval=POLL,
    )
    (ticket,) = list(single.result())
    assert [c.category for c in ticket.classifications] == ["Billing"]
    multi = sdk.begin_multi_label_classify(
        ["A daring chase ends in an explosion. The detective examines clues left at the crime scene."],
        project_name="MovieGenres",
        deployment_name="prod",
        polling_interval=POLL,
    )
    (movie,) = list(multi.result())
    assert {"Action", "Mystery"} <= {c.category for c in movie.classifications}


def test_sdk_pages_25_documents(sdk) -> None:
    documents = [f"Date {i % 12 + 1}/1/2020" for i in range(25)]
    poller = sdk.begin_recognize_custom_entities(
        documents, project_name="LoanAgreements", deployment_name="prod", polling_interval=POLL
    )
    results = list(poller.result())
    assert [r.id for r in results] == [str(i) for i in range(25)]


def test_sdk_sees_an_unknown_deployment_as_not_found(sdk) -> None:
    with pytest.raises(ResourceNotFoundError):
        sdk.begin_recognize_custom_entities(
            ["x"], project_name="LoanAgreements", deployment_name="missing", polling_interval=POLL
        )


def test_sdk_sees_a_failed_task_as_an_error_when_so_configured(local_endpoint, sdk) -> None:
    service = local_endpoint[1]
    service.missing_deployment = "fail-task"
    try:
        poller = sdk.begin_recognize_custom_entities(
            ["x"], project_name="LoanAgreements", deployment_name="missing", polling_interval=POLL
        )
        with pytest.raises(HttpResponseError):
            list(poller.result())
    finally:
        service.missing_deployment = "reject"


# --- against a real emulator process --------------------------------------------------------------

API = "2023-04-01"
AUTHORING = "/language/authoring/analyze-text/projects"


class Region:
    """A minimal REST driver for one emulated region's authoring API."""

    def __init__(self, endpoint: str, key: str) -> None:
        self.endpoint = endpoint
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = key

    def wait(self, response: requests.Response, timeout: float = 60.0) -> dict[str, Any]:
        assert response.status_code == 202, response.text
        location = response.headers["operation-location"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.session.get(location, timeout=10)
            if job.status_code == 429:
                time.sleep(float(job.headers.get("Retry-After", "0.05")))
                continue
            body = job.json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                assert body["status"] == "succeeded", body
                return dict(body)
            time.sleep(0.02)
        raise TimeoutError(location)

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for _ in range(200):
            response = self.session.request(
                method, f"{self.endpoint}{path}", params={"api-version": API}, **kwargs
            )
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After", "0.05")))
        raise AssertionError(f"{method} {path} stayed throttled")

    def import_train_deploy(self, project: SampleProject, deployment: str = "prod") -> None:
        self.wait(self.send("POST", f"{AUTHORING}/{project.name}/:import", json=project.export))
        configs = self.send("GET", f"{AUTHORING}/global/training-config-versions?projectKind={project.kind}")
        version = configs.json()["value"][-1]["trainingConfigVersion"]
        training = {
            "modelLabel": "m1",
            "trainingConfigVersion": version,
            "evaluationOptions": {"kind": "manual"},
        }
        self.wait(self.send("POST", f"{AUTHORING}/{project.name}/:train", json=training))
        self.wait(
            self.send(
                "PUT",
                f"{AUTHORING}/{project.name}/deployments/{deployment}",
                json={"trainedModelLabel": "m1"},
            )
        )


def upload(azurite, account: str, project: SampleProject) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string(account))
    upload_sample_documents(service.get_container_client(project.container), project)


def test_sdk_against_emulator_processes_and_the_replica_answers_alike(regions, azurite) -> None:
    project = ner_project()
    for region, account in ((regions.primary, "primarydocs"), (regions.secondary, "secondarydocs")):
        upload(azurite, account, project)
        Region(region.endpoint, region.key).import_train_deploy(project)
    texts = [*list(project.documents.values())[:3], EMOJI_TEXT]
    answers = []
    for region in regions.all():
        client = TextAnalyticsClient(region.endpoint, AzureKeyCredential(region.key))
        poller = client.begin_recognize_custom_entities(
            texts, project_name=project.name, deployment_name="prod", polling_interval=POLL
        )
        results = list(poller.result())
        for result, text in zip(results, texts, strict=True):
            assert_entities_match_text(result, text)
        answers.append(
            [[(e.category, e.offset, e.length, e.confidence_score) for e in r.entities] for r in results]
        )
    assert answers[0] == answers[1]


def test_sdk_classification_against_an_emulator_process(regions, azurite) -> None:
    single, multi = single_label_project(), multi_label_project()
    primary = Region(regions.primary.endpoint, regions.primary.key)
    for project in (single, multi):
        upload(azurite, "primarydocs", project)
        primary.import_train_deploy(project)
    client = TextAnalyticsClient(regions.primary.endpoint, AzureKeyCredential(regions.primary.key))
    ticket_text = next(iter(single.documents.values()))
    (ticket,) = list(
        client.begin_single_label_classify(
            [ticket_text], project_name=single.name, deployment_name="prod", polling_interval=POLL
        ).result()
    )
    assert [c.category for c in ticket.classifications] == [
        single.export["assets"]["documents"][0]["class"]["category"]
    ]
    movie_text = next(iter(multi.documents.values()))
    (movie,) = list(
        client.begin_multi_label_classify(
            [movie_text], project_name=multi.name, deployment_name="prod", polling_interval=POLL
        ).result()
    )
    assert {c.category for c in movie.classifications} == {
        c["category"] for c in multi.export["assets"]["documents"][0]["classes"]
    }

"""Runtime API contract, in process: the runtime blueprint on a small Flask app and a fake backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import pytest

from emulator.learner import categories_of, labelled_documents, train
from emulator.runtime import DeployedModel, RuntimeService
from localdev.sample_project import SampleProject, multi_label_project, ner_project, single_label_project

API = "2023-04-01"
JOB_DURATION = timedelta(seconds=10)
EMOJI_TEXT = "👩\u200d💼 🇺🇸 Dated March 3, 2021\r\n- Zoë Núñez, residing at 12 Elm Avenue"


@dataclass
class FakeBackend:
    deployments: dict[tuple[str, str], DeployedModel] = field(default_factory=dict)
    clock: datetime = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def deployed_model(self, project_name: str, deployment_name: str) -> DeployedModel | None:
        return self.deployments.get((project_name, deployment_name))

    def now(self) -> datetime:
        return self.clock

    def runtime_job_duration(self) -> timedelta:
        return JOB_DURATION

    def advance(self, delta: timedelta) -> None:
        self.clock += delta


def trained(project: SampleProject) -> DeployedModel:
    assets = project.export["assets"]
    result = train(
        project.kind,
        categories_of(assets),
        labelled_documents(assets, project.documents),
        {"kind": "manual"},
        "x",
    )
    return DeployedModel(project.kind, result.model)


@pytest.fixture(scope="module")
def deployed() -> dict[str, DeployedModel]:
    return {
        "loans": trained(ner_project()),
        "tickets": trained(single_label_project()),
        "movies": trained(multi_label_project()),
    }


@pytest.fixture
def backend(deployed) -> FakeBackend:
    backend = FakeBackend()
    backend.deployments[("LoanAgreements", "prod")] = deployed["loans"]
    backend.deployments[("SupportTickets", "prod")] = deployed["tickets"]
    backend.deployments[("MovieGenres", "prod")] = deployed["movies"]
    return backend


@pytest.fixture
def service(backend) -> RuntimeService:
    return RuntimeService(backend, result_retention=timedelta(hours=24))


@pytest.fixture
def client(service):
    app = flask.Flask("runtime-test")
    app.register_blueprint(service.blueprint)
    return app.test_client()


def ner_task(**parameters: Any) -> dict[str, Any]:
    return {
        "kind": "CustomEntityRecognition",
        "taskName": "entities",
        "parameters": {"projectName": "LoanAgreements", "deploymentName": "prod", **parameters},
    }


def job_body(documents: list[dict[str, Any]], *tasks: dict[str, Any]) -> dict[str, Any]:
    return {
        "displayName": "test",
        "analysisInput": {"documents": documents},
        "tasks": list(tasks or [ner_task()]),
    }


def submit(client, body: dict[str, Any], api_version: str = API):
    return client.post(f"/language/analyze-text/jobs?api-version={api_version}", json=body)


def job_path(response) -> str:
    location = urlsplit(response.headers["Operation-Location"])
    return f"{location.path}?{location.query}"


def finished_job(client, backend, body: dict[str, Any], query: str = "") -> dict[str, Any]:
    response = submit(client, body)
    assert response.status_code == 202, response.get_json()
    backend.advance(JOB_DURATION)
    result = client.get(job_path(response) + query)
    assert result.status_code == 200
    return result.get_json()


# --- submission ---------------------------------------------------------------------------------


def test_submit_is_accepted_with_an_absolute_operation_location(client) -> None:
    response = submit(client, job_body([{"id": "1", "language": "en", "text": "Date 6/29/2018"}]))
    assert response.status_code == 202
    assert response.data == b""
    location = urlsplit(response.headers["Operation-Location"])
    assert location.scheme == "http" and location.netloc == "localhost"
    assert location.path.startswith("/language/analyze-text/jobs/")
    uuid.UUID(location.path.rsplit("/", 1)[1])  # runtime job ids are plain UUIDs
    assert parse_qs(location.query) == {"api-version": [API]}


@pytest.mark.parametrize("api_version", ["2022-05-01", "2023-04-01", "2024-11-01"])
def test_every_runtime_api_version_is_served(client, api_version) -> None:
    response = submit(client, job_body([{"id": "1", "text": "x"}]), api_version=api_version)
    assert response.status_code == 202
    assert parse_qs(urlsplit(response.headers["Operation-Location"]).query) == {"api-version": [api_version]}


@pytest.mark.parametrize("query", ["", "?api-version=2021-11-01-preview"])
def test_a_missing_or_unknown_api_version_gets_the_service_error(client, query) -> None:
    response = client.post(f"/language/analyze-text/jobs{query}", json=job_body([{"id": "1", "text": "x"}]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "InvalidRequest"


# --- job states -----------------------------------------------------------------------------------


def test_job_goes_not_started_running_succeeded_by_the_backend_clock(client, backend) -> None:
    response = submit(client, job_body([{"id": "1", "text": "Date 6/29/2018"}]))
    path = job_path(response)
    first = client.get(path).get_json()
    assert first["status"] == "notStarted"
    assert first["tasks"] == {"completed": 0, "failed": 0, "inProgress": 1, "total": 1, "items": []}
    backend.advance(JOB_DURATION / 2)
    assert client.get(path).get_json()["status"] == "running"
    backend.advance(JOB_DURATION / 2)
    done = client.get(path).get_json()
    assert done["status"] == "succeeded"
    assert done["displayName"] == "test"
    created = datetime.fromisoformat(done["createdDateTime"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(done["expirationDateTime"].replace("Z", "+00:00"))
    assert expires - created == timedelta(hours=24)
    assert done["tasks"]["completed"] == 1 and done["tasks"]["inProgress"] == 0
    (item,) = done["tasks"]["items"]
    assert item["kind"] == "CustomEntityRecognitionLROResults"
    assert item["taskName"] == "entities" and item["status"] == "succeeded"
    assert "lastUpdateDateTime" in item and "lastUpdatedDateTime" not in item
    assert item["results"]["projectName"] == "LoanAgreements"
    assert item["results"]["deploymentName"] == "prod"


def test_results_expire_after_the_retention_period(client, backend) -> None:
    response = submit(client, job_body([{"id": "1", "text": "Date 6/29/2018"}]))
    backend.advance(timedelta(hours=24))
    expired = client.get(job_path(response))
    assert expired.status_code == 404
    assert expired.get_json()["error"]["code"] == "NotFound"


def test_unknown_job_is_404(client) -> None:
    response = client.get(f"/language/analyze-text/jobs/{uuid.uuid4()}?api-version={API}")
    assert response.status_code == 404


def test_cancel_stops_an_unfinished_job(client, backend) -> None:
    response = submit(client, job_body([{"id": "1", "text": "Date 6/29/2018"}]))
    job_id = urlsplit(response.headers["Operation-Location"]).path.rsplit("/", 1)[1]
    cancel = client.post(f"/language/analyze-text/jobs/{job_id}:cancel?api-version={API}")
    assert cancel.status_code == 202
    assert urlsplit(cancel.headers["Operation-Location"]).path.endswith(job_id)
    backend.advance(JOB_DURATION)
    body = client.get(job_path(response)).get_json()
    assert body["status"] == "cancelled"
    assert body["tasks"]["items"] == []


def test_cancelling_a_finished_job_changes_nothing(client, backend) -> None:
    response = submit(client, job_body([{"id": "1", "text": "Date 6/29/2018"}]))
    backend.advance(JOB_DURATION)
    job_id = urlsplit(response.headers["Operation-Location"]).path.rsplit("/", 1)[1]
    assert client.post(f"/language/analyze-text/jobs/{job_id}:cancel?api-version={API}").status_code == 202
    assert client.get(job_path(response)).get_json()["status"] == "succeeded"


def test_reset_forgets_every_job(client, service) -> None:
    response = submit(client, job_body([{"id": "1", "text": "x"}]))
    service.reset()
    assert client.get(job_path(response)).status_code == 404


# --- predictions and offsets ----------------------------------------------------------------------


def entities_of(body: dict[str, Any], task: int = 0, document: int = 0) -> list[dict[str, Any]]:
    return body["tasks"]["items"][task]["results"]["documents"][document]["entities"]


def test_entities_are_predicted_from_the_deployed_model(client, backend) -> None:
    project = ner_project()
    location, text = next(iter(project.documents.items()))
    body = finished_job(client, backend, job_body([{"id": "doc", "language": "en", "text": text}],
                                                  ner_task(stringIndexType="UnicodeCodePoint")))  # fmt: skip
    entities = entities_of(body)
    labels = project.export["assets"]["documents"][0]["entities"][0]["labels"]
    assert project.export["assets"]["documents"][0]["location"] == location
    assert len(entities) >= 0.8 * len(labels)
    for entity in entities:
        assert set(entity) == {"text", "category", "offset", "length", "confidenceScore"}
        assert text[entity["offset"] : entity["offset"] + entity["length"]] == entity["text"]


@pytest.mark.parametrize(
    ("index_type", "measure"),
    [
        ("UnicodeCodePoint", len),
        ("Utf16CodeUnit", lambda s: len(s.encode("utf-16-le")) // 2),
        ("TextElements_v8", None),
        (None, None),  # TextElements_v8 is the default
    ],
)
def test_entity_offsets_follow_the_requested_string_index_type(client, backend, index_type, measure) -> None:
    from emulator.text_offsets import grapheme_count

    measure = measure or grapheme_count
    parameters = {"stringIndexType": index_type} if index_type else {}
    body = finished_job(client, backend, job_body([{"id": "1", "text": EMOJI_TEXT}], ner_task(**parameters)))
    entities = entities_of(body)
    assert entities, "the model should find the date and the name after the emoji"
    for entity in entities:
        start = EMOJI_TEXT.index(entity["text"])
        assert entity["offset"] == measure(EMOJI_TEXT[:start])
        assert entity["length"] == measure(entity["text"])


def test_the_three_modes_really_differ_on_emoji_text(client, backend) -> None:
    offsets = {}
    for mode in ("UnicodeCodePoint", "Utf16CodeUnit", "TextElements_v8"):
        body = finished_job(
            client, backend, job_body([{"id": "1", "text": EMOJI_TEXT}], ner_task(stringIndexType=mode))
        )
        offsets[mode] = [entity["offset"] for entity in entities_of(body)]
    assert len({tuple(value) for value in offsets.values()}) == 3


def test_single_and_multi_label_classification_in_one_job(client, backend) -> None:
    tickets, movies = single_label_project(), multi_label_project()
    ticket_text = next(iter(tickets.documents.values()))
    movie_text = next(iter(movies.documents.values()))
    body = finished_job(
        client,
        backend,
        job_body(
            [{"id": "t", "text": ticket_text}, {"id": "m", "text": movie_text}],
            {"kind": "CustomSingleLabelClassification", "taskName": "single",
             "parameters": {"projectName": "SupportTickets", "deploymentName": "prod"}},
            {"kind": "CustomMultiLabelClassification", "taskName": "multi",
             "parameters": {"projectName": "MovieGenres", "deploymentName": "prod"}},
        ),
    )  # fmt: skip
    assert body["tasks"]["total"] == 2 and body["tasks"]["completed"] == 2
    single, multi = body["tasks"]["items"]
    assert single["kind"] == "CustomSingleLabelClassificationLROResults"
    assert multi["kind"] == "CustomMultiLabelClassificationLROResults"
    (ticket_class,) = single["results"]["documents"][0]["class"]
    assert ticket_class["category"] == tickets.export["assets"]["documents"][0]["class"]["category"]
    assert 0 < ticket_class["confidenceScore"] <= 1
    movie_classes = {c["category"] for c in multi["results"]["documents"][1]["class"]}
    expected = {c["category"] for c in movies.export["assets"]["documents"][0]["classes"]}
    assert movie_classes == expected


def test_the_same_job_twice_gives_identical_results(client, backend) -> None:
    text = next(iter(ner_project().documents.values()))
    first = finished_job(client, backend, job_body([{"id": "1", "text": text}]))
    second = finished_job(client, backend, job_body([{"id": "1", "text": text}]))
    assert first["tasks"]["items"][0]["results"] == second["tasks"]["items"][0]["results"]


def test_a_job_keeps_the_model_it_was_submitted_against(client, backend, deployed) -> None:
    text = next(iter(ner_project().documents.values()))
    response = submit(client, job_body([{"id": "1", "text": text}]))
    # Redeploying another model right after submission does not change the accepted job.
    backend.deployments[("LoanAgreements", "prod")] = deployed["tickets"]
    backend.advance(JOB_DURATION)
    body = client.get(job_path(response)).get_json()
    assert body["status"] == "succeeded" and entities_of(body)


# --- statistics and paging ------------------------------------------------------------------------


def test_show_stats_adds_job_task_and_document_statistics(client, backend) -> None:
    documents = [{"id": "1", "text": "Date 6/29/2018"}, {"id": "2", "text": ""}]
    body = finished_job(client, backend, job_body(documents), query="&showStats=true")
    assert body["statistics"] == {
        "documentsCount": 2, "validDocumentsCount": 1, "erroneousDocumentsCount": 1, "transactionsCount": 1,
    }  # fmt: skip
    results = body["tasks"]["items"][0]["results"]
    assert results["statistics"]["validDocumentsCount"] == 1
    assert results["documents"][0]["statistics"] == {"charactersCount": 14, "transactionsCount": 1}
    plain = finished_job(client, backend, job_body(documents))
    assert (
        "statistics" not in plain
        and "statistics" not in plain["tasks"]["items"][0]["results"]["documents"][0]
    )


def test_top_and_skip_page_the_documents_with_a_next_link(client, backend) -> None:
    documents = [{"id": str(i), "text": f"Date {i}/1/2020"} for i in range(5)]
    response = submit(client, job_body(documents))
    backend.advance(JOB_DURATION)
    seen: list[str] = []
    path = job_path(response) + "&top=2"
    pages = 0
    while path:
        body = client.get(path).get_json()
        seen += [d["id"] for d in body["tasks"]["items"][0]["results"]["documents"]]
        pages += 1
        next_link = body.get("nextLink")
        path = f"{urlsplit(next_link).path}?{urlsplit(next_link).query}" if next_link else ""
    assert seen == ["0", "1", "2", "3", "4"] and pages == 3


# --- request validation -----------------------------------------------------------------------------


def test_empty_text_and_unsupported_language_are_per_document_errors(client, backend) -> None:
    documents = [
        {"id": "ok", "text": "Date 6/29/2018", "language": "en-us"},
        {"id": "empty", "text": "  ", "language": "en"},
        {"id": "klingon", "text": "Date 6/29/2018", "language": "tlh"},
    ]
    body = finished_job(client, backend, job_body(documents))
    results = body["tasks"]["items"][0]["results"]
    assert [d["id"] for d in results["documents"]] == ["ok"]
    errors = {e["id"]: e["error"] for e in results["errors"]}
    assert errors["empty"]["innererror"]["code"] == "InvalidDocument"
    assert errors["klingon"]["innererror"]["code"] == "UnsupportedLanguageCode"
    assert body["status"] == "succeeded"


@pytest.mark.parametrize(
    ("body", "inner_code"),
    [
        (job_body([{"id": str(i), "text": "x"} for i in range(26)]), "InvalidDocumentBatch"),
        (job_body([{"id": "1", "text": "x" * 125_001}]), "InvalidDocumentBatch"),
        (job_body([{"id": "1", "text": "x" * 62_501}, {"id": "2", "text": "y" * 62_500}]),
         "InvalidDocumentBatch"),
        (job_body([{"id": "1", "text": "a"}, {"id": "1", "text": "b"}]), "InvalidDocument"),
        (job_body([]), "MissingInputDocuments"),
        ({"analysisInput": {"documents": [{"id": "1", "text": "x"}]}, "tasks": []}, "InvalidRequest"),
        (job_body([{"id": "1", "text": "x"}], ner_task(stringIndexType="Utf8")), "InvalidParameterValue"),
        (job_body([{"id": "1", "text": "x"}], {"kind": "CustomEntityRecognition", "parameters": {}}),
         "InvalidParameterValue"),
        (job_body([{"id": "1", "text": "x"}], {"kind": "Translation", "parameters": {}}),
         "InvalidParameterValue"),
    ],
)  # fmt: skip
def test_invalid_requests_are_refused_whole_with_400(client, body, inner_code) -> None:
    response = submit(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "InvalidArgument"
    assert error["innererror"]["code"] == inner_code


def test_exactly_25_documents_and_125000_characters_are_accepted(client) -> None:
    documents = [{"id": str(i), "text": "x" * 5000} for i in range(25)]
    assert submit(client, job_body(documents)).status_code == 202


def test_characters_are_counted_as_text_elements(client) -> None:
    # 100,000 decomposed "é" are 200,000 code points but 100,000 text elements: within the limit.
    assert submit(client, job_body([{"id": "1", "text": "e\u0301" * 100_000}])).status_code == 202


def test_malformed_json_is_a_400_not_a_500(client) -> None:
    response = client.post(
        f"/language/analyze-text/jobs?api-version={API}", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["innererror"]["code"] == "InvalidRequestBodyFormat"


def test_unknown_deployment_is_refused_with_404_by_default(client) -> None:
    response = submit(client, job_body([{"id": "1", "text": "x"}], ner_task(deploymentName="nope")))
    assert response.status_code == 404
    assert "nope" in response.get_json()["error"]["message"]


def test_unknown_deployment_can_fail_the_task_instead(client, service, backend) -> None:
    service.missing_deployment = "fail-task"
    body = finished_job(
        client, backend, job_body([{"id": "1", "text": "x"}], ner_task(deploymentName="nope"))
    )
    assert body["status"] == "failed"
    assert body["tasks"]["failed"] == 1 and body["tasks"]["items"][0]["status"] == "failed"
    assert body["errors"][0]["target"] == "#/tasks/items/0"
    mixed = finished_job(
        client, backend, job_body([{"id": "1", "text": "x"}], ner_task(), ner_task(deploymentName="nope"))
    )
    assert mixed["status"] == "partiallyCompleted"


def test_a_task_kind_that_does_not_match_the_deployment_is_refused(client) -> None:
    task = {"kind": "CustomSingleLabelClassification",
            "parameters": {"projectName": "LoanAgreements", "deploymentName": "prod"}}  # fmt: skip
    assert submit(client, job_body([{"id": "1", "text": "x"}], task)).status_code == 400


@pytest.mark.parametrize("kind", ["CustomEntityRecognition", "CustomSingleLabelClassification"])
def test_the_sync_endpoint_rejects_custom_kinds(client, kind) -> None:
    body = {
        "kind": kind,
        "analysisInput": {"documents": [{"id": "1", "text": "x"}]},
        "parameters": {"projectName": "LoanAgreements", "deploymentName": "prod"},
    }
    response = client.post(f"/language/:analyze-text?api-version={API}", json=body)
    assert response.status_code == 400
    assert "analyze-text/jobs" in response.get_json()["error"]["message"]


SERVER_ERROR = {"code": "InternalServerError", "message": "Something happened. Please retry after some time."}


def test_an_injected_failure_fails_the_job_with_a_server_side_error(client, backend) -> None:
    failures = [SERVER_ERROR]
    backend.take_runtime_job_failure = lambda: failures.pop() if failures else None
    body = finished_job(client, backend, job_body([{"id": "1", "text": "Date 6/29/2018"}]))
    assert body["status"] == "failed"
    assert body["tasks"]["failed"] == 1 and body["tasks"]["items"][0]["status"] == "failed"
    assert body["errors"] == [{**SERVER_ERROR, "target": "#/tasks/items/0"}]
    # Only the next job was meant to fail.
    assert (
        finished_job(client, backend, job_body([{"id": "1", "text": "Date 6/29/2018"}]))["status"]
        == "succeeded"
    )

"""AuthoringClient against the real emulator over HTTP: jobs, paging, errors, faults and auth."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from emulator.config import DEFAULT_JOB_SECONDS
from emulator.tokens import EmulatorTokenCredential
from localdev.sample_project import SampleProject, ner_project, single_label_project, upload_documents
from localdev.services import Azurite, EmulatorRegion
from shared.clock import FakeClock
from shared.language import retry
from shared.language.authoring import AuthoringClient, JobFailed, JobStatus, LanguageApiError
from shared.language.credentials import KeyAuth, TokenAuth
from shared.language.export_format import parse_export
from shared.language.request_budget import BudgetLimits, InMemoryRequestBudget
from shared.language.retry import RetryLater, SubmissionOutcomeUnknown
from tests.conftest import Regions

POLL = {"poll_interval": 0.02, "deadline": 30.0}


def client_for(region: EmulatorRegion, **kwargs: Any) -> AuthoringClient:
    return AuthoringClient(region.endpoint, KeyAuth(region.key), **kwargs)


def control(region: EmulatorRegion, path: str, body: dict[str, Any] | None = None) -> Any:
    return json.loads(region.control(path, json.dumps(body or {}).encode()))


def jobs(region: EmulatorRegion, kind: str | None = None) -> list[dict[str, Any]]:
    response = requests.get(f"{region.control_url}/_emulator/jobs", timeout=5)
    return [job for job in response.json()["value"] if kind is None or job["kind"] == kind]


def import_sample(
    client: AuthoringClient, azurite: Azurite, sample: SampleProject, account: str = "primarydocs"
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string(account))
    upload_documents(service.get_container_client(sample.container), sample)
    job = client.wait(client.start_import(sample.name, json.dumps(sample.export).encode()), **POLL)
    job.raise_for_failure()


def imported_sample(region: EmulatorRegion, azurite: Azurite) -> tuple[AuthoringClient, SampleProject]:
    """A client for `region` and a small classification project imported there."""
    client = client_for(region)
    sample = single_label_project(documents=10)
    import_sample(client, azurite, sample)
    return client, sample


def inject_error(region: EmulatorRegion, **rule: Any) -> None:
    control(region, "/_emulator/faults/errors", rule)


@pytest.fixture(autouse=True)
def quick_retries() -> Any:
    with retry.testing(attempts=4, sleep=lambda _: None, max_sleep=5):
        yield


def test_import_train_deploy_export_round_trip(regions: Regions, azurite: Azurite) -> None:
    client = client_for(regions.primary)
    sample = ner_project(documents=12)
    import_sample(client, azurite, sample)
    project = client.get_project(sample.name)
    assert project is not None and project["projectKind"] == "CustomEntityRecognition"

    versions = client.training_config_versions("CustomEntityRecognition")
    assert versions and all("trainingConfigVersion" in v for v in versions)
    train_url = client.start_training(
        sample.name,
        model_label="model1",
        training_config_version=versions[-1]["trainingConfigVersion"],
        evaluation_options={"kind": "manual"},
    )
    trained = client.wait(train_url, **POLL)
    assert trained.succeeded and trained.raw["result"]["modelLabel"] == "model1"
    [listed] = client.list_training_jobs(sample.name)
    assert listed["result"]["modelLabel"] == "model1"
    assert client.get_job(client.training_job_url(sample.name, listed["jobId"])).succeeded
    model = client.get_model(sample.name, "model1")
    assert model is not None and model["label"] == "model1"
    assert [m["label"] for m in client.list_models(sample.name)] == ["model1"]

    client.wait(client.start_deployment(sample.name, "prod", trained_model_label="model1"), **POLL)
    deployment = client.get_deployment(sample.name, "prod")
    assert deployment is not None and deployment["deploymentName"] == "prod"
    assert [d["deploymentName"] for d in client.list_deployments(sample.name)] == ["prod"]

    exported = client.wait(client.start_export(sample.name, trained_model_label="model1"), **POLL)
    assert exported.succeeded and exported.result_url
    with client.open_export_result(exported.result_url) as stream:
        export = parse_export(stream)
    assert export.content_hash() == parse_export(json.dumps(sample.export).encode()).content_hash()


def test_absent_things_are_none_and_errors_carry_the_service_code(regions: Regions) -> None:
    client = client_for(regions.primary)
    assert client.get_project("Nothing") is None
    assert client.get_deployment("Nothing", "prod") is None
    assert client.get_model("Nothing", "m") is None
    with pytest.raises(LanguageApiError) as caught:
        client.start_training("Nothing", model_label="m", training_config_version="latest")
    assert caught.value.status == 404
    assert caught.value.service_code in ("ProjectNotFound", "NotFound")
    assert caught.value.service_message


def test_bad_import_is_a_typed_error_or_a_failed_job(regions: Regions) -> None:
    client = client_for(regions.primary)
    body = ner_project(documents=3).export
    body["assets"]["projectKind"] = "CustomSingleLabelClassification"
    with pytest.raises((LanguageApiError, JobFailed)) as caught:
        url = client.start_import("Broken", json.dumps(body).encode())
        client.wait(url, **POLL).raise_for_failure()
    assert "kind" in str(caught.value).lower()


def test_paging_follows_next_link(regions: Regions, azurite: Azurite) -> None:
    client = client_for(regions.primary)
    for index in range(3):
        sample = single_label_project(name=f"Tickets{index}", container=f"tickets{index}", documents=10)
        import_sample(client, azurite, sample)
    before = len(jobs(regions.primary))
    names = [project["projectName"] for project in client.list_projects(page_size=2)]
    assert sorted(names) == ["Tickets0", "Tickets1", "Tickets2"]
    assert len(jobs(regions.primary)) == before


def test_a_429_storm_is_waited_out_with_retry_after(regions: Regions, azurite: Azurite) -> None:
    slept: list[float] = []
    client = client_for(regions.primary)
    sample = single_label_project(documents=10)
    control(
        regions.primary,
        "/_emulator/faults/throttle",
        {"method": "POST", "path": ":import", "count": 2, "retryAfterSeconds": 2},
    )
    with retry.testing(attempts=4, sleep=slept.append, max_sleep=5):
        import_sample(client, azurite, sample)
    assert slept[:2] == [2.0, 2.0]
    assert len(jobs(regions.primary, "import")) == 1


def test_a_long_throttle_goes_back_to_the_scheduler(regions: Regions) -> None:
    client = client_for(regions.primary)
    control(
        regions.primary, "/_emulator/faults/throttle", {"method": "POST", "count": 1, "retryAfterSeconds": 30}
    )
    with pytest.raises(RetryLater) as caught:
        client.start_training("P", model_label="m", training_config_version="latest")
    assert caught.value.delay >= 30


def test_a_503_burst_on_gets_is_retried(regions: Regions, azurite: Azurite) -> None:
    client, sample = imported_sample(regions.primary, azurite)
    inject_error(regions.primary, method="GET", path="/projects/", status=503, count=3)
    assert client.get_project(sample.name) is not None


def test_a_503_on_a_post_is_not_resent(regions: Regions, azurite: Azurite) -> None:
    client, sample = imported_sample(regions.primary, azurite)
    inject_error(regions.primary, method="POST", path=":train", status=503, count=1)
    with pytest.raises(SubmissionOutcomeUnknown) as caught:
        client.start_training(sample.name, model_label="m", training_config_version="latest")
    assert caught.value.status == 503
    assert jobs(regions.primary, "train") == []


def test_a_reset_after_the_post_was_processed_gives_one_job_and_an_unknown_outcome(
    regions: Regions, azurite: Azurite
) -> None:
    client, sample = imported_sample(regions.primary, azurite)
    inject_error(regions.primary, method="POST", path=":train", action="reset-after", count=1)
    with pytest.raises(SubmissionOutcomeUnknown):
        client.start_training(sample.name, model_label="m", training_config_version="latest")
    trainings = jobs(regions.primary, "train")
    assert len(trainings) == 1  # the service took it; we did not send it again
    assert [job["result"]["modelLabel"] for job in client.list_training_jobs(sample.name)] == ["m"]


def test_a_reset_before_processing_a_get_is_retried(regions: Regions, azurite: Azurite) -> None:
    client = client_for(regions.primary)
    inject_error(regions.primary, method="GET", action="reset-before", count=2)
    assert list(client.list_projects()) == []


def test_an_unreachable_region_asks_to_retry_later(regions: Regions) -> None:
    client = client_for(regions.primary, timeout=(0.5, 2))
    control(regions.primary, "/_emulator/faults/outage", {"mode": "refuse", "seconds": 5})
    try:
        with pytest.raises(RetryLater):
            client.get_project("P")
    finally:
        control(regions.primary, "/_emulator/faults/outage", {"mode": "none"})


def test_a_failed_training_job_surfaces_the_service_reason(regions: Regions, azurite: Azurite) -> None:
    client, sample = imported_sample(regions.primary, azurite)
    control(
        regions.primary,
        "/_emulator/faults/jobs",
        {
            "kind": "train",
            "code": "Unspecified",
            "message": "Something happened. Please retry after some time.",
        },
    )
    status = client.wait(
        client.start_training(sample.name, model_label="m", training_config_version="latest"), **POLL
    )
    assert status.status == "failed"
    with pytest.raises(JobFailed) as caught:
        status.raise_for_failure()
    assert caught.value.retryable
    assert "Something happened" in str(caught.value)


def test_bearer_tokens_from_an_injected_credential(regions: Regions) -> None:
    credential = EmulatorTokenCredential("Owner")
    client = AuthoringClient(regions.primary.endpoint, TokenAuth(credential))
    assert list(client.list_projects()) == []
    assert list(client.list_projects()) == []
    assert len(credential.scopes_requested) == 1  # cached
    assert credential.scopes_requested[0] == ("https://cognitiveservices.azure.com/.default",)


def test_a_reader_token_cannot_train(regions: Regions) -> None:
    client = AuthoringClient(regions.primary.endpoint, TokenAuth(EmulatorTokenCredential("Reader")))
    with pytest.raises(LanguageApiError) as caught:
        client.start_training("P", model_label="m", training_config_version="latest")
    assert caught.value.status == 403


def test_a_wrong_key_is_unauthorized(regions: Regions) -> None:
    client = AuthoringClient(regions.primary.endpoint, KeyAuth("wrong"))
    with pytest.raises(LanguageApiError) as caught:
        client.get_project("P")
    assert caught.value.status == 401


def test_credentials_are_never_sent_to_another_host(regions: Regions) -> None:
    client = client_for(regions.primary)
    with pytest.raises(LanguageApiError, match="refusing to send credentials"):
        client.get_job(
            f"{regions.secondary.endpoint}/language/authoring/analyze-text/projects/p/train/jobs/x"
        )


def test_the_request_budget_is_charged_and_defers_work(regions: Regions) -> None:
    clock = FakeClock()
    budget = InMemoryRequestBudget(clock, BudgetLimits(reads_per_minute=2, writes_per_minute=1))
    client = client_for(regions.primary, budget=budget, clock=clock)
    for name in "ABC":  # known kinds: one read each (an unknown project is looked up in both families)
        client.note_kind(name, "CustomEntityRecognition")
    client.get_project("A")
    client.get_project("B")
    with pytest.raises(RetryLater, match="request budget"):
        client.get_project("C")  # 60 s is too long to wait inside one call


def test_streamed_import_body_is_rewound_after_a_429(regions: Regions, azurite: Azurite) -> None:
    import io

    client = client_for(regions.primary)
    sample = single_label_project(documents=10)
    service = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    upload_documents(service.get_container_client(sample.container), sample)
    control(
        regions.primary,
        "/_emulator/faults/throttle",
        {"method": "POST", "path": ":import", "count": 1, "retryAfterSeconds": 1},
    )
    body = io.BytesIO(json.dumps(sample.export).encode())
    status = client.wait(client.start_import(sample.name, body), **POLL)
    assert status.succeeded


def test_a_broken_download_asks_to_retry_later() -> None:
    from shared.language.authoring import _InterruptibleDownload

    class Broken:
        def read(self, size: int | None = None) -> bytes:
            raise ConnectionResetError(104, "reset")

        def close(self) -> None:
            pass

    with pytest.raises(RetryLater, match="interrupted"):
        _InterruptibleDownload(Broken(), "http://127.0.0.1/result?api-version=x").read(10)


def test_cancel_a_long_training_and_delete_everything(regions: Regions, azurite: Azurite) -> None:
    client, sample = imported_sample(regions.primary, azurite)
    client.wait(
        client.start_training(sample.name, model_label="m1", training_config_version="latest"), **POLL
    )
    client.wait(client.start_deployment(sample.name, "prod", trained_model_label="m1"), **POLL)

    # /_emulator/reset keeps durations, so the default is put back for the tests after this one.
    control(regions.primary, "/_emulator/durations", {"train": 1_000_000})  # ~17 minutes at the test scale
    try:
        slow = client.start_training(sample.name, model_label="m2", training_config_version="latest")
        assert not client.get_job(slow).done
        cancelled = client.wait(client.cancel_training(slow), **POLL)
        assert cancelled.status == "cancelled"
        with pytest.raises(JobFailed, match="cancelled"):
            client.get_job(slow).raise_for_failure()
    finally:
        control(regions.primary, "/_emulator/durations", {"train": DEFAULT_JOB_SECONDS["train"]})

    assert client.wait(client.delete_deployment(sample.name, "prod"), **POLL).succeeded
    assert client.get_deployment(sample.name, "prod") is None
    client.delete_model(sample.name, "m1")
    client.delete_model(sample.name, "m1")  # already gone: still fine
    assert client.get_model(sample.name, "m1") is None
    assert client.wait(client.delete_project(sample.name), **POLL).succeeded
    assert client.get_project(sample.name) is None


def test_import_streams_straight_from_a_snapshot(regions: Regions, azurite: Azurite) -> None:
    from shared.storage.snapshots import SnapshotStore

    client = client_for(regions.primary)
    sample = ner_project(documents=8)
    service = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    upload_documents(service.get_container_client(sample.container), sample)
    snapshot_service = BlobServiceClient.from_connection_string(azurite.connection_string())
    store = SnapshotStore(snapshot_service.get_container_client("snapshots"), FakeClock())
    info = store.save_bytes(
        sample.name, json.dumps(sample.export).encode(), source_endpoint="x", reason="test"
    )
    with store.open(info.name) as stream:
        status = client.wait(client.start_import(sample.name, stream), **POLL)
    assert status.succeeded
    exported = client.wait(client.start_export(sample.name), **POLL)
    assert exported.result_url
    with client.open_export_result(exported.result_url) as result:
        assert parse_export(result).content_hash() == info.content_hash


@pytest.mark.parametrize("state", ["failed", "cancelled", "partiallyCompleted"])
def test_every_unsuccessful_terminal_state_surfaces_the_jobs_errors(state: str) -> None:
    body = {
        "jobId": "j1",
        "status": state,
        "errors": [{"code": "InvalidRequest", "message": "Document 3 is empty."}],
        "warnings": [{"code": "LowData", "message": "Few documents."}],
    }
    status = JobStatus.from_body("https://x/jobs/j1", body)
    assert status.done and not status.succeeded
    with pytest.raises(JobFailed) as caught:
        status.raise_for_failure()
    assert caught.value.status == state
    assert str(caught.value.message) == f"job {state}: InvalidRequest: Document 3 is empty."
    assert caught.value.warnings == body["warnings"] and caught.value.job_url == "https://x/jobs/j1"
    JobStatus.from_body("https://x/jobs/j2", {"status": "running"}).raise_for_failure()  # not over: no error


@pytest.fixture
def silent_server() -> Any:
    """A loopback server that accepts connections and reads requests but never answers."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_service_that_never_answers_times_out_and_a_post_is_not_resent(silent_server: Any) -> None:
    endpoint, accepted = silent_server
    client = AuthoringClient(endpoint, KeyAuth("k"), timeout=(1.0, 0.2))
    client.note_kind("P", "CustomEntityRecognition")
    # A read is retried (a few short attempts), then handed back to the scheduler.
    with pytest.raises(RetryLater):
        client.get_project("P")
    reads = len(accepted)
    assert reads >= 2
    # A POST that was sent and never answered may have started a job: one attempt, outcome unknown.
    with pytest.raises(SubmissionOutcomeUnknown):
        client.start_training("P", model_label="m", training_config_version="latest")
    assert len(accepted) == reads + 1


# -- the analyze-conversations route family (CLU, orchestration) ------------------------------------


class _Recording(requests.Session):
    """A real session that remembers each request's method and URL (nothing is faked)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                ) -> requests.Response:  # type: ignore[override]
        self.sent.append((str(method), str(url)))
        return super().request(method, url, *args, **kwargs)


def test_a_clu_project_is_served_by_the_conversations_family_end_to_end(regions: Regions,
                                                                       azurite: Azurite) -> None:
    from localdev.conversation_samples import clu_project

    name = "Coffee-" + "x" * 73   # 80 characters: longer than a text project's name may be
    session = _Recording()
    client = client_for(regions.primary, session=session)
    job = client.wait(client.start_import(name, json.dumps(clu_project(name)).encode(), kind="Conversation"),
                      **POLL)
    job.raise_for_failure()
    import_url = next(url for method, url in session.sent if method == "POST" and ":import" in url)
    assert "/language/authoring/analyze-conversations/projects/" in import_url
    assert "format=Conversation" in import_url
    imported_sample(regions.primary, azurite)   # a text project beside it

    fresh = client_for(regions.primary, session=_Recording())
    kinds = {p["projectName"]: p["projectKind"] for p in fresh.list_projects()}
    assert kinds[name] == "Conversation" and "CustomSingleLabelClassification" in kinds.values()
    with pytest.raises(ValueError, match="trainingMode"):
        fresh.start_training(name, model_label="m1", training_config_version="latest")
    trained = fresh.wait(fresh.start_training(name, model_label="m1", training_config_version="latest",
                                              training_mode="advanced"), **POLL)
    trained.raise_for_failure()
    assert [job["result"]["trainingMode"] for job in fresh.list_training_jobs(name)] == ["advanced"]
    assert fresh.get_model(name, "m1") is not None

    exported = fresh.wait(fresh.start_export(name, trained_model_label="m1"), **POLL)
    exported.raise_for_failure()
    export_url = next(url for method, url in fresh._session.sent  # type: ignore[attr-defined]
                      if ":export" in url)
    assert "format=Conversation" in export_url and "stringIndexType=Utf16CodeUnit" in export_url
    assert exported.result_url is not None
    with fresh.open_export_result(exported.result_url) as stream:
        body = json.loads(stream.read())
    assert body["assets"]["projectKind"] == "Conversation"
    assert len(body["assets"]["utterances"]) == len(clu_project(name)["assets"]["utterances"])


def test_a_project_of_unknown_kind_is_looked_up_text_family_first(regions: Regions) -> None:
    from localdev.conversation_samples import clu_project

    client = client_for(regions.primary)
    client.wait(client.start_import("Desk", json.dumps(clu_project("Desk")).encode(), kind="Conversation"),
                **POLL).raise_for_failure()
    session = _Recording()
    fresh = client_for(regions.primary, session=session)
    assert fresh.list_models("Desk") == []
    assert [urlsplit_path(url) for _, url in session.sent] == [
        "/language/authoring/analyze-text/projects/Desk",
        "/language/authoring/analyze-conversations/projects/Desk",
        "/language/authoring/analyze-conversations/projects/Desk/models",
    ]
    assert fresh.get_project("Missing") is None
    fresh.note_kind("Known", "CustomEntityRecognition")
    before = len(session.sent)
    assert fresh.get_project("Known") is None
    assert len(session.sent) == before + 1   # a known kind is read in its own family only


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path

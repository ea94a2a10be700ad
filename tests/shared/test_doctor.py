"""`python -m shared doctor`: every check passing against the emulator, and each one failing when the
emulator (or Azurite, or the settings) is told to refuse what it checks."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

import pytest
from azure.storage.blob import BlobServiceClient

from emulator.tokens import EmulatorTokenCredential
from localdev.sample_project import ner_project
from localdev.services import free_port
from shared.doctor import FAIL, PASS, SKIP, DoctorReport, run_doctor
from shared.engine import ReplicationEngine
from shared.language import retry
from shared.language.request_budget import BudgetLimits, InMemoryRequestBudget
from shared.runs.scheduler import InMemoryScheduler
from shared.settings import settings_from_values
from tests.shared.engine.support import control, seed, settings_values

PROJECT = "LoanAgreements"


def doctor(regions, azurite, *, credential=None, **extra: str) -> DoctorReport:
    clock_now = datetime.now(UTC)
    from shared.clock import FakeClock

    clock = FakeClock(clock_now)
    settings = settings_from_values(settings_values(regions, azurite, PROJECT, **extra))
    engine = ReplicationEngine.from_settings(
        settings, clock=clock, scheduler=InMemoryScheduler(clock), credential=credential,
        budget=InMemoryRequestBudget(clock, BudgetLimits(reads_per_minute=1000, writes_per_minute=100)))
    with retry.testing(attempts=2, sleep=lambda seconds: None):
        return run_doctor(engine, timeout=2)


def status(report: DoctorReport, subject: str, check: str) -> str:
    found = {c.status for c in report.checks if c.subject == subject and c.name == check}
    assert found, f"no {check} check for {subject}:\n{report.to_text()}"
    return FAIL if FAIL in found else (SKIP if SKIP in found else PASS)


def only_failures(report: DoctorReport) -> set[tuple[str, str]]:
    return {(c.subject, c.name) for c in report.checks if c.status == FAIL}


@pytest.fixture
def seeded(regions, azurite):
    seed(regions.primary, azurite.connection_string("primarydocs"), ner_project(PROJECT), train=False)
    return regions


def refuse(region, check: str) -> None:
    control(region, "/_emulator/faults/refuse", {"check": check})


def test_everything_passes_against_the_emulator(seeded, azurite):
    report = doctor(seeded, azurite)

    assert report.ok, report.to_text()
    for subject in ("primary", "secondary"):
        for check in ("endpoint", "auth", "api-version", "role", "projects"):
            assert status(report, subject, check) == PASS
    assert status(report, "secondary", "region") == PASS
    assert status(report, "primary", "replicated-projects") == PASS
    assert status(report, "primary", "documents") == PASS
    assert status(report, "secondary", "documents") == PASS
    assert status(report, "secondary", "linkage") == PASS
    assert status(report, "storage", "snapshots") == PASS
    assert report.to_text().endswith("Summary: 22 passed, 0 failed, 0 not checked")  # as the README shows


def emulator_state(region) -> dict:
    with urllib.request.urlopen(f"{region.control_url}/_emulator/state", timeout=10) as response:
        return dict(json.loads(response.read()))


def test_it_changes_nothing(seeded, azurite):
    before = [emulator_state(region) for region in seeded.all()]
    doctor(seeded, azurite, credential=EmulatorTokenCredential("Owner"), SECONDARY_LANGUAGE_KEY="")
    after = [emulator_state(region) for region in seeded.all()]
    assert before == after
    assert not BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs")) \
        .get_container_client(ner_project(PROJECT).container).exists()


@pytest.mark.parametrize(("check", "fails"), [
    ("subdomain", "endpoint"), ("auth", "auth"), ("api-version", "api-version"), ("projects", "projects"),
])
def test_each_language_check_fails_when_the_emulator_refuses_it(seeded, azurite, check, fails):
    refuse(seeded.secondary, check)

    report = doctor(seeded, azurite)

    assert not report.ok
    assert only_failures(report) == {("secondary", fails)}, report.to_text()
    failed = next(c for c in report.checks if c.status == FAIL)
    assert failed.fix
    assert seeded.secondary.key not in report.to_text()


def test_the_region_check_fails_when_the_target_offers_no_authoring(seeded, azurite):
    refuse(seeded.secondary, "region")
    assert only_failures(doctor(seeded, azurite)) == {("secondary", "region")}


def test_a_target_configured_in_a_region_without_authoring_fails(seeded, azurite):
    report = doctor(seeded, azurite, SECONDARY_REGION="westus")
    assert only_failures(report) == {("secondary", "region")}, report.to_text()


def test_a_regional_endpoint_fails_the_subdomain_check_without_a_request(regions, azurite):
    from shared.doctor import _Collector, _language_checks
    from shared.settings import LanguageResource

    found = _Collector()
    resource = LanguageResource("secondary", "https://westus2.api.cognitive.microsoft.com", key="k")
    assert _language_checks(found, resource, None, "target", {}) is None  # type: ignore[arg-type]
    assert [(c.name, c.status) for c in found.checks][:2] == [("endpoint", FAIL), ("auth", SKIP)]


class NoLanguageRole:
    """A valid token whose identity holds no Language role (say, only a storage role)."""

    def get_token(self, *scopes, **kwargs):
        import time

        import jwt
        from azure.core.credentials import AccessToken

        from emulator.tokens import AUDIENCE, DEFAULT_TOKEN_SECRET

        expires = int(time.time()) + 3600
        claims = {"aud": AUDIENCE, "exp": expires, "oid": "no-role", "roles": ["Storage Blob Data Reader"]}
        return AccessToken(jwt.encode(claims, DEFAULT_TOKEN_SECRET, algorithm="HS256"), expires)


def test_roles_reader_on_the_primary_and_owner_on_the_target(seeded, azurite):
    report = doctor(seeded, azurite, credential=EmulatorTokenCredential("Owner"),
                    PRIMARY_LANGUAGE_KEY="", SECONDARY_LANGUAGE_KEY="")
    assert report.ok, report.to_text()
    assert "Owner" in next(c.detail for c in report.checks if c.subject == "secondary" and c.name == "role")

    writer = doctor(seeded, azurite, credential=EmulatorTokenCredential("Writer"),
                    PRIMARY_LANGUAGE_KEY="", SECONDARY_LANGUAGE_KEY="")
    assert only_failures(writer) == {("secondary", "role")}, writer.to_text()
    assert "Cognitive Services Language Owner" in writer.to_text()

    nothing = doctor(seeded, azurite, credential=NoLanguageRole(),
                     PRIMARY_LANGUAGE_KEY="", SECONDARY_LANGUAGE_KEY="")
    assert ("primary", "role") in only_failures(nothing), nothing.to_text()


def test_a_missing_credential_fails_auth_saying_what_to_set(seeded, azurite):
    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            from azure.identity import CredentialUnavailableError

            raise CredentialUnavailableError("no identity here")

    report = doctor(seeded, azurite, credential=NoCredential(), PRIMARY_LANGUAGE_KEY="")
    assert only_failures(report) == {("primary", "auth")}, report.to_text()
    assert "PRIMARY_LANGUAGE_KEY" in next(c.detail for c in report.checks if c.status == FAIL)


def test_a_replicated_project_missing_on_the_primary_fails(seeded, azurite):
    report = doctor(seeded, azurite, REPLICATED_PROJECTS=f"{PROJECT},Nope")
    assert only_failures(report) == {("primary", "replicated-projects")}, report.to_text()


def test_a_missing_documents_container_on_the_primary_fails(seeded, azurite):
    BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")).delete_container(
        ner_project(PROJECT).container)
    report = doctor(seeded, azurite)
    assert only_failures(report) == {("primary", "documents")}, report.to_text()


def test_a_replica_reading_another_container_fails_the_linkage_check(seeded, azurite):
    project = ner_project(PROJECT)
    other = BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs"))
    other.create_container(project.container)
    other.create_container("elsewhere")
    export = json.loads(json.dumps(project.export))
    export["metadata"]["storageInputContainerName"] = "elsewhere"
    from tests.shared.engine.support import authoring, wait_job

    client = authoring(seeded.secondary)
    wait_job(client, client.start_import(PROJECT, json.dumps(export).encode()))

    report = doctor(seeded, azurite)
    assert only_failures(report) == {("secondary", "linkage")}, report.to_text()


def test_an_unreachable_service_fails_reachable_and_skips_what_depends_on_it(seeded, azurite):
    report = doctor(seeded, azurite, SECONDARY_LANGUAGE_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert only_failures(report) == {("secondary", "reachable")}, report.to_text()
    assert status(report, "secondary", "auth") == SKIP


# -- the CLI and the HTTP route over the same report ----------------------------------------------------


def test_the_cli_prints_one_line_per_check_and_exits_1_on_a_failure(seeded, azurite):
    import io

    from shared.cli.main import EXIT_FAILED, EXIT_OK, main

    values = settings_values(seeded, azurite, PROJECT)
    out, err = io.StringIO(), io.StringIO()
    assert main(["doctor"], environ=values, out=out, err=err) == EXIT_OK, out.getvalue() + err.getvalue()
    assert out.getvalue().startswith("PASS  ") and "0 failed" in out.getvalue()

    refuse(seeded.primary, "auth")
    out = io.StringIO()
    assert main(["doctor", "--json"], environ=values, out=out, err=err) == EXIT_FAILED
    body = json.loads(out.getvalue())
    assert body["ok"] is False and body["failed"] == 1
    assert seeded.primary.key not in out.getvalue()


def test_get_api_doctor_answers_the_report_as_json_or_text(seeded, azurite):
    from shared.functions import http_api
    from tests.shared.engine.support import make_engine
    from tests.shared.functions.host import http_request, json_body
    from tests.shared.functions.providers import provider_of

    provider = provider_of(make_engine(seeded, azurite, project=PROJECT))
    response = http_api.handle_doctor(http_request("GET", "doctor"), provider)
    assert response.status_code == 200
    assert json_body(response)["ok"] is True
    text = http_api.handle_doctor(http_request("GET", "doctor", params={"format": "text"}), provider)
    assert text.get_body().decode().startswith("PASS  ")
    bad = http_api.handle_doctor(http_request("GET", "doctor", params={"format": "xml"}), provider)
    assert bad.status_code == 400


def test_unreachable_snapshot_storage_fails_and_leaves_the_language_checks_unchecked(seeded, azurite):
    dead = azurite.connection_string().replace(str(azurite.blob_port), str(free_port()))
    report = doctor(seeded, azurite, SNAPSHOT_STORAGE=dead)
    assert only_failures(report) == {("storage", "reachable")}, report.to_text()
    assert status(report, "primary", "auth") == SKIP and status(report, "secondary", "role") == SKIP


def _wrong_key(connection: str) -> str:
    from localdev.services import DEV_ACCOUNT_KEY

    return connection.replace(DEV_ACCOUNT_KEY, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")


def test_a_target_storage_that_refuses_us_fails_its_documents_check(seeded, azurite):
    wrong = _wrong_key(azurite.connection_string("secondarydocs"))
    report = doctor(seeded, azurite, SECONDARY_DOCUMENTS_STORAGE=wrong)
    assert only_failures(report) == {("secondary", "documents")}, report.to_text()
    assert "HTTP 403" in report.to_text() and "Storage Blob Data Contributor" in report.to_text()


def test_a_snapshot_storage_that_refuses_us_fails_the_snapshots_check(seeded, azurite):
    report = doctor(seeded, azurite, SNAPSHOT_STORAGE=_wrong_key(azurite.connection_string()))
    assert only_failures(report) == {("storage", "snapshots")}, report.to_text()


def test_a_replicated_project_of_an_unsupported_kind_fails_and_star_only_notes_it():
    from types import SimpleNamespace

    from shared.doctor import _Collector, _replicated_project_checks
    from tests.shared.setting_values import offline_values

    projects = {"Chat": {"projectName": "Chat", "projectKind": "CustomQuestionAnswering"},
                "Loans": {"projectName": "Loans", "projectKind": "CustomEntityRecognition"}}
    named = _Collector()
    engine = SimpleNamespace(settings=settings_from_values(offline_values(REPLICATED_PROJECTS="Loans,Chat")))
    _replicated_project_checks(named, engine, projects)  # type: ignore[arg-type]
    assert [c.status for c in named.checks] == [PASS, FAIL]
    assert "CustomQuestionAnswering" in named.checks[1].detail

    everything = _Collector()
    engine = SimpleNamespace(settings=settings_from_values(offline_values(REPLICATED_PROJECTS="*")))
    _replicated_project_checks(everything, engine, projects)  # type: ignore[arg-type]
    assert [c.status for c in everything.checks] == [PASS]
    detail = everything.checks[0].detail
    assert "1 projects of supported kinds; other kinds are not replicated: CustomQuestionAnswering" in detail


def test_a_check_detail_quoting_a_url_with_its_sas_is_redacted() -> None:
    from shared.doctor import _Collector

    found = _Collector()
    found.add("storage", "snapshots", FAIL, "ServiceRequestError: https://acct.blob.core.windows.net/c"
              "?sv=2022-11-02&sig=AbCdEf0123456789AbCdEf0123456789AbCd%3D")
    assert "AbCdEf0123456789" not in found.checks[0].detail
    assert found.checks[0].detail.startswith("ServiceRequestError: https://acct.blob.core.windows.net/c")


def test_a_clu_project_is_found_in_the_conversations_family_and_needs_no_container(regions, azurite):
    from localdev.conversation_samples import clu_project
    from tests.shared.engine.support import authoring
    from tests.shared.engine.test_conversation_projects import seed_conversation

    seed_conversation(authoring(regions.primary), clu_project("CoffeeOrders"))
    report = doctor(regions, azurite, REPLICATED_PROJECTS="CoffeeOrders")
    assert not only_failures(report), report.to_text()
    assert "project 'CoffeeOrders' exists (Conversation)" in report.to_text()
    assert status(report, "secondary", "documents") == SKIP
    assert "CONVERSATIONS_API_VERSION are served" in report.to_text()
    star = doctor(regions, azurite, REPLICATED_PROJECTS="*")
    assert "REPLICATED_PROJECTS names every project: 1 projects of supported kinds" in star.to_text()

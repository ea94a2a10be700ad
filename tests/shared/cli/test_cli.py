"""`python -m shared`: settings errors, and drift / replicate / runs / cancel against the local services."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.demo import scaled_engine, scaled_runner
from localdev.sample_project import ner_project
from shared.cli.main import EXIT_DRIFT, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, main
from shared.replication.drift import DriftReport, DriftState, ProjectDrift
from shared.settings import Settings
from tests.shared.engine.support import authoring, export_of, seed, settings_values, wait_job
from tests.shared.setting_values import offline_values

REPO = Path(__file__).resolve().parents[3]
TIME_SCALE = 0.001  # the regions fixture's


def valid_values(**overrides: str) -> dict[str, str]:
    return offline_values(**{"REPLICATED_PROJECTS": "Loans", **overrides})


def run_cli(*argv: str, environ: dict[str, str], **factories) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), environ=environ, out=out, err=err, **factories)
    return code, out.getvalue(), err.getvalue()


class ReportOnly:
    """An engine that only reports drift: enough to see which settings reached it."""

    def __init__(self, settings: Settings, state: DriftState = DriftState.IN_SYNC) -> None:
        self.settings = settings
        self.state = state

    def drift_report(self) -> DriftReport:
        entry = ProjectDrift("secondary", "Loans", self.state)
        return DriftReport(datetime(2026, 3, 1, tzinfo=UTC), (entry,))


def test_a_missing_setting_is_one_line_naming_it_and_exit_2():
    code, out, err = run_cli("drift", environ=valid_values(SECONDARY_LANGUAGE_ENDPOINT=""))

    assert code == EXIT_USAGE
    assert out == ""
    assert err.splitlines() == [err.strip()]
    assert err.startswith("error: SECONDARY_LANGUAGE_ENDPOINT: is not set")


def test_a_secret_in_a_bad_setting_is_never_echoed():
    secret = "AccountKey=c2VjcmV0LXZhbHVl"
    code, _, err = run_cli("drift", environ=valid_values(PRIMARY_DOCUMENTS_STORAGE=f"nonsense{secret}"))

    assert code == EXIT_USAGE
    assert "PRIMARY_DOCUMENTS_STORAGE" in err and secret not in err


def test_settings_come_from_the_environment_else_local_settings_json(tmp_path):
    settings_file = tmp_path / "local.settings.json"
    settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": valid_values(
        REPLICATED_PROJECTS="FromFile", LANGUAGE_API_VERSION="1999-01-01")}))
    seen: list[Settings] = []

    def factory(settings: Settings) -> ReportOnly:
        seen.append(settings)
        return ReportOnly(settings)

    code, _, err = run_cli("--settings", str(settings_file), "drift", environ={}, engine_factory=factory)
    assert code == EXIT_USAGE and err.startswith("error: LANGUAGE_API_VERSION:")

    code, out, _ = run_cli("--settings", str(settings_file), "drift",
                           environ={"LANGUAGE_API_VERSION": "2022-05-01"}, engine_factory=factory)
    assert code == EXIT_OK and "in_sync" in out
    assert seen[0].api_version == "2022-05-01"
    assert seen[0].replicated_projects == ("FromFile",)


@pytest.mark.parametrize(("state", "expected"), [
    (DriftState.IN_SYNC, EXIT_OK), (DriftState.DRIFTED, EXIT_DRIFT), (DriftState.DIVERGED, EXIT_DRIFT),
    (DriftState.MISSING, EXIT_DRIFT), (DriftState.ERROR, 1),
])
def test_drift_exit_codes(state, expected):
    code, _, _ = run_cli("drift", "--json", environ=valid_values(),
                         engine_factory=lambda settings: ReportOnly(settings, state))
    assert code == expected


def test_python_m_shared_reports_bad_settings_without_a_traceback(tmp_path):
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "shared", "drift"], cwd=tmp_path, env=environ,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == EXIT_USAGE
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: PRIMARY_LANGUAGE_ENDPOINT: is not set")


def test_replicate_without_the_host_storage_names_azurewebjobsstorage(monkeypatch):
    for name in [name for name in os.environ if name.startswith("AzureWebJobsStorage")]:
        monkeypatch.delenv(name)

    class Planner(ReportOnly):
        def start_runs(self, projects=None, **options):
            raise AssertionError("settings are checked before any run starts")

    from shared.cli.main import default_runner

    code, _, err = run_cli("replicate", environ=valid_values(), engine_factory=Planner,
                           runner_factory=default_runner)

    assert code == EXIT_USAGE
    assert err.startswith("error: AzureWebJobsStorage: is not set")


def test_an_unreachable_service_is_one_error_line_not_a_traceback():
    from azure.core.exceptions import ServiceRequestError

    class Unreachable(ReportOnly):
        def drift_report(self) -> DriftReport:
            raise ServiceRequestError("HTTPConnection: Failed to establish a new connection")

    code, _, err = run_cli("drift", environ=valid_values(), engine_factory=Unreachable)

    assert code == 1
    assert err == "error: ServiceRequestError: HTTPConnection: Failed to establish a new connection\n"


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["replicate", "--bogus"], environ=valid_values())
    assert exit_info.value.code == EXIT_USAGE


# -- against Azurite and two emulated regions ---------------------------------------------------------


@pytest.fixture
def local(regions, azurite):
    """The primary seeded with a small NER project; the CLI wired to the local services."""
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, label="model1",
         deployment="production")
    # SNAPSHOT_STORAGE as a connection name, resolved like the Functions host does.
    values = settings_values(regions, azurite, "*", SNAPSHOT_STORAGE="AzureWebJobsStorage")
    engines: list = []

    def engine_factory(settings: Settings):
        engine = scaled_engine(settings, TIME_SCALE)
        engines.append(engine)
        return engine

    def cli(*argv: str) -> tuple[int, str, str]:
        return run_cli(*argv, environ=values, engine_factory=engine_factory, runner_factory=scaled_runner)

    cli.project = project  # type: ignore[attr-defined]
    cli.engines = engines  # type: ignore[attr-defined]
    return cli


def test_drift_dry_run_replicate_drift_runs(local, regions):
    project = local.project

    code, out, _ = local("drift")
    assert code == EXIT_DRIFT
    assert f"{project.name}  secondary  missing" in out

    code, out, _ = local("replicate", "--dry-run")
    assert code == EXIT_OK
    assert "would replicate" in out and "do   train:model1" in out and "Dry run: nothing was changed." in out
    assert authoring(regions.secondary).get_project(project.name) is None

    code, out, err = local("replicate")
    assert code == EXIT_OK, out + err
    assert f"{project.name} -> secondary: run " in out
    assert "train:model1: succeeded" in out and "deploy:production: succeeded" in out
    assert out.rstrip().endswith("All replicated projects are in sync.")

    code, out, _ = local("drift", "--json")
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["inSync"] is True and report["projects"][0]["state"] == "in_sync"

    code, out, _ = local("replicate")
    assert code == EXIT_OK and "in sync, nothing to do" in out

    code, out, _ = local("runs")
    assert code == EXIT_OK
    header, row = out.splitlines()
    assert header.split()[:4] == ["RUN", "PROJECT", "TARGET", "STATUS"]
    assert row.split()[1:6] == [project.name, "secondary", "succeeded", "cli", "9/9"]


def test_replicate_resumes_a_run_already_under_way_and_cancel_stops_one(local):
    project = local.project
    # A run started elsewhere (e.g. by the timer) and not driven yet: replicate picks it up.
    code, _, _ = local("drift")
    engine = local.engines[-1]
    [start] = engine.start_runs(trigger="timer")
    assert start.status == "started"

    code, out, err = local("replicate")
    assert code == EXIT_OK, out + err
    assert f"resuming run {start.run_id}, which was already under way" in out
    assert f"run {start.run_id} succeeded" in out

    [forced] = engine.start_runs(force=True)
    code, out, _ = local("cancel", forced.run_id)
    assert code == EXIT_OK
    assert out.strip() == f"run {forced.run_id} of {project.name} -> secondary: cancelled"
    assert engine.get_run(project.name, forced.run_id).status == "cancelled"

    code, out, _ = local("cancel", start.run_id)
    assert code == EXIT_OK and "had already succeeded; nothing to cancel" in out

    code, _, err = local("cancel", "20260101T000000Z-00000000")
    assert code == 1 and err.startswith("error: no run 20260101T000000Z-00000000")

    code, _, err = local("cancel", "not-a-run")
    assert code == EXIT_USAGE


def test_replicate_resumes_a_run_whose_message_an_interrupted_runner_still_holds(local, azurite):
    from shared.runs.scheduler.messages import QUEUE_NAME
    from shared.runs.scheduler.storage_queue import step_queue_client

    local("drift")
    engine = local.engines[-1]
    [start] = engine.start_runs(trigger="cli")
    # Ctrl-C in the middle of a slice: the message stays invisible for the runner's processing window.
    queue = step_queue_client(azurite.connection_string(), QUEUE_NAME)
    [held] = list(queue.receive_messages(max_messages=1, visibility_timeout=600))
    assert json.loads(held.content)["run_id"] == start.run_id

    code, out, err = local("replicate", "--timeout", "60")

    assert code == EXIT_OK, out + err
    assert f"resuming run {start.run_id}" in out and f"run {start.run_id} succeeded" in out


def test_a_diverged_replica_is_left_alone_unless_forced(local, regions):
    project = local.project
    assert local("replicate")[0] == EXIT_OK
    secondary = authoring(regions.secondary)
    edited = export_of(secondary, project.name)
    edited["metadata"]["description"] = "edited in the secondary during an outage"
    wait_job(secondary, secondary.start_import(project.name, json.dumps(edited).encode()))

    code, out, _ = local("drift")
    assert code == EXIT_DRIFT and "diverged" in out

    code, out, _ = local("replicate")
    assert code == EXIT_DRIFT
    assert f"{project.name} -> secondary: diverged" in out
    assert "--force replaces a diverged one" in out
    assert export_of(secondary, project.name)["metadata"]["description"] == edited["metadata"]["description"]

    code, out, err = local("replicate", "--force")
    assert code == EXIT_OK, out + err
    assert export_of(secondary, project.name)["metadata"]["description"] != edited["metadata"]["description"]


def test_a_document_edited_in_blob_storage_is_found_and_replicated(local, azurite):
    project = local.project
    assert local("replicate")[0] == EXIT_OK
    location = sorted(project.documents)[0]
    edited = (project.documents[location] + " Amended by hand.").encode()
    BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs")) \
        .get_container_client(project.container).upload_blob(location, edited, overwrite=True)

    code, out, _ = local("drift")
    assert code == EXIT_DRIFT and "documents in container" in out

    code, out, err = local("replicate")
    assert code == EXIT_OK, out + err
    copied = BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs")) \
        .get_container_client(project.container).download_blob(location).readall()
    assert copied == edited
    assert local("drift")[0] == EXIT_OK


def test_replicate_exits_1_with_the_services_reason_when_a_run_fails(local, regions):
    from tests.shared.engine.support import control

    control(regions.secondary, "/_emulator/faults/jobs",
            {"kind": "train", "count": 1, "code": "InvalidRequest", "message": "Bad day."})
    code, out, err = local("replicate")
    assert code == EXIT_FAILED, out + err
    assert "run " in out and " failed after " in out
    assert "error: InvalidRequest: train:model1: job failed: Bad day." in out
    assert "All replicated projects are in sync." not in out


def test_replicate_timeout_exits_4_and_the_next_replicate_resumes(local):
    code, out, _ = local("replicate", "--timeout", "0")
    assert code == EXIT_TIMEOUT
    assert "Timed out after 0 s; still active: " in out
    run_id = out.split("still active: ", 1)[1].split(".", 1)[0]

    code, out, err = local("replicate")
    assert code == EXIT_OK, out + err
    assert f"resuming run {run_id}, which was already under way" in out
    assert f"run {run_id} succeeded" in out


# -- failing fast, on one line, before any work (issue 13) --------------------------------------------


class NoCredential:
    """What DefaultAzureCredential raises on a machine with no identity at all."""

    def get_token(self, *scopes, **kwargs):
        from azure.identity import CredentialUnavailableError

        raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token\n" * 14)


def _closed_port_url(scheme_host: str = "http://127.0.0.1") -> str:
    from localdev.services import free_port

    return f"{scheme_host}:{free_port()}"


def test_an_unreachable_documents_storage_fails_at_once_naming_the_setting(regions, azurite):
    from localdev.services import DEV_ACCOUNT_KEY

    dead = _closed_port_url()
    values = settings_values(regions, azurite, PRIMARY_DOCUMENTS_STORAGE=(
        f"DefaultEndpointsProtocol=http;AccountName=primarydocs;AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint={dead}/primarydocs;"))
    started = datetime.now(UTC)

    code, out, err = run_cli("drift", environ=values, check_first=True)

    assert (datetime.now(UTC) - started).total_seconds() < 15
    assert code == EXIT_USAGE and out == ""
    assert err.startswith("error: PRIMARY_DOCUMENTS_STORAGE: cannot be reached: the connection was refused")
    assert err.count("\n") == 1
    assert DEV_ACCOUNT_KEY not in err and dead.rsplit(":", 1)[1] not in err


def test_an_unreachable_language_endpoint_fails_at_once_naming_the_setting(regions, azurite):
    values = settings_values(regions, azurite, SECONDARY_LANGUAGE_ENDPOINT=_closed_port_url())

    code, _, err = run_cli("replicate", "--dry-run", environ=values, check_first=True)

    assert code == EXIT_USAGE
    assert err.startswith("error: SECONDARY_LANGUAGE_ENDPOINT: cannot be reached") and err.count("\n") == 1


def test_a_missing_key_without_any_identity_is_one_line_saying_what_to_set(regions, azurite):
    from shared.engine import ReplicationEngine

    values = settings_values(regions, azurite, PRIMARY_LANGUAGE_KEY="")

    def engine_without_identity(settings):
        return ReplicationEngine.from_settings(settings, credential=NoCredential())

    code, _, err = run_cli("drift", environ=values, check_first=True, engine_factory=engine_without_identity)

    assert code == EXIT_USAGE
    assert err.startswith("error: PRIMARY_LANGUAGE_KEY: is not set, and no Microsoft Entra ID credential")
    assert err.count("\n") == 1 and "DefaultAzureCredential" not in err


def test_reachable_services_pass_the_preflight_and_the_command_runs(regions, azurite):
    code, out, err = run_cli("runs", environ=settings_values(regions, azurite), check_first=True)

    assert code == EXIT_OK, err
    assert "No runs yet." in out


def test_commands_that_must_work_while_a_region_is_down_check_only_our_state_storage(regions, azurite):
    values = settings_values(regions, azurite, PRIMARY_LANGUAGE_ENDPOINT=_closed_port_url())

    code, _, err = run_cli("runs", environ=values, check_first=True)
    assert code == EXIT_OK, err
    assert run_cli("drift", environ=values, check_first=True)[0] == EXIT_USAGE

    dead_port = _closed_port_url().rsplit(":", 1)[1]
    dead_state = azurite.connection_string().replace(str(azurite.blob_port), dead_port)
    values = settings_values(regions, azurite, SNAPSHOT_STORAGE=dead_state)
    code, _, err = run_cli("runs", environ=values, check_first=True)
    assert code == EXIT_USAGE and err.startswith("error: SNAPSHOT_STORAGE: cannot be reached")


def _engine_and_runner(local):
    local("drift")  # builds one engine from the fixture's settings
    engine = local.engines[-1]
    return engine, scaled_runner(engine.settings, engine)


def test_replicate_rides_out_throttling_while_planning_within_its_budget(local, regions):
    from shared.cli.main import replicate_command
    from tests.shared.engine.support import control

    engine, runner = _engine_and_runner(local)
    # The primary's project GET answers 429 with a Retry-After longer than one call may sleep.
    control(regions.primary, "/_emulator/faults/throttle",
            {"method": "GET", "path": f"/projects/{local.project.name}$", "count": 1,
             "retryAfterSeconds": 30})
    out, slept = io.StringIO(), []

    code = replicate_command(engine, runner, out=out, sleep=slept.append)

    assert code == EXIT_OK, out.getvalue()
    assert slept == [30.0]
    assert out.getvalue().rstrip().endswith("All replicated projects are in sync.")


def test_replicate_rides_out_throttling_while_listing_the_projects(local, regions):
    from shared.cli.main import replicate_command
    from tests.shared.engine.support import control

    engine, runner = _engine_and_runner(local)  # REPLICATED_PROJECTS=*: the project list comes first
    control(regions.primary, "/_emulator/faults/throttle",
            {"method": "GET", "path": "/projects$", "count": 1, "retryAfterSeconds": 30})
    out, slept = io.StringIO(), []

    code = replicate_command(engine, runner, out=out, sleep=slept.append)

    assert code == EXIT_OK, out.getvalue()
    assert slept == [30.0]


def test_a_racing_replicate_follows_the_winner_s_run_and_exits_0(local):
    from shared.cli.main import replicate_command

    engine, runner = _engine_and_runner(local)
    project = local.project.name
    # The winner holds the run lock and is still planning: no manifest exists yet for the loser to read.
    engine.lock.acquire("secondary", project, "20260101T000000Z-00000000")
    winner: list[str] = []

    def meanwhile(seconds: float) -> None:
        if not winner:  # the winner finishes planning: its own run, under the lock
            engine.lock.release("secondary", project, "20260101T000000Z-00000000")
            [start] = engine.start_runs(trigger="cli")
            winner.append(str(start.run_id))

    out = io.StringIO()
    code = replicate_command(engine, runner, out=out, sleep=meanwhile)

    assert code == EXIT_OK, out.getvalue()
    assert f"resuming run {winner[0]}, which was already under way" in out.getvalue()
    assert f"run {winner[0]} succeeded" in out.getvalue()
    assert "no run" not in out.getvalue()


def test_a_racing_replicate_whose_winner_found_nothing_to_do_plans_again(local):
    from shared.cli.main import replicate_command

    engine, runner = _engine_and_runner(local)
    assert local("replicate")[0] == EXIT_OK
    project = local.project.name
    engine.lock.acquire("secondary", project, "20260101T000000Z-00000000")

    def meanwhile(seconds: float) -> None:  # the winner found the replica in sync and let go
        engine.lock.release("secondary", project, "20260101T000000Z-00000000")

    out = io.StringIO()
    code = replicate_command(engine, runner, out=out, sleep=meanwhile)

    assert code == EXIT_OK, out.getvalue()
    assert "in sync, nothing to do" in out.getvalue()

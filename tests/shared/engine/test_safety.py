"""What the engine refuses, what it leaves alone, and what it notices."""

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import ner_project
from shared.errors import InvalidRequest
from shared.runs.manifest import CANCELLED, FAILED, RUNNING, SKIPPED, SUCCEEDED
from shared.runs.scheduler import StepMessage

from .support import authoring, control, emulator_jobs, export_of, harness, seed, train_and_deploy, wait_job


@pytest.fixture
def seeded(regions, azurite):
    project = ner_project()
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    return project, primary, harness(regions, azurite)


def container(azurite, account, project):
    return BlobServiceClient.from_connection_string(azurite.connection_string(account)).get_container_client(
        project.container)


def replicate(h, project, **options):
    [start] = h.engine.start_runs(**options)
    assert start.status == "started", start
    h.run()
    return h.engine.get_run(project.name, start.run_id)


def jobs(region, kind=None):
    return [job for job in emulator_jobs(region) if kind is None or job["kind"] == kind]


def test_an_export_naming_missing_documents_never_reaches_the_secondary(regions, azurite, seeded):
    project, _, h = seeded
    missing = sorted(project.documents)[3]
    container(azurite, "primarydocs", project).delete_blob(missing)
    run = replicate(h, project)
    assert run.status == FAILED
    assert run.error["code"] == "DocumentsMissing" and missing in run.error["message"]
    assert authoring(regions.secondary).get_project(project.name) is None
    assert jobs(regions.secondary) == []


def test_documents_missing_or_different_on_the_secondary_are_copied(regions, azurite, seeded):
    project, _, h = seeded
    names = sorted(project.documents)
    target = container(azurite, "secondarydocs", project)
    target.create_container()
    target.upload_blob(names[0], project.documents[names[0]].encode("utf-8"))
    target.upload_blob(names[1], b"stale text")
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    copied = run.step("documents:v1").detail
    assert copied["skippedIdentical"] == 1 and copied["copied"] == len(names) - 1
    for name in names:
        assert target.download_blob(name).readall() == project.documents[name].encode("utf-8")


def test_a_secondary_edited_after_our_import_is_diverged_and_left_alone_unless_forced(regions, seeded):
    project, primary, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    secondary = authoring(regions.secondary)
    edited = export_of(secondary, project.name)
    edited["assets"]["documents"] = edited["assets"]["documents"][:-1]
    import json

    wait_job(secondary, secondary.start_import(project.name, json.dumps(edited).encode()))
    before = len(jobs(regions.secondary))
    [start] = h.engine.start_runs()
    assert start.status == "diverged" and "modified" in start.plan["reasons"][0]
    h.run()
    assert len(jobs(regions.secondary)) == before
    assert export_of(secondary, project.name)["assets"] == edited["assets"]

    forced = replicate(h, project, force=True)
    assert forced.status == SUCCEEDED
    assert export_of(secondary, project.name)["assets"] == export_of(primary, project.name)["assets"]
    assert forced.step("backup").detail["snapshot"]


def test_a_document_text_change_in_blob_storage_is_replicated(regions, azurite, seeded):
    project, _, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    name = sorted(project.documents)[0]
    container(azurite, "primarydocs", project).upload_blob(name, b"Edited text.", overwrite=True)
    run = replicate(h, project)
    assert any("the documents in container" in reason for reason in run.reasons), run.reasons
    assert run.status == SUCCEEDED
    assert container(azurite, "secondarydocs", project).download_blob(name).readall() == b"Edited text."
    assert [s.name for s in run.steps if s.status == SKIPPED and s.kind == "train"] == ["train:v1"]


def test_a_retrain_only_change_on_the_primary_retrains_the_secondary(regions, azurite, seeded):
    project, primary, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    train_and_deploy(primary, project.name, "v1", "prod")
    run = replicate(h, project)
    assert run.status == SUCCEEDED
    assert any("retrained" in reason for reason in run.reasons), run.reasons
    assert run.step("train:v1").status == SUCCEEDED
    assert len(jobs(regions.secondary, "train")) == 2


def test_a_deployment_re_pointed_to_a_new_label_is_replicated(regions, azurite, seeded):
    project, primary, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    train_and_deploy(primary, project.name, "v2", "prod")
    run = replicate(h, project)
    assert run.status == SUCCEEDED
    assert any("deployment 'prod' now serves model 'v2' (was 'v1')" in reason for reason in run.reasons)
    secondary = authoring(regions.secondary)
    assert secondary.get_deployment(project.name, "prod")["modelId"] == secondary.get_model(
        project.name, "v2")["modelId"]


def test_dry_run_returns_the_plan_and_changes_nothing(regions, azurite, seeded):
    project, _, h = seeded
    [planned] = h.engine.start_runs(dry_run=True)
    assert planned.status == "planned" and planned.run_id is None
    names = [step["name"] for step in planned.plan["steps"]]
    assert names[:4] == ["export:v1", "documents:v1", "import:v1", "train:v1"]
    assert h.engine.list_runs(project.name) == []
    assert h.engine.lock.holder("secondary", project.name) is None
    assert jobs(regions.secondary) == [] and h.scheduler.pending() == []


def test_the_daily_training_cap_stops_a_billed_job(regions, azurite, seeded):
    project, _, _ = seeded
    h = harness(regions, azurite, MAX_TRAININGS_PER_PROJECT_PER_DAY="0")
    run = replicate(h, project)
    assert run.status == FAILED and run.error["code"] == "TrainingCapReached"
    assert jobs(regions.secondary, "train") == []


def test_a_training_config_no_longer_offered_falls_back_to_the_newest_and_says_so(regions, azurite, seeded):
    project, _, h = seeded
    control(regions.secondary, "/_emulator/expiry/training-configs",
            {"trainingConfigVersion": "2099-01-01", "modelExpirationDate": "2100-01-01", "offered": True})
    control(regions.secondary, "/_emulator/expiry/training-configs",
            {"trainingConfigVersion": "2022-05-01", "offered": False})
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert run.step("train:v1").detail["trainingConfigVersion"] == "2099-01-01"
    assert any("no longer offered" in warning for warning in run.warnings)


def test_cancel_stops_the_run_and_its_training_job(regions, azurite, seeded):
    project, _, h = seeded
    control(regions.secondary, "/_emulator/durations", {"train": 3600})
    [start] = h.engine.start_runs()
    while h.engine.get_run(project.name, start.run_id).step("train:v1").job_url is None:
        message, _ = h.scheduler.pop_next()
        h.engine.advance(message)
    cancelled = h.engine.cancel_run(project.name, start.run_id)
    assert cancelled.status == CANCELLED
    h.run()  # whatever was queued is now stale
    assert h.engine.get_run(project.name, start.run_id).status == CANCELLED
    assert h.engine.lock.holder("secondary", project.name) is None
    assert [job["status"] for job in jobs(regions.secondary, "train")] in (["cancelled"], ["cancelling"])


def test_redrive_resumes_a_failed_run_and_leaves_done_steps_alone(regions, azurite, seeded):
    project, _, h = seeded
    control(regions.secondary, "/_emulator/faults/jobs",
            {"kind": "train", "count": 1, "code": "InvalidRequest", "message": "Bad day."})
    [start] = h.engine.start_runs()
    h.run()
    failed = h.engine.get_run(project.name, start.run_id)
    assert failed.status == FAILED
    assert h.engine.redrive_step(project.name, start.run_id, "import:v1").status == FAILED  # done: no-op
    with pytest.raises(InvalidRequest):
        h.engine.redrive_step(project.name, start.run_id, "no-such-step")
    assert h.engine.redrive_step(project.name, start.run_id, "train:v1").status == RUNNING
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    assert [job["status"] for job in jobs(regions.secondary, "train")] == ["failed", "succeeded"]


def test_a_poisoned_message_fails_its_run_and_a_stale_one_does_not(regions, azurite, seeded):
    project, _, h = seeded
    [start] = h.engine.start_runs()
    manifest = h.engine.get_run(project.name, start.run_id)
    stale = StepMessage(start.run_id, project.name, "secondary", "export:v1", manifest.fence - 1)
    h.engine.fail_poisoned(stale, "stale")
    assert h.engine.get_run(project.name, start.run_id).status != FAILED
    h.engine.fail_poisoned(StepMessage(start.run_id, project.name, "secondary", "export:v1", manifest.fence),
                           "failed 5 times: boom")
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == FAILED and run.error == {"code": "Poisoned", "message": "failed 5 times: boom",
                                                  "step": "export:v1"}
    assert h.engine.lock.holder("secondary", project.name) is None


def test_timer_tick_starts_drifted_projects_once(seeded):
    _, _, h = seeded
    first = h.engine.timer_tick()
    assert [s.status for s in first.started] == ["started"]
    second = h.engine.timer_tick(past_due=True)
    assert [s.status for s in second.started] in ([], ["already_active"])
    assert second.warnings
    h.run()
    assert h.engine.timer_tick().started == []


def test_a_new_run_after_our_own_failed_run_is_not_taken_for_divergence(regions, azurite, seeded):
    project, _, h = seeded
    assert replicate(h, project).status == SUCCEEDED
    documents = container(azurite, "primarydocs", project)
    documents.upload_blob(sorted(project.documents)[0], b"New.", overwrite=True)
    control(regions.secondary, "/_emulator/faults/jobs",
            {"kind": "deploy", "count": 5, "code": "InvalidRequest"})
    [start] = h.engine.start_runs(force=True)  # force: retrain and redeploy even though labels are unchanged
    h.run()
    assert h.engine.get_run(project.name, start.run_id).status == FAILED
    control(regions.secondary, "/_emulator/faults/clear", {})
    again = replicate(h, project)
    assert again.status == SUCCEEDED
    assert any(reason.startswith("an earlier run of ours did not finish") for reason in again.reasons)


def test_api_version_2022_05_01_trains_from_the_working_copy(regions, azurite, seeded):
    project, _, _ = seeded
    h = harness(regions, azurite, LANGUAGE_API_VERSION="2022-05-01")
    run = replicate(h, project)
    assert run.status == SUCCEEDED, run.to_json()
    assert any("2022-05-01" in warning for warning in run.warnings)
    assert run.step("export:v1").detail["fromWorkingCopy"] is True


def test_a_run_whose_message_was_lost_is_resumed(regions, azurite, seeded):
    project, _, h = seeded
    [start] = h.engine.start_runs()
    h.scheduler.pop_next()  # the queue lost the message
    assert [run.run_id for run in h.engine.active_runs()] == [start.run_id]
    h.run()
    assert h.engine.get_run(project.name, start.run_id).status != SUCCEEDED
    h.clock.advance(h.engine.settings.run_stall_timeout * 2)
    assert h.engine.resume_stalled() == [start.run_id]
    h.run()
    assert h.engine.get_run(project.name, start.run_id).status == SUCCEEDED
    assert h.engine.active_runs() == []
    h.engine.resume_run(project.name, start.run_id)  # finished: nothing to resume
    assert h.scheduler.pending() == []

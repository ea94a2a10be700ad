"""Prove a real set-up in one command: the doctor passes, a drift check has no errors, and a small
generated project replicates from the primary to every target and is then removed from both.

`LANGUAGE_DR_LIVE_SETTINGS=live.settings.json .venv/bin/pytest tests/live -q`; skipped without it.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
from dataclasses import replace

from shared.cli.main import EXIT_OK, default_runner, replicate_command
from shared.doctor import run_doctor
from shared.engine import ReplicationEngine
from shared.settings import Settings


def test_the_doctor_passes(live_settings: Settings) -> None:
    report = run_doctor(ReplicationEngine.from_settings(live_settings))
    assert report.ok, report.to_text()


def test_a_drift_check_reports_no_errors(live_settings: Settings) -> None:
    report = ReplicationEngine.from_settings(live_settings).drift_report()
    assert not report.has_errors, report.to_text()


def test_a_small_generated_project_replicates_to_every_target(live_settings: Settings) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    from localdev.sample_project import ner_project, upload_documents
    from shared.language.export_format import to_bytes

    name = f"drlive{secrets.token_hex(4)}"
    project = ner_project(name, container=name.lower(), documents=10)
    settings = replace(live_settings, replicated_projects=(name,), replicate_all=False)
    engine = ReplicationEngine.from_settings(settings)
    primary_container = engine.primary_documents.get_container_client(project.container)
    try:
        upload_documents(primary_container, project)
        engine.primary.wait(engine.primary.start_import(name, to_bytes(project.export)),
                            poll_interval=10).raise_for_failure()
        configs = engine.primary.training_config_versions(project.kind)
        offered = [str(version["trainingConfigVersion"]) for version in configs]
        engine.primary.wait(engine.primary.start_training(
            name, model_label="model1", training_config_version=sorted(offered)[-1],
            evaluation_options={"kind": "manual"}), poll_interval=30, deadline=7200).raise_for_failure()
        engine.primary.wait(engine.primary.start_deployment(name, "production", trained_model_label="model1"),
                            poll_interval=10).raise_for_failure()

        out = io.StringIO()
        outcome = replicate_command(engine, default_runner(settings, engine), projects=[name], timeout=7200,
                                    out=out)

        assert outcome == EXIT_OK, out.getvalue()
        after = engine.drift_report()
        assert after.in_sync, json.dumps(after.to_json(), indent=2)
    finally:
        for client in [engine.primary, *(target.authoring for target in engine.targets.values())]:
            with contextlib.suppress(Exception):
                if client.get_project(name) is not None:
                    client.wait(client.delete_project(name), poll_interval=10)
        for service in [engine.primary_documents, *(target.documents for target in engine.targets.values())]:
            with contextlib.suppress(ResourceNotFoundError):
                service.delete_container(project.container)

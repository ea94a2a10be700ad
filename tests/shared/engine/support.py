"""Helpers for engine tests: seed the emulated primary, build an engine on Azurite + the emulator."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.storage.blob import BlobServiceClient

from localdev.sample_project import SampleProject, upload_documents
from shared.clock import Clock, FakeClock
from shared.engine import EngineOptions, ReplicationEngine
from shared.language.authoring import AuthoringClient
from shared.language.credentials import KeyAuth
from shared.language.request_budget import BudgetLimits, InMemoryRequestBudget
from shared.replication.steps import StepOptions
from shared.runs.scheduler import InMemoryScheduler, StepMessage
from shared.settings import settings_from_values


def authoring(region) -> AuthoringClient:
    return AuthoringClient(region.endpoint, KeyAuth(region.key))


def wait_job(client: AuthoringClient, url: str) -> None:
    status = client.wait(url, poll_interval=0.02, deadline=30)
    status.raise_for_failure()


def seed(region, storage_connection: str, project: SampleProject, *, label: str = "v1",
         deployment: str = "prod", train: bool = True) -> AuthoringClient:
    """Upload, import, train and deploy `project` on an emulated region."""
    container = BlobServiceClient.from_connection_string(storage_connection).get_container_client(
        project.container)
    upload_documents(container, project)
    client = authoring(region)
    wait_job(client, client.start_import(project.name, json.dumps(project.export).encode()))
    if train:
        train_and_deploy(client, project.name, label, deployment)
    return client


def retrain(client: AuthoringClient, project: str, label: str) -> None:
    wait_job(client, client.start_training(project, model_label=label, training_config_version="2022-05-01",
                                           evaluation_options={"kind": "manual"}))


def train_and_deploy(client: AuthoringClient, project: str, label: str, deployment: str) -> None:
    """Train `label` (again) and point `deployment` at it."""
    retrain(client, project, label)
    wait_job(client, client.start_deployment(project, deployment, trained_model_label=label))


def settings_values(regions, azurite, project: str = "LoanAgreements", **extra: str) -> dict[str, str]:
    return {
        "PRIMARY_LANGUAGE_ENDPOINT": regions.primary.endpoint,
        "PRIMARY_LANGUAGE_KEY": regions.primary.key,
        "PRIMARY_DOCUMENTS_STORAGE": azurite.connection_string("primarydocs"),
        "SECONDARY_LANGUAGE_ENDPOINT": regions.secondary.endpoint,
        "SECONDARY_LANGUAGE_KEY": regions.secondary.key,
        "SECONDARY_DOCUMENTS_STORAGE": azurite.connection_string("secondarydocs"),
        "SNAPSHOT_STORAGE": azurite.connection_string(),
        "AzureWebJobsStorage": azurite.connection_string(),
        "REPLICATED_PROJECTS": project,
        "DRIFT_SCHEDULE": "0 0 2 * * *",
        **extra,
    }


FAST_STEPS = StepOptions(poll_initial=__import__("datetime").timedelta(seconds=2))


@dataclass
class Harness:
    engine: ReplicationEngine
    scheduler: InMemoryScheduler
    clock: FakeClock

    def run(self, max_deliveries: int = 5000) -> int:
        return self.scheduler.run_until_idle(self.engine.advance, self.engine.fail_poisoned,
                                             max_deliveries=max_deliveries)


def make_engine(regions, azurite, *, clock: Clock | None = None, scheduler=None,
                options: EngineOptions | None = None, **extra: str) -> ReplicationEngine:
    clock = clock or FakeClock(datetime.now(UTC))
    settings = settings_from_values(settings_values(regions, azurite, **extra))
    return ReplicationEngine.from_settings(
        settings, clock=clock, scheduler=InMemoryScheduler(clock) if scheduler is None else scheduler,
        options=options or EngineOptions(steps=FAST_STEPS),
        budget=InMemoryRequestBudget(clock, BudgetLimits(reads_per_minute=1000, writes_per_minute=100)))


def harness(regions, azurite, **extra: str) -> Harness:
    clock = FakeClock(datetime.now(UTC))
    scheduler = InMemoryScheduler(clock)
    return Harness(make_engine(regions, azurite, clock=clock, scheduler=scheduler, **extra), scheduler, clock)


def emulator_jobs(region) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{region.control_url}/_emulator/jobs", timeout=10) as response:
        return list(json.loads(response.read())["value"])


def control(region, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(region.control(path, json.dumps(body).encode())))


def export_of(client: AuthoringClient, project: str, label: str | None = None) -> dict[str, Any]:
    url = client.start_export(project, trained_model_label=label)
    status = client.wait(url, poll_interval=0.02, deadline=30)
    status.raise_for_failure()
    assert status.result_url
    with client.open_export_result(status.result_url) as stream:
        return dict(json.loads(stream.read()))


def predict(region, project: str, deployment: str, kind: str, texts: list[str]) -> list[Any]:
    from shared.language.runtime import RuntimeClient, SampleDocument, job_finished, predictions

    client = RuntimeClient(region.endpoint, KeyAuth(region.key))
    url = client.submit(kind, project, deployment,
                        [SampleDocument(str(i), text, "en") for i, text in enumerate(texts)])
    for _ in range(500):
        body = client.get(url)
        if job_finished(body):
            result = predictions(body)
            return [result[str(i)] for i in range(len(texts))]
        time.sleep(0.01)
    raise TimeoutError("prediction job did not finish")


__all__ = ["StepMessage"]

"""Put a sample project into a Language resource and deploy it: upload, import, train, deploy.

Plain REST calls (reference §7-§9), so tests, benchmarks and the demo can stand up a deployment
in an emulated region without going through the replicator under test.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from azure.storage.blob import BlobServiceClient

from localdev.sample_project import SampleProject, upload_documents

API_VERSION = "2023-04-01"
TRAINING_CONFIG_VERSION = "2022-05-01"
KEY_HEADER = "Ocp-Apim-Subscription-Key"


class SeedError(RuntimeError):
    """An authoring call or job failed while seeding."""


def deploy_sample_project(
    endpoint: str,
    key: str,
    storage_connection_string: str,
    project: SampleProject,
    *,
    deployment: str = "prod",
    model_label: str = "v1",
    poll_interval: float = 0.05,
    timeout: float = 60.0,
    verify: bool | str = True,
) -> None:
    """Upload the documents to the resource's storage, then import, train and deploy `project`.

    `verify` is requests' TLS verification: a CA bundle path for an emulator serving HTTPS.
    """
    container = BlobServiceClient.from_connection_string(storage_connection_string).get_container_client(
        project.container
    )
    upload_documents(container, project)
    session = requests.Session()
    session.headers[KEY_HEADER] = key
    base = f"{endpoint.rstrip('/')}/language/authoring/analyze-text/projects/{project.name}"

    def run(method: str, url: str, body: dict[str, Any]) -> None:
        response = session.request(
            method, url, params={"api-version": API_VERSION}, json=body, timeout=10, verify=verify
        )
        if response.status_code != 202:
            raise SeedError(f"{method} {url}: {response.status_code} {response.text[:500]}")
        _wait(session, response.headers["operation-location"], poll_interval, timeout, verify)

    run("POST", f"{base}/:import", project.export)
    run(
        "POST",
        f"{base}/:train",
        {
            "modelLabel": model_label,
            "trainingConfigVersion": TRAINING_CONFIG_VERSION,
            "evaluationOptions": {"kind": "manual"},
        },
    )
    run("PUT", f"{base}/deployments/{deployment}", {"trainedModelLabel": model_label})


def _wait(
    session: requests.Session, job_url: str, poll_interval: float, timeout: float, verify: bool | str
) -> None:
    # verify goes on each request: a session's verify loses to REQUESTS_CA_BUNDLE from the environment.
    deadline = time.monotonic() + timeout
    while True:
        response = session.get(job_url, timeout=10, verify=verify)
        if response.status_code != 200:
            raise SeedError(f"GET {job_url}: {response.status_code} {response.text[:500]}")
        body = response.json()
        status = body.get("status")
        if status == "succeeded":
            return
        if status in ("failed", "cancelled", "partiallyCompleted"):
            raise SeedError(f"job {job_url} ended {status}: {body.get('errors')}")
        if time.monotonic() > deadline:
            raise SeedError(f"job {job_url} still {status} after {timeout} s")
        time.sleep(poll_interval)

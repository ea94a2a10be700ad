"""The in-process authoring client both emulator test suites drive (analyze-text and analyze-conversations).

The two authoring APIs share their routes, jobs and errors, so their test clients share the plumbing:
the key and api-version by default, 202 + operation-location, polling a job while the fake clock moves.
Each suite's subclass says only its prefix and its :train body.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from emulator.app import EmulatorContext, emulator_context
from emulator.clock import FakeClock

FINAL = ("succeeded", "failed", "cancelled", "partiallyCompleted")


class AuthoringTestClient:
    prefix: ClassVar[str]                                   # the authoring API's path
    unprefixed: ClassVar[tuple[str, ...]] = ("/_emulator",)  # paths sent as they are
    train_options: ClassVar[dict[str, Any]] = {}            # the :train body besides modelLabel

    def __init__(self, app: Flask, clock: FakeClock, key: str) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.clock = clock
        self.api_version = "2023-04-01"
        self.headers: dict[str, str] = {"Ocp-Apim-Subscription-Key": key}

    @property
    def context(self) -> EmulatorContext:
        return emulator_context(self.app)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        api_version: str | None = None,
    ) -> TestResponse:
        """`api_version=""` sends none; a full URL (a job's operation-location) is sent as it is."""
        params = dict(query or {})
        if "://" not in path and api_version != "":
            params.setdefault("api-version", api_version or self.api_version)
        url = path if "://" in path or path.startswith(self.unprefixed) else f"{self.prefix}{path}"
        merged = {**self.headers, **(headers or {})}
        return self.client.open(
            url, method=method, json=json, data=data, query_string=params or None, headers=merged
        )

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def accepted(self, response: TestResponse) -> str:
        assert response.status_code == 202, response.get_data(as_text=True)
        assert response.get_data() == b""
        return str(response.headers["operation-location"])

    def wait(self, location: str, step: float = 30.0, limit: int = 200) -> dict[str, Any]:
        """Poll a job, moving the fake clock between polls, until it is final."""
        for _ in range(limit):
            body = self.get(location).get_json()
            if body["status"] in FINAL:
                return dict(body)
            self.clock.advance(step)
        raise AssertionError(f"job never finished: {body}")

    def train(self, project: str, label: str = "model1", **options: Any) -> dict[str, Any]:
        body = {"modelLabel": label, **self.train_options, **options}
        return self.wait(self.accepted(self.post(f"/projects/{project}/:train", json=body)))

    def deploy(self, project: str, deployment: str = "production", label: str = "model1") -> dict[str, Any]:
        response = self.call(
            "PUT", f"/projects/{project}/deployments/{deployment}", json={"trainedModelLabel": label}
        )
        return self.wait(self.accepted(response))


def error_of(response: TestResponse) -> dict[str, Any]:
    """The service's error body: {"error": {"code", "message", ...}} and nothing else."""
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


# The fields every trained model and deployment answers with (the 2023-04-01 specs' `required`, the
# same in analyze-text and analyze-conversations).
MODEL_FIELDS = frozenset({
    "label", "modelId", "lastTrainedDateTime", "lastTrainingDurationInSeconds", "modelExpirationDate",
    "modelTrainingConfigVersion", "hasSnapshot",
})
DEPLOYMENT_FIELDS = frozenset({
    "deploymentName", "modelId", "lastTrainedDateTime", "lastDeployedDateTime", "deploymentExpirationDate",
    "modelTrainingConfigVersion",
})

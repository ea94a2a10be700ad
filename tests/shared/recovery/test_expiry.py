"""Expiry watch against emulators configured with near expiry dates, and the training-config fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import requests

from localdev.sample_project import ner_project
from shared.recovery.expiry import ExpiryWarning, check_expiry
from shared.recovery.notifications import EXPIRY_WARNING, Notifier
from shared.recovery.upkeep import Maintenance
from shared.runs.manifest import SUCCEEDED
from tests.shared.engine.support import authoring, control, harness, seed
from tests.shared.webhook_receiver import Receiver


def test_expiry_warnings_on_both_sides_and_the_training_config_fallback(regions, azurite, webhook: Receiver):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, label="v1")
    # The secondary has moved on: 2022-05-01 is withdrawn there, a newer config is offered.
    control(regions.secondary, "/_emulator/expiry/training-configs",
            {"trainingConfigVersion": "2023-04-15", "inDays": 400})
    control(regions.secondary, "/_emulator/expiry/training-configs",
            {"trainingConfigVersion": "2022-05-01", "offered": False})
    h = harness(regions, azurite, EXPIRY_WARNING_DAYS="14", NOTIFY_FORMAT="teams")
    [start] = h.engine.start_runs()
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, run.to_json()
    assert run.step("train:v1").detail["trainingConfigVersion"] == "2023-04-15"
    assert any("no longer offered" in warning and "2023-04-15" in warning for warning in run.warnings)
    [model] = authoring(regions.secondary).list_models(project.name)
    assert model["modelTrainingConfigVersion"] == "2023-04-15"

    control(regions.primary, "/_emulator/expiry/models",
            {"project": project.name, "label": "v1", "inDays": 3})
    control(regions.primary, "/_emulator/expiry/training-configs",
            {"trainingConfigVersion": "2022-05-01", "inDays": 10})
    control(regions.secondary, "/_emulator/expiry/deployments",
            {"project": project.name, "deployment": "prod", "inDays": 5})
    control(regions.secondary, "/_emulator/expiry/models", {"project": project.name, "label": "v1",
                                                             "inDays": 60})   # beyond the 14-day horizon

    report = Maintenance(h.engine, Notifier(webhook.url, "teams")).run()
    warnings = {(w.side, w.subject): w for w in report.expiry.warnings}
    assert set(warnings) == {("primary", "model v1"), ("primary", "training config 2022-05-01"),
                             ("secondary", "deployment prod")}
    model_warning: ExpiryWarning = warnings[("primary", "model v1")]
    assert model_warning.days_left == 3 and "retrain" in model_warning.action
    assert "stops answering" in warnings[("secondary", "deployment prod")].action
    assert "no newer config" in warnings[("primary", "training config 2022-05-01")].action
    assert warnings[("secondary", "deployment prod")].expires is not None
    assert isinstance(warnings[("secondary", "deployment prod")].expires, date)

    [expiry_note] = [n for n in report.notifications if n.kind == EXPIRY_WARNING]
    assert len(expiry_note.lines) == 3
    [card] = [b for b in webhook.bodies if "model v1" in str(b)]
    assert card["attachments"][0]["content"]["type"] == "AdaptiveCard"


class Unreachable:
    """A side whose every call fails after its client's retries (connection refused)."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *args: Any) -> Any:
        self.calls += 1
        raise requests.ConnectionError("connection refused")

    get_project = list_models = list_deployments = training_config_versions = _fail


def test_an_unreachable_side_is_one_error_not_a_slow_failure_per_project() -> None:
    down = Unreachable()
    report = check_expiry({"northeurope": down}, ["A", "B", "C"], datetime(2026, 1, 1, tzinfo=UTC), 30)
    assert down.calls == 1
    [error] = report.errors
    assert error.startswith("northeurope: unreachable (") and error.endswith("3 project(s) not checked")

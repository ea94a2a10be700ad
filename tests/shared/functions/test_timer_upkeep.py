"""The drift timer also runs the daily upkeep: expiry warnings reach the webhook, retention runs."""

from __future__ import annotations

import logging
from typing import Any

from localdev.sample_project import ner_project
from shared.functions.timer import on_drift_timer
from tests.shared.engine.support import control, harness, seed
from tests.shared.functions.host import timer_request
from tests.shared.functions.providers import provider_of
from tests.shared.webhook_receiver import Receiver


def test_the_timer_sweeps_snapshots_and_notifies_expiry(regions: Any, azurite: Any, webhook: Receiver,
                                                        caplog: Any) -> None:
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite, NOTIFY_WEBHOOK_URL=webhook.url, NOTIFY_FORMAT="json",
                SNAPSHOT_RETENTION_COUNT="1")
    h.engine.start_runs(force=True)
    h.run()
    h.engine.start_runs(force=True)   # a second set of snapshots, so retention has something to remove
    h.run()
    control(regions.primary, "/_emulator/expiry/deployments",
            {"project": project.name, "deployment": "prod", "inDays": 1})
    caplog.set_level(logging.INFO, logger="shared.functions.timer")

    on_drift_timer(timer_request(), provider_of(h.engine))

    kinds = [body["kind"] for body in webhook.bodies]
    assert "expiry-warning" in kinds
    [upkeep] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("daily upkeep done")]
    assert '"removed": [{' in upkeep
    assert webhook.url not in caplog.text

"""A CLU project through a regional outage and a DR drill, as a custom NER project goes: the drill asks
both regions the same utterances; the acting primary's edits and retrain (with its trainingMode) come
home by failback."""

from __future__ import annotations

from localdev.conversation_samples import clu_project
from shared.language import retry
from shared.replication.verdict import DriftState, FailbackChange
from shared.runs.manifest import SUCCEEDED

from ..engine.support import authoring, control, export_of, harness, wait_job
from ..engine.test_conversation_features import edited
from ..engine.test_conversation_projects import CLU, ask, seed_conversation


def test_a_drill_then_an_outage_of_a_clu_project_fail_back_with_the_acting_mode(regions, azurite):
    primary = authoring(regions.primary)
    seed_conversation(primary, clu_project(CLU))
    h = harness(regions, azurite, project=CLU)
    with retry.testing(sleep=h.clock.sleep):
        [start] = h.engine.start_runs()
        h.run()
        assert h.engine.get_run(CLU, start.run_id).status == SUCCEEDED
        drill = h.engine.drill()
        assert drill.passed, drill.to_text()
        assert "100% of" in next(c.detail for c in drill.checks if c.check == "predictions agree")
        answering = next(c.detail for c in drill.checks if c.check == "deployments answer")
        assert "utterances" in answering and "document" not in answering

        control(regions.primary, "/_emulator/faults/outage", {"mode": "503"})
        try:
            h.engine.promote(by="oncall@example.com", reason="eastus is down")
            assert h.engine.drift_report().project(CLU).state is DriftState.PROMOTED
            secondary = authoring(regions.secondary)
            edited(secondary, utterance="an oat latte for the acting primary")
            wait_job(secondary, secondary.start_training(
                CLU, model_label="v1", training_config_version="latest", training_mode="advanced"))
            wait_job(secondary, secondary.start_deployment(CLU, "production", trained_model_label="v1"))
        finally:
            control(regions.primary, "/_emulator/faults/outage", {"mode": None})
        failback = h.engine.failback()
        [entry] = failback.entries
        assert entry.change is FailbackChange.ACTING and entry.run is not None, failback.to_json()
        h.run()
        run = h.engine.get_run(CLU, entry.run.run_id)
        assert run.status == SUCCEEDED, run.to_json()
    assert run.step("train:v1").detail["trainingMode"] == "advanced"
    assert export_of(primary, CLU)["assets"] == export_of(secondary, CLU)["assets"]
    texts = ["an oat latte for the acting primary", "cancel order ORD-12345", "when do you open"]
    assert ask(regions.primary, CLU, texts) == ask(regions.secondary, CLU, texts)
    assert h.engine.promotion() is None
    assert h.engine.drift_report().project(CLU).state is DriftState.IN_SYNC

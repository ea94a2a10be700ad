"""The kind-independent half of the model-based replication tests (not collected: no `test_` prefix).

A per-kind machine (test_replication_model.py for custom NER, test_clu_replication_model.py for CLU)
subclasses `ReplicationMachine` and adds only what differs between project kinds: how the primary is
seeded, the content edits (its own rules), how a model is trained, and how a deployment answers. Every
thing else is here, shared: the runs (a replicate rule with injected faults, timer ticks), the
deployment/model deletions, and the invariants checked after every run — in sync twice and the dry-run
plan agrees; the secondary answers exactly like the primary, except for deployments the run reported as
serving a superseded model it cannot reproduce; after a failed run, the next timer tick repairs it.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from shared.language import retry
from shared.language.authoring import AuthoringClient, LanguageApiError
from shared.replication.verdict import DriftState
from shared.runs.manifest import FAILED, SUCCEEDED, RunManifest
from tests.hypothesis_budget import thorough

from .support import Harness, control, harness, wait_job

FAULTS = ("none", "train", "deploy", "import", "throttle", "outage")


def budget(max_examples: int) -> settings:
    """Every step costs a second or so against real services: no shrinking (it ran for minutes); the failing
    sequence is printed as found. The profile (tests/hypothesis_budget.py) decides randomness and the
    database: in CI the same sequences every run; HYPOTHESIS_PROFILE=thorough runs ten times as many."""
    return settings(
        max_examples=max_examples,
        stateful_step_count=25 if thorough() else 10,
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow],
    )


class ReplicationMachine(RuleBasedStateMachine):
    """Runs, faults and invariants for one replicated project; subclasses seed, edit, train and predict."""

    regions: Any = None
    azurite: Any = None

    def __init__(self) -> None:
        super().__init__()
        for region in self.regions.all():
            region.reset()
        self.azurite.clear()
        self.name: str = ""
        self.primary: AuthoringClient = self.seed_primary()
        # The daily training cap is tested elsewhere; here a sequence may retrain a label more than three
        # times in one (fake) day, and a run refused by the cap is the budget working, not a replication bug.
        self.h: Harness = harness(self.regions, self.azurite, project=self.name,
                                  MAX_TRAININGS_PER_PROJECT_PER_DAY="1000")
        self._context = contextlib.ExitStack()
        self._context.enter_context(retry.testing(sleep=self.h.clock.sleep))
        self.labels = {"v1"}
        self.deployments = {"prod": "v1"}
        self.unreproducible: set[str] = set()

    # A kind whose CI sequences end on edits no run follows sets this: each sequence then ends with one
    # more tick, so that those edits are replicated and checked too.
    converge_at_end = False

    def teardown(self) -> None:
        try:
            # Not after a failed step: its error is the one to report.
            if self.converge_at_end and sys.exc_info()[0] is None:
                self.tick_until_in_sync()
        finally:
            self._context.close()
            for region in self.regions.all():
                control(region, "/_emulator/faults/clear", {})
                control(region, "/_emulator/faults/outage", {"mode": None})

    # -- what differs per project kind -------------------------------------------------------------------

    def seed_primary(self) -> AuthoringClient:
        """Create, train `v1` and deploy it as `prod` on the primary; set `self.name`."""
        raise NotImplementedError

    def train(self, label: str) -> None:
        """Train (or retrain) `label` on the primary, as a user of this project kind would."""
        raise NotImplementedError

    def answers(self, region: Any, deployment: str) -> list[Any]:
        """What `deployment` in `region` answers for the kind's sample inputs, in a comparable form."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------------------

    def verdicts(self) -> tuple[DriftState, str]:
        entry = self.h.engine.drift_report().project(self.name)
        [planned] = self.h.engine.start_runs(dry_run=True)
        assert planned.plan is not None, planned
        return entry.state, planned.plan["state"]

    def drive(self, max_deliveries: int = 5000) -> None:
        self.h.run(max_deliveries)

    def after_success(self, run: RunManifest) -> None:
        """The invariants every successful run must leave true."""
        assert run.status == SUCCEEDED, run.to_json()
        self.unreproducible = {step.label or "" for step in run.steps
                               if step.kind == "deploy" and step.detail.get("superseded")}
        for name in self.unreproducible:
            named = f"deployment {name} serves a superseded model"
            assert any(named in warning for warning in run.warnings), run.warnings
        assert self.verdicts() == (DriftState.IN_SYNC, "in_sync"), self.h.engine.drift_report().to_text()
        assert self.verdicts() == (DriftState.IN_SYNC, "in_sync")
        self.same_answers()

    def same_answers(self) -> None:
        for name in sorted(self.deployments):
            if name in self.unreproducible:
                continue
            ours = self.answers(self.regions.secondary, name)
            theirs = self.answers(self.regions.primary, name)
            assert ours == theirs, f"deployment {name} answers differently on the secondary"

    def tick_until_in_sync(self, *, full_pass_due: bool = False) -> None:
        """A timer tick (faults cleared) repairs whatever the last run left: never `diverged`.

        A change that moves no project-list timestamp (a deployment deleted on the primary) is the one
        the daily check may miss until its next full pass (ADR 0013): then the dry-run plan alone sees
        it, and the tick after DRIFT_FULL_CHECK_DAYS must start the run that repairs it."""
        tick = self.h.engine.timer_tick()
        assert not tick.diverged, tick.to_json()
        self.drive()
        started = [start for start in tick.started if start.status in ("started", "already_active")]
        if started:
            run_id = started[0].run_id or started[0].active_run_id
            assert run_id is not None
            self.after_success(self.h.engine.get_run(self.name, run_id))
            return
        checked, planned = self.verdicts()
        assert checked is DriftState.IN_SYNC, tick.to_json()
        if planned != "in_sync" and not full_pass_due:
            self.h.clock.advance(timedelta(days=self.h.engine.settings.drift_full_check_days))
            self.tick_until_in_sync(full_pass_due=True)
            return
        assert planned == "in_sync", tick.to_json()

    # -- the primary changes (the kind-independent ones) -------------------------------------------------

    @initialize()
    def first_replication(self) -> None:
        [start] = self.h.engine.start_runs()
        self.drive()
        assert start.run_id is not None
        self.after_success(self.h.engine.get_run(self.name, start.run_id))

    @rule(label=st.sampled_from(["v1", "v2"]), redeploy=st.booleans(),
          deployment=st.sampled_from(["prod", "staging"]))
    def retrain(self, label: str, redeploy: bool, deployment: str) -> None:
        self.train(label)
        self.labels.add(label)
        if redeploy:
            wait_job(self.primary, self.primary.start_deployment(self.name, deployment,
                                                                 trained_model_label=label))
            self.deployments[deployment] = label

    @precondition(lambda self: "staging" in self.deployments)
    @rule()
    def delete_staging(self) -> None:
        wait_job(self.primary, self.primary.delete_deployment(self.name, "staging"))
        del self.deployments["staging"]

    @precondition(lambda self: "v2" in self.labels and "v2" not in self.deployments.values())
    @rule()
    def delete_model(self) -> None:
        with contextlib.suppress(LanguageApiError):
            self.primary.delete_model(self.name, "v2")
            self.labels.discard("v2")

    # -- runs ------------------------------------------------------------------------------------------

    @rule()
    def tick(self) -> None:
        self.tick_until_in_sync()

    @rule(fault=st.sampled_from(FAULTS))
    def replicate(self, fault: str) -> None:
        secondary = self.regions.secondary
        if fault in ("train", "deploy", "import"):
            control(secondary, "/_emulator/faults/jobs",
                    {"kind": fault, "count": 5, "code": "InvalidRequest", "message": "Injected."})
        elif fault == "throttle":
            control(secondary, "/_emulator/faults/throttle",
                    {"method": "POST", "count": 3, "retryAfterSeconds": 2})
        # With a fault injected, the run is forced so that it really imports, trains and deploys.
        [start] = self.h.engine.start_runs(force=fault != "none")
        if fault == "outage":
            control(secondary, "/_emulator/faults/outage", {"mode": "503"})
            # The secondary is down mid-run: the run keeps retrying (not done yet) until it comes back.
            with contextlib.suppress(RuntimeError):
                self.drive(200)
        else:
            self.drive()
        control(secondary, "/_emulator/faults/clear", {})
        control(secondary, "/_emulator/faults/outage", {"mode": None})
        self.drive()
        if start.status != "started":
            assert start.status == "in_sync", start
            return
        assert start.run_id is not None
        run = self.h.engine.get_run(self.name, start.run_id)
        if run.status == FAILED:
            # The failed run's reason is the service's, and the next tick (fault cleared) repairs it.
            assert run.error is not None, run.to_json()
            self.tick_until_in_sync()
        else:
            self.after_success(run)

"""The DR drill: prove, without writing anything anywhere, that each target could serve today.

Per target and project:

- every deployment on the target answers a prediction job for a sample of the project's documents
  (read from the target's own document container, as the last replication left them);
- its predictions agree with the primary's on that sample at or above VERIFY_AGREEMENT_THRESHOLD (the
  primary is only asked to predict; when it cannot answer, the check fails and says so);
- the recovery point (the age of the primary state the target serves, from the one drift check) is
  within RECOVERY_POINT_MAX_AGE_HOURS.

And once: the **recovery time** a real failover would take for callers, computed from the failover
client's default breaker and client settings (restated below; tests/shared/outage/test_drill.py holds
them equal to language_failover's). It is computed, not measured: callers' live figures stay in their
processes.

The report (JSON and a text summary) is kept beside the run history, in the state container under
`drills/`, and a failed drill is sent to NOTIFY_WEBHOOK_URL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from azure.core.exceptions import AzureError
from azure.storage.blob import ContentSettings

from shared.clock import parse_iso, utc_iso
from shared.errors import ReplicatorError
from shared.language.project_kinds import count_items
from shared.language.runtime import (
    SampleDocument,
    conversation_predictions,
    is_conversation_kind,
    job_finished,
    predictions,
)
from shared.outage.host import FailoverHost
from shared.recovery.notifications import Notification, Notifier
from shared.replication.agreement import agreement_threshold, measure_agreement, passes, sample_documents
from shared.replication.drift import format_age
from shared.runs.manifest import new_run_id
from shared.storage.json_blobs import STATE_CONTAINER, JsonBlobs

logger = logging.getLogger(__name__)

DRILL_FAILED = "drill-failed"
DRILLS_PREFIX = "drills/"
WORKING_COPY_SNAPSHOT = "working-copy"
MAX_POLLS = 2000


@dataclass(frozen=True)
class FailoverTiming:
    """The failover client's defaults (language_failover BreakerPolicy and RegionClientPolicy)."""

    consecutive_failures: int = 3
    cooldown_seconds: float = 30.0
    retries: int = 2
    retry_backoff_factor: float = 0.2
    retry_backoff_max: float = 1.0
    connection_timeout: float = 3.0
    read_timeout: float = 15.0

    def recovery_time(self) -> dict[str, Any]:
        """Worst case: the primary accepts connections and never answers (a refused connection fails in
        milliseconds instead). Each request to it fails after every retry's timeouts and backoffs, and
        moves on to the next region in the same call; after `consecutive_failures` such requests the
        breaker takes the primary out of rotation and requests go straight to the secondary."""
        backoffs = sum(min(self.retry_backoff_factor * 2 ** attempt, self.retry_backoff_max)
                       for attempt in range(self.retries))
        per_request = (self.retries + 1) * (self.connection_timeout + self.read_timeout) + backoffs
        return {
            "computed": True,
            "basis": "the failover client's default settings; callers' live figures stay in their processes",
            "firstRequestServedAfterSeconds": round(per_request, 1),
            "primaryOutOfRotationAfterSeconds": round(per_request * self.consecutive_failures, 1),
            "probeEverySeconds": self.cooldown_seconds,
        }


@dataclass
class DrillCheck:
    target: str
    project: str
    check: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "project": self.project, "check": self.check, "ok": self.ok,
                "detail": self.detail}


@dataclass
class DrillReport:
    started_at: datetime
    checks: list[DrillCheck] = field(default_factory=list)
    recovery_time: dict[str, Any] = field(default_factory=dict)
    stored_as: str | None = None
    notified: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"startedAt": utc_iso(self.started_at), "passed": self.passed,
                "checks": [check.to_json() for check in self.checks], "recoveryTime": self.recovery_time,
                "storedAs": self.stored_as}

    def to_text(self) -> str:
        lines = [f"DR drill of {utc_iso(self.started_at)}: {'PASSED' if self.passed else 'FAILED'}"]
        for check in self.checks:
            mark = "ok  " if check.ok else "FAIL"
            lines.append(f"  {mark} {check.project} -> {check.target}: {check.check}: {check.detail}")
        timing = self.recovery_time
        if timing:
            lines.append(f"Recovery time for callers (computed from {timing['basis']}): the first request "
                         f"is served by the secondary within {timing['firstRequestServedAfterSeconds']} s, "
                         f"the primary is out of rotation within "
                         f"{timing['primaryOutOfRotationAfterSeconds']} s.")
        if not self.checks:
            lines.append("Nothing was checked: no replicated project has been synced yet.")
        return "\n".join(lines)


class DrillService:
    def __init__(self, host: FailoverHost, timing: FailoverTiming | None = None) -> None:
        self.host = host
        self.timing = timing or FailoverTiming()

    def drill(self, projects: Sequence[str] | None = None, *, store: bool = True) -> DrillReport:
        host = self.host
        report = DrillReport(host.clock.now(), recovery_time=self.timing.recovery_time())
        for target in host.targets:
            names = sorted(projects or (record.project for record in host.sync_records.all(target)))
            for project in names:
                report.checks += self._serving(target, project)
        self._recovery_points(report, projects)
        if store:
            report.stored_as = self._store(report)
        if not report.passed:
            notifier = Notifier(host.settings.notify_webhook_url, host.settings.notify_format)
            delivery = notifier.send([self._notification(report)], host.clock.now())
            report.notified = bool(delivery.sent)
        return report

    def _serving(self, target: str, project: str) -> list[DrillCheck]:
        host = self.host
        clients = host.targets[target]
        answering = "deployments answer"
        try:
            metadata = clients.authoring.get_project(project)
            if metadata is None:
                return [DrillCheck(target, project, answering, False, "the target has no project")]
            kind = str(metadata["projectKind"])
            listed = clients.authoring.list_deployments(project)
            deployments = sorted(str(d["deploymentName"]) for d in listed)
            if not deployments:
                return [DrillCheck(target, project, answering, False, "the target has no deployment")]
            sample = self._sample(target, project)
            answers = {name: self._predict(clients.runtime, kind, project, name, sample)
                       for name in deployments}
        except (ReplicatorError, requests.RequestException, AzureError) as error:
            return [DrillCheck(target, project, answering, False, _describe(error))]
        checks = [DrillCheck(target, project, answering, True,
                             f"{len(deployments)} deployment(s) answered {count_items(kind, len(sample))}")]
        try:
            primary = {name: self._predict(host.primary_runtime, kind, project, name, sample)
                       for name in deployments}
        except (ReplicatorError, requests.RequestException, AzureError) as error:
            checks.append(DrillCheck(target, project, "predictions agree", False,
                                     f"the primary could not predict: {_describe(error)}"))
            return checks
        measured = measure_agreement({name: (primary[name], answers[name]) for name in deployments},
                                     (document.id for document in sample))
        threshold = self._threshold(target, project)
        checks.append(DrillCheck(
            target, project, "predictions agree", passes(measured, float(threshold["value"])),
            f"{measured.fraction:.0%} of {measured.compared} agree (threshold {threshold['value']:.0%}: "
            f"{threshold['why']})"))
        return checks

    def _threshold(self, target: str, project: str) -> dict[str, Any]:
        """Verify's rule: resampled where the last sync's evaluations found different test sets."""
        record = self.host.sync_records.get(target, project)
        evaluations = record.evaluation if record is not None else {}
        settings = self.host.settings
        return agreement_threshold(
            (label for label, parity in evaluations.items()
             if isinstance(parity, dict) and parity.get("sameTestSet") is False),
            exact=settings.verify_agreement_threshold,
            resampled=settings.verify_agreement_threshold_resampled)

    def _sample(self, target: str, project: str) -> list[SampleDocument]:
        """Documents of the last replicated working copy, read from the target's own container."""
        host = self.host
        info = host.snapshots.latest(project, reason=WORKING_COPY_SNAPSHOT)
        if info is None:
            raise ReplicatorError(f"no replicated working copy of {project!r} to take a sample from")
        export = host.snapshots.summarise(info.name)
        clients = host.targets[target]
        # A conversation project's utterances are in the snapshot itself.
        container = (clients.documents.get_container_client(clients.container_for(export.container))
                     if export.container else None)
        return sample_documents(export, container, host.step_options.verify_sample)

    def _predict(self, runtime: Any, kind: str, project: str, deployment: str,
                 sample: list[SampleDocument]) -> dict[str, Any]:
        if is_conversation_kind(kind):
            return dict(conversation_predictions(runtime, project, deployment, sample))
        url = runtime.submit(kind, project, deployment, sample)
        for _ in range(MAX_POLLS):
            body = runtime.get(url)
            if job_finished(body):
                return dict(predictions(body))
            self.host.clock.sleep(0.2)
        raise ReplicatorError(f"deployment {deployment!r} did not answer in time")

    def _recovery_points(self, report: DrillReport, projects: Sequence[str] | None) -> None:
        host = self.host
        limit = host.settings.recovery_point_max_age
        drift = host.replication.drift_report(list(projects) if projects else None)
        for entry in drift.projects:
            age = entry.recovery_point_age
            if age is None:
                ok, detail = False, f"unknown ({entry.state.value}: {'; '.join(entry.reasons)[:200]})"
            else:
                ok = age <= limit
                detail = (f"{format_age(age)} (objective "
                          f"{format_age(timedelta(seconds=limit.total_seconds()))})")
            report.checks.append(DrillCheck(entry.target, entry.project, "recovery point", ok, detail))

    def _store(self, report: DrillReport) -> str:
        container = self.host.state_storage.get_container_client(STATE_CONTAINER)
        stem = f"{DRILLS_PREFIX}{new_run_id(report.started_at)}"  # sorts by time; two at once both kept
        report.stored_as = f"{stem}.json"
        JsonBlobs(container).create(f"{stem}.json", report.to_json())
        container.upload_blob(f"{stem}.txt", report.to_text().encode("utf-8"), overwrite=True,
                              content_settings=ContentSettings(content_type="text/plain; charset=utf-8"))
        return report.stored_as

    def _notification(self, report: DrillReport) -> Notification:
        failed = [c for c in report.checks if not c.ok]
        lines = [f"{c.project} -> {c.target}: {c.check}: {c.detail}" for c in failed[:10]]
        return Notification(DRILL_FAILED, "The DR drill failed",
                            tuple(lines or ["nothing could be checked"]), severity="error",
                            facts={"report": report.stored_as or "", "started": utc_iso(report.started_at)})

    def due(self) -> bool:
        """Whether the daily timer should drill now: DRILL_EVERY_DAYS set, and the last drill that old.
        An hour of slack keeps a timer that fires a little early from skipping a whole period."""
        every = self.host.settings.drill_every_days
        if every <= 0:
            return False
        last = self.recent(1)
        if not last:
            return True
        age = self.host.clock.now() - parse_iso(str(last[0]["startedAt"]))
        return age >= timedelta(days=every) - timedelta(hours=1)

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        blobs = JsonBlobs(self.host.state_storage.get_container_client(STATE_CONTAINER))
        names = sorted((n for n in blobs.names(DRILLS_PREFIX) if n.endswith(".json")), reverse=True)[:limit]
        found = [blobs.read(name) for name in names]
        return [item.data for item in found if item is not None]


def _describe(error: BaseException) -> str:
    return error.message if isinstance(error, ReplicatorError) else type(error).__name__


__all__ = ["DRILL_FAILED", "DrillCheck", "DrillReport", "DrillService", "FailoverTiming"]


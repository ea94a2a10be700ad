"""Drift detection: does each target still serve what the primary serves, and how old is what it serves?

Per (target, project), the cheap signals come first and cost almost nothing. The resource-level pass:
one paged project list per resource (not a GET per project), one training-config list per project kind,
and a listing of the primary's document container (storage, outside the Language request budget). A
replica whose project-list timestamps on both sides are exactly as our last sync left them is decided
from those alone (verdict.moved_signals). Any other, and every replica once its last full observation is
DRIFT_FULL_CHECK_DAYS old (shared.replication.full_pass), is observed in full: one deployment list and one
model list per project on each side, what the planner observes too. Only when the primary's
`lastModifiedDateTime` moved and nothing else already proves drift does a fresh export decide, by its
content hash: the export is a POST and counts against the 10-POST-per-minute budget, and a touched-but-
unchanged project must not cost a billed training run.

The verdict itself is shared.replication.verdict.classify, the same function the run's planner uses. A
target modified after our last import by someone (not by an import of ours, finished or failed) is
*diverged*: reported, and never overwritten without `force` (the engine enforces that).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import requests
from azure.core.exceptions import AzureError

from shared.clock import Clock, parse_iso, utc_iso
from shared.errors import ReplicatorError
from shared.language.authoring import DEFAULT_PAGE_SIZE
from shared.language.export_format import canonical_kind
from shared.language.project_kinds import ROUTE_FAMILIES, RouteFamily, project_kind
from shared.language.regions import target_region_problems
from shared.redaction import redact
from shared.replication.dependencies import unreplicated_dependencies, unreplicated_risk
from shared.replication.orchestration import Routing
from shared.replication.sync_record import SyncRecord
from shared.replication.training_mode import has_training_modes
from shared.replication.verdict import NEEDS_REPLICATION as NEEDS_REPLICATION
from shared.replication.verdict import DriftState as DriftState
from shared.replication.verdict import (
    Observation,
    classify,
    deployment_records,
    moved_signals,
    promoted_reason,
    settle,
)
from shared.settings import Settings


class AuthoringReader(Protocol):
    """The read side of shared.language.authoring.AuthoringClient that drift needs."""

    def list_projects(self, *, families: Sequence[RouteFamily] = ROUTE_FAMILIES
                      ) -> Iterator[dict[str, Any]]: ...

    def list_deployments(self, project: str) -> list[dict[str, Any]]: ...

    def list_models(self, project: str) -> list[dict[str, Any]]: ...

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]: ...


class FullPasses(Protocol):
    """When each replica is due a per-project observation (shared.replication.full_pass.FullPassLog)."""

    def due(self, target: str, project: str, now: datetime) -> bool: ...

    def observed(self, target: str, project: str, now: datetime) -> None: ...

    def save(self) -> None: ...


# How a replica was observed: project by project, or from the resources' project lists alone.
OBSERVED_IN_FULL = "full"
OBSERVED_FROM_LISTS = "projectLists"


class SyncRecords(Protocol):
    def get(self, target: str, project: str) -> SyncRecord | None: ...


# (project, primary container) -> fingerprint of the primary's documents, computed exactly as the
# engine computed SyncRecord.documents_fingerprint.
DocumentsFingerprint = Callable[[str, str], str]
# project -> content hash of a fresh export of the primary's working copy (a POST, so rare).
ContentHash = Callable[[str], str]
# (target, project) -> the target's lastModifiedDateTime values our own recent imports left.
OurModifications = Callable[[str, str], frozenset[str]]
# (target, project) -> whether the target is the acting primary for it (shared.replication.promotion).
IsPromoted = Callable[[str, str], bool]
# The primary's project metadata -> its routing when it is an orchestration, else None.
RoutingOf = Callable[[Mapping[str, Any]], Routing | None]


@dataclass(frozen=True)
class ProjectDrift:
    """The verdict for one (target, project)."""

    target: str
    project: str
    state: DriftState
    reasons: tuple[str, ...] = ()
    # Risks that do not make the target stale but threaten recovery (expiry, shared documents).
    risks: tuple[str, ...] = ()
    recovery_point_age: timedelta | None = None
    last_synced_at: datetime | None = None
    last_run_id: str | None = None
    primary_last_modified: str | None = None
    target_last_modified: str | None = None
    # True when a fresh export's content hash decided the verdict.
    export_checked: bool = False
    # label -> both models' evaluation scores stored at the last sync (see replication/evaluation.py).
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    observed: str = OBSERVED_IN_FULL
    # An orchestration's CLU projects this configuration does not replicate (a risk; see dependencies.py).
    unreplicated_dependencies: tuple[str, ...] = ()

    @property
    def needs_replication(self) -> bool:
        return self.state in NEEDS_REPLICATION

    def to_json(self) -> dict[str, Any]:
        age = self.recovery_point_age
        return {
            "target": self.target,
            "project": self.project,
            "state": self.state.value,
            "reasons": list(self.reasons),
            "risks": list(self.risks),
            "recoveryPointAgeSeconds": None if age is None else int(age.total_seconds()),
            "recoveryPointAge": None if age is None else format_age(age),
            "lastSyncedAt": None if self.last_synced_at is None else utc_iso(self.last_synced_at),
            "lastRunId": self.last_run_id,
            "primaryLastModifiedDateTime": self.primary_last_modified,
            "targetLastModifiedDateTime": self.target_last_modified,
            "exportChecked": self.export_checked,
            "evaluation": dict(self.evaluation),
            "observed": self.observed,
            "unreplicatedDependencies": list(self.unreplicated_dependencies),
        }


@dataclass(frozen=True)
class DriftReport:
    checked_at: datetime
    projects: tuple[ProjectDrift, ...]
    # Language API requests the check made, by resource and method: it must stay cheap.
    requests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def in_sync(self) -> bool:
        """Every project checked and in sync (an empty report is vacuously in sync)."""
        return all(project.state is DriftState.IN_SYNC for project in self.projects)

    @property
    def attention_needed(self) -> bool:
        """Something drifted or diverged (the CLI's exit code 3)."""
        return any(project.state in (DriftState.DRIFTED, DriftState.DIVERGED, DriftState.MISSING)
                   for project in self.projects)

    @property
    def has_errors(self) -> bool:
        return any(project.state is DriftState.ERROR for project in self.projects)

    def project(self, project: str, target: str | None = None) -> ProjectDrift:
        for entry in self.projects:
            if entry.project == project and (target is None or entry.target == target):
                return entry
        raise KeyError(f"{project!r} is not in the drift report")

    def needing_replication(self) -> list[ProjectDrift]:
        return [project for project in self.projects if project.needs_replication]

    def counts(self) -> dict[str, int]:
        counted = Counter(project.state.value for project in self.projects)
        return {state.value: counted.get(state.value, 0) for state in DriftState}

    def to_json(self) -> dict[str, Any]:
        return {
            "checkedAt": utc_iso(self.checked_at),
            "inSync": self.in_sync,
            "counts": self.counts(),
            "projects": [project.to_json() for project in self.projects],
            "requests": {resource: dict(methods) for resource, methods in self.requests.items()},
            "warnings": list(self.warnings),
        }

    def to_text(self) -> str:
        """A table a person reads at a glance, then the reasons and risks project by project."""
        lines = [f"Drift report at {_to_second(self.checked_at)}"]
        if not self.projects:
            lines.append("No replicated project found on the primary.")
        else:
            rows = [("PROJECT", "TARGET", "STATE", "RECOVERY POINT AGE", "LAST SYNC")]
            for entry in self.projects:
                rows.append((
                    entry.project,
                    entry.target,
                    entry.state.value,
                    "-" if entry.recovery_point_age is None else format_age(entry.recovery_point_age),
                    "never" if entry.last_synced_at is None else _to_second(entry.last_synced_at),
                ))
            widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
            for row in rows:
                cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                lines.append("  ".join(cells).rstrip())
            for entry in self.projects:
                notes = [f"    - {reason}" for reason in entry.reasons]
                notes += [f"    ! {risk}" for risk in entry.risks]
                notes += [f"    = {line}" for line in evaluation_lines(entry.evaluation)]
                if notes:
                    lines.append(f"  {entry.project} -> {entry.target}:")
                    lines.extend(notes)
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        summary = ", ".join(f"{count} {state}" for state, count in self.counts().items() if count)
        lines.append(f"Summary: {summary or 'nothing to check'}")
        return "\n".join(lines)


def evaluation_lines(evaluation: Mapping[str, Any]) -> list[str]:
    """One line per label: both models' overall F1 at the last sync (of what: entities, classes or
    intents), and whether they shared a test set; an empty test set scored nothing, and says so."""
    lines = []
    for label, scores in sorted(evaluation.items()):
        primary, target = scores["primary"]["f1"], scores["target"]["f1"]
        of = f" of {primary['of']}" if primary.get("of") else ""
        if [scores[side].get("testDocuments") for side in ("primary", "target")] == [0, 0]:
            lines.append(f"model {label} F1{of}: not evaluated (empty test set, at the last sync)")
            continue
        test_set = "same test set" if scores.get("sameTestSet") else "different test sets"
        lines.append(f"model {label} F1{of} micro/macro: "
                     f"primary {primary['microF1']:.3f}/{primary['macroF1']:.3f}, "
                     f"target {target['microF1']:.3f}/{target['macroF1']:.3f} ({test_set}, at the last sync)")
    return lines


def _to_second(when: datetime) -> str:
    return utc_iso(when.replace(microsecond=0))


def format_age(age: timedelta) -> str:
    """`3d 4h`, `2h 5m`, `40s`: two units are enough for a person."""
    seconds = max(0, int(age.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


class _Counted:
    """Counts the requests made through an AuthoringReader, for the report (a list page is one GET)."""

    def __init__(self, inner: AuthoringReader, counts: Counter[str]) -> None:
        self._inner = inner
        self._counts = counts

    def list_projects(self, *, families: Sequence[RouteFamily] = ROUTE_FAMILIES) -> Iterator[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        for family in families:   # each family is its own paged list
            pages = list(self._inner.list_projects(families=(family,)))
            self._counts["GET"] += max(1, math.ceil(len(pages) / DEFAULT_PAGE_SIZE))
            listed += pages
        return iter(listed)

    def list_deployments(self, project: str) -> list[dict[str, Any]]:
        self._counts["GET"] += 1
        return self._inner.list_deployments(project)

    def list_models(self, project: str) -> list[dict[str, Any]]:
        self._counts["GET"] += 1
        return self._inner.list_models(project)

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]:
        self._counts["GET"] += 1
        return self._inner.training_config_versions(project_kind)


def check_drift(
    settings: Settings,
    primary: AuthoringReader,
    targets: Mapping[str, AuthoringReader],
    records: SyncRecords,
    documents_fingerprint: DocumentsFingerprint,
    content_hash: ContentHash,
    clock: Clock,
    *,
    projects: Sequence[str] | None = None,
    expiry_horizon: timedelta | None = None,
    our_modifications: OurModifications | None = None,
    is_promoted: IsPromoted | None = None,
    routing_of: RoutingOf | None = None,
    full_passes: FullPasses | None = None,
) -> DriftReport:
    """Compare every replicated project (or `projects`) on the primary with every target.

    `targets` maps each configured target name to its authoring client. Nothing is written but the
    full-pass times, and no job is started except, at most, one export per project whose timestamp
    alone moved. Expiry dates
    within `expiry_horizon` (default: EXPIRY_WARNING_DAYS) and recovery points older than
    RECOVERY_POINT_MAX_AGE_HOURS are reported as risks. `full_passes` None: every replica is observed in
    full; otherwise only those whose timestamps moved or whose full pass is due.
    """
    if expiry_horizon is None:
        expiry_horizon = timedelta(days=settings.expiry_warning_days)
    now = clock.now()
    counts: dict[str, Counter[str]] = {"primary": Counter()}
    counted_primary = _Counted(primary, counts["primary"])
    warnings = list(settings.warnings)
    region_problems = target_region_problems(settings)
    warnings.extend(region_problems.values())
    try:
        primary_projects = {str(p["projectName"]): p for p in counted_primary.list_projects()}
    except (ReplicatorError, requests.RequestException) as error:
        reason = f"cannot list the primary's projects: {_describe(error)}"
        # With REPLICATED_PROJECTS=* the names are unknown: one "*" entry keeps the failure visible.
        names = list(projects or settings.replicated_projects) or ["*"]
        promoted = is_promoted or (lambda target, project: False)
        # A promoted target needs no primary to be judged: it is left alone until failback.
        failed = [ProjectDrift(target.name, name, DriftState.PROMOTED, (promoted_reason(target.name),))
                  if promoted(target.name, name)
                  else ProjectDrift(target.name, name, DriftState.ERROR, (reason,))
                  for name in names for target in settings.targets]
        return DriftReport(now, tuple(failed), _requests(counts), (*warnings, reason))
    wanted = _wanted_projects(settings, primary_projects, projects)
    # A target is listed only in the route families of the projects checked: no conversation projects
    # replicated, no conversations list spent on each target.
    target_families = tuple(family for family in ROUTE_FAMILIES
                            if any(_family_of(primary_projects.get(name)) is family for name in wanted))

    target_projects: dict[str, dict[str, dict[str, Any]] | str] = {}
    target_readers: dict[str, _Counted] = {}
    for target in settings.targets:
        counts[target.name] = Counter()
        client = targets.get(target.name)
        if client is None:
            target_projects[target.name] = f"no authoring client for target {target.name!r}"
            continue
        target_readers[target.name] = _Counted(client, counts[target.name])
        try:
            listed = target_readers[target.name].list_projects(families=target_families)
            target_projects[target.name] = {str(p["projectName"]): p for p in listed}
        except (ReplicatorError, requests.RequestException) as error:
            target_projects[target.name] = f"cannot list the target's projects: {_describe(error)}"

    checker = _ProjectChecker(
        primary=counted_primary,
        documents_fingerprint=documents_fingerprint,
        content_hash=_counted_hash(content_hash, counts["primary"]),
        now=now,
        expiry_horizon=expiry_horizon,
        our_modifications=our_modifications or (lambda target, project: frozenset()),
        is_promoted=is_promoted or (lambda target, project: False),
        routing_of=routing_of or (lambda metadata: None),
        records=records,
        is_replicated=settings.is_replicated,
    )
    entries: list[ProjectDrift] = []
    for name in wanted:
        metadata = primary_projects.get(name)
        for target in settings.targets:
            listing = target_projects[target.name]
            if metadata is None:
                entries.append(ProjectDrift(target.name, name, DriftState.ERROR,
                                            (f"project {name!r} does not exist on the primary",)))
                continue
            if isinstance(listing, str):
                entries.append(ProjectDrift(target.name, name, DriftState.ERROR, (listing,)))
                continue
            try:
                record = records.get(target.name, name)
                secondary = listing.get(name)
                if (full_passes is None or moved_signals(record, metadata, secondary)
                        or full_passes.due(target.name, name, now)):
                    entry = checker.check(target.name, name, metadata, target_readers[target.name],
                                          secondary, record)
                    if full_passes is not None and entry.state is DriftState.IN_SYNC:
                        # Only an in-sync verdict may stand in for the days to come: a drift the project
                        # lists cannot show is read in full again until a run repairs it.
                        full_passes.observed(target.name, name, now)
                else:
                    assert record is not None and secondary is not None  # no signal moved
                    entry = checker.check_listed(target.name, name, metadata, secondary, record)
            except (ReplicatorError, requests.RequestException, AzureError, OSError) as error:
                # One project's failure (e.g. its document storage unreachable) must not hide the others.
                reason = f"check failed: {_describe(error)}"
                entry = ProjectDrift(target.name, name, DriftState.ERROR, (reason,))
            age = entry.recovery_point_age
            if age is not None and age > settings.recovery_point_max_age:
                entry = _with_risk(entry, f"the recovery point is {format_age(age)} old, older than the "
                                          f"{format_age(settings.recovery_point_max_age)} that "
                                          "RECOVERY_POINT_MAX_AGE_HOURS allows")
            if target.name in region_problems:
                entry = _with_risk(entry, f"the target's region {target.language.region!r} cannot author "
                                          "custom NER or custom text classification (see the warnings)")
            if target.documents_shared:
                entry = _with_risk(entry, "documents are shared with the primary (DOCUMENTS_SHARED is on): "
                                          "an outage of the primary's region takes the target's too")
            for risk in unknown_training_modes(settings, metadata, records.get(target.name, name)):
                entry = _with_risk(entry, risk)
            entries.append(entry)
    if full_passes is not None:
        try:
            full_passes.save()
        except (ReplicatorError, AzureError, OSError) as error:
            # The report stands; the next check reads those replicas in full once more.
            warnings.append(f"could not record this check's full reads: {redact(_describe(error))}")
    return DriftReport(now, tuple(entries), _requests(counts), tuple(warnings))


def unknown_training_modes(settings: Settings, primary: Mapping[str, Any], record: SyncRecord | None
                           ) -> Iterator[str]:
    """A conversation project's deployed models whose primary trainingMode was never seen (its training
    jobs expired before a sync): the target was, or will be, trained with CLU_DEFAULT_TRAINING_MODE."""
    if record is None or not has_training_modes(str(primary.get("projectKind", ""))):
        return
    for label in sorted({d.label for d in record.deployments.values()} - set(record.training_modes)):
        yield (f"the primary's trainingMode of model {label!r} is unknown (its training jobs expired): the "
               "target is trained with the mode CLU_DEFAULT_TRAINING_MODE sets")


class _ProjectChecker:
    def __init__(self, *, primary: _Counted, documents_fingerprint: DocumentsFingerprint,
                 content_hash: ContentHash, now: datetime, expiry_horizon: timedelta,
                 our_modifications: OurModifications, is_promoted: IsPromoted,
                 routing_of: RoutingOf, records: SyncRecords,
                 is_replicated: Callable[[str], bool] = lambda name: True) -> None:
        self.primary = primary
        self.routing_of = routing_of
        self.records = records
        self.is_promoted = is_promoted
        self.documents_fingerprint = documents_fingerprint
        self.content_hash = content_hash
        self.now = now
        self.expiry_horizon = expiry_horizon
        self.our_modifications = our_modifications
        self.is_replicated = is_replicated
        self._config_versions: dict[str, dict[str, str]] = {}

    def check(self, target: str, project: str, primary: Mapping[str, Any], target_reader: AuthoringReader,
              secondary: Mapping[str, Any] | None, record: SyncRecord | None) -> ProjectDrift:
        """Observe what the planner observes, and let the one classifier decide."""
        deployments = self.primary.list_deployments(project)
        risks = tuple(self._expiry_risks(str(primary.get("projectKind", "")), deployments))
        notes, connected_synced, unreplicated = self._connected(target, primary)
        risks += notes
        models = self.primary.list_models(project)
        container = str(primary.get("storageInputContainerName", ""))
        fingerprint = self.documents_fingerprint(project, container) if container and record else ""
        secondary_models: dict[str, dict[str, Any]] = {}
        secondary_deployments: dict[str, dict[str, Any]] = {}
        if secondary is not None and record is not None:
            secondary_models = {str(m.get("label")): m for m in target_reader.list_models(project)}
            secondary_deployments = {str(d.get("deploymentName")): d
                                     for d in target_reader.list_deployments(project)}
        observation = Observation(
            project=project, target=target, primary=primary,
            primary_deployments=deployment_records(deployments, models), documents_fingerprint=fingerprint,
            secondary=secondary, secondary_models=secondary_models,
            secondary_deployments=secondary_deployments, record=record,
            our_modifications=self.our_modifications(target, project) if secondary else frozenset(),
            promoted=self.is_promoted(target, project), connected_synced=connected_synced)
        return self._verdict(observation, risks, OBSERVED_IN_FULL, unreplicated)

    def check_listed(self, target: str, project: str, primary: Mapping[str, Any],
                     secondary: Mapping[str, Any], record: SyncRecord) -> ProjectDrift:
        """A replica whose project-list timestamps have not moved since our sync: the record stands in for
        both sides' deployment and model lists, and the same classifier decides (no GET of its own)."""
        kind = str(primary.get("projectKind", ""))
        risks = tuple(self._expiry_risks(kind, [
            {"deploymentName": name, "modelTrainingConfigVersion": deployment.training_config_version}
            for name, deployment in record.deployments.items()]))
        notes, connected_synced, unreplicated = self._connected(target, primary)
        risks += notes
        container = str(primary.get("storageInputContainerName", ""))
        observation = Observation(
            project=project, target=target, primary=primary, primary_deployments=record.deployments,
            documents_fingerprint=self.documents_fingerprint(project, container) if container else "",
            secondary=secondary, secondary_models={}, secondary_deployments={}, record=record,
            our_modifications=self.our_modifications(target, project),
            promoted=self.is_promoted(target, project), serving_vouched=True,
            connected_synced=connected_synced)
        return self._verdict(observation, risks, OBSERVED_FROM_LISTS, unreplicated)

    def _connected(self, target: str, primary: Mapping[str, Any]
                   ) -> tuple[tuple[str, ...], dict[str, datetime], tuple[str, ...]]:
        """An orchestration: its connected CLU projects' syncs can make it stale; its other targets
        (question answering, LUIS) are not replicated by this tool, a standing risk, and so is a CLU
        project it routes to that this configuration does not replicate (returned last)."""
        routing = self.routing_of(primary)
        if routing is None:
            return (), {}, ()
        connected = {name: self.records.get(target, name) for name in routing.connected}
        unreplicated = unreplicated_dependencies(routing.connected, self.is_replicated)
        notes = (*routing.notes, *([unreplicated_risk(unreplicated)] if unreplicated else []))
        return notes, {name: found.synced_at for name, found in connected.items() if found}, unreplicated

    def _verdict(self, observation: Observation, risks: tuple[str, ...], observed: str,
                 unreplicated: tuple[str, ...] = ()) -> ProjectDrift:
        settled = settle(observation, self.content_hash)
        state, reasons = classify(settled)
        record, secondary = observation.record, observation.secondary
        age = None
        if record is not None:
            age = self._recovery_point_age(record, changed=state is not DriftState.IN_SYNC)
        return ProjectDrift(
            target=observation.target, project=observation.project, state=state, reasons=reasons, risks=risks,
            recovery_point_age=age, last_synced_at=record.synced_at if record else None,
            last_run_id=(record.run_id or None) if record else None,
            primary_last_modified=_text(observation.primary.get("lastModifiedDateTime")),
            target_last_modified=_text(secondary.get("lastModifiedDateTime")) if secondary else None,
            export_checked=settled.content_changed is not None,
            evaluation=record.evaluation if record else {}, observed=observed,
            unreplicated_dependencies=unreplicated)

    def _recovery_point_age(self, record: SyncRecord, *, changed: bool) -> timedelta:
        """How old the primary state is that the target serves.

        Changed since: the target serves the primary as it was at its lastModifiedDateTime of our last sync.
        Unchanged: the target serves the current primary state, confirmed at our last sync.
        """
        if changed:
            try:
                return self.now - parse_iso(record.primary_last_modified)
            except ValueError:
                pass
        return self.now - record.synced_at

    def _expiry_risks(self, project_kind: str, deployments: Iterable[Mapping[str, Any]]) -> Iterator[str]:
        today = self.now.date()
        horizon = today + timedelta(days=self.expiry_horizon.days)
        for deployment in sorted(deployments, key=lambda d: str(d.get("deploymentName", ""))):
            name = str(deployment.get("deploymentName", "?"))
            expires = _date(deployment.get("deploymentExpirationDate"))
            if expires is not None and expires <= horizon:
                verb = "expired" if expires < today else "expires"
                yield (f"deployment {name!r} {verb} on {expires.isoformat()}: retrain with a newer training "
                       "config")
            config = _text(deployment.get("modelTrainingConfigVersion"))
            training_ends = self._training_expiry(project_kind, config) if config else None
            if training_ends is not None and training_ends <= horizon:
                verb = "ended" if training_ends < today else "ends"
                yield (f"training with config {config} (deployment {name!r}) {verb} on "
                       f"{training_ends.isoformat()}: after that the target cannot be retrained like the "
                       "primary")

    def _training_expiry(self, project_kind: str, config: str) -> date | None:
        if not project_kind:
            return None
        if project_kind not in self._config_versions:
            try:
                offered = self.primary.training_config_versions(project_kind)
            except (ReplicatorError, requests.RequestException):
                offered = []
            self._config_versions[project_kind] = {
                str(item.get("trainingConfigVersion")): str(item.get("modelExpirationDate", ""))
                for item in offered
            }
        return _date(self._config_versions[project_kind].get(config))


def _family_of(metadata: Mapping[str, Any] | None) -> RouteFamily | None:
    kind = project_kind(metadata.get("projectKind")) if metadata is not None else None
    return kind.routes if kind is not None else None


def _wanted_projects(settings: Settings, primary_projects: Mapping[str, Any],
                     projects: Sequence[str] | None) -> list[str]:
    if projects:
        return list(dict.fromkeys(projects))
    if settings.replicate_all:
        # Only the kinds we replicate: the list may hold other analyze-text project kinds.
        return sorted(name for name, metadata in primary_projects.items()
                      if canonical_kind(metadata.get("projectKind")) is not None)
    return list(settings.replicated_projects)


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _with_risk(entry: ProjectDrift, risk: str) -> ProjectDrift:
    return replace(entry, risks=(*entry.risks, risk))


def _counted_hash(content_hash: ContentHash, counts: Counter[str]) -> ContentHash:
    def hashed(project: str) -> str:
        # An export is one POST, then polls and the result download (GETs counted by the caller's budget).
        counts["POST"] += 1
        return content_hash(project)

    return hashed


def _requests(counts: Mapping[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {resource: dict(sorted(counter.items())) for resource, counter in counts.items()}


def _describe(error: BaseException) -> str:
    if isinstance(error, ReplicatorError):
        return error.message
    return f"{type(error).__name__}: {error}"


def export_content_hash(client: Any, project: str, *, poll_interval: float = 2.0,
                        timeout: float = 300.0) -> str:
    """Content hash of a fresh export of the working copy: export, poll, download, hash.

    `client` is a shared.language.authoring.AuthoringClient (its clock paces the polls). Blocking, because a
    drift check is one short call; an export takes seconds on the service.
    """
    from shared.language.export_stream import summarise_export

    status = client.wait(client.start_export(project), poll_interval=poll_interval, deadline=timeout)
    status.raise_for_failure()
    if not status.result_url:
        raise ReplicatorError(f"the export of {project!r} succeeded but named no result")
    with client.open_export_result(status.result_url) as stream:
        return summarise_export(stream).content_hash  # hashed as it streams: never parsed whole

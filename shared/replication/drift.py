"""Drift detection: does each target still serve what the primary serves, and how old is what it serves?

Per (target, project), the cheap signals come first and cost almost nothing: one paged project list
per resource (not a GET per project), one deployment list per primary project, one training-config
list per project kind, and a listing of the primary's document container (storage, outside the
Language request budget). Only when the primary's `lastModifiedDateTime` moved and nothing else
already proves drift does a fresh export decide, by its content hash: the export is a POST and
counts against the 10-POST-per-minute budget, and a touched-but-unchanged project must not cost a
billed training run.

A target modified after our last import (someone edited the secondary during an outage) is
*diverged*: reported, and never overwritten without `force` (the engine enforces that).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import requests
from azure.core.exceptions import AzureError

from shared.clock import Clock, is_later, parse_iso, utc_iso
from shared.errors import ReplicatorError
from shared.language.authoring import DEFAULT_PAGE_SIZE
from shared.language.export_format import canonical_kind
from shared.language.regions import target_region_problems
from shared.replication.sync_record import DeploymentRecord, SyncRecord
from shared.settings import Settings

# The service's modelId: `model1-20220418T034749-299f45b8114849538c1a750b21b05a94`.
_MODEL_ID = re.compile(r"^(?P<label>[A-Za-z0-9_.-]{1,50})-\d{8}T\d{6}-[0-9a-f]{32}$")


class DriftState(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"  # the primary changed since our last sync: replicate
    DIVERGED = "diverged"  # the target changed after our last import: report, never overwrite without force
    MISSING = "missing"  # the target has no such project: replicate
    ERROR = "error"  # unknown: the check itself failed (the reason says why)


# States that a replication run resolves (a diverged target needs a person, or force).
NEEDS_REPLICATION = frozenset({DriftState.DRIFTED, DriftState.MISSING})


class AuthoringReader(Protocol):
    """The read side of shared.language.authoring.AuthoringClient that drift needs."""

    def list_projects(self) -> Iterator[dict[str, Any]]: ...

    def list_deployments(self, project: str) -> list[dict[str, Any]]: ...

    def list_models(self, project: str) -> list[dict[str, Any]]: ...

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]: ...


class SyncRecords(Protocol):
    def get(self, target: str, project: str) -> SyncRecord | None: ...


# (project, primary container) -> fingerprint of the primary's documents, computed exactly as the
# engine computed SyncRecord.documents_fingerprint.
DocumentsFingerprint = Callable[[str, str], str]
# project -> content hash of a fresh export of the primary's working copy (a POST, so rare).
ContentHash = Callable[[str], str]


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
                if notes:
                    lines.append(f"  {entry.project} -> {entry.target}:")
                    lines.extend(notes)
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        summary = ", ".join(f"{count} {state}" for state, count in self.counts().items() if count)
        lines.append(f"Summary: {summary or 'nothing to check'}")
        return "\n".join(lines)


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

    def list_projects(self) -> Iterator[dict[str, Any]]:
        listed = list(self._inner.list_projects())
        self._counts["GET"] += max(1, math.ceil(len(listed) / DEFAULT_PAGE_SIZE))
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
) -> DriftReport:
    """Compare every replicated project (or `projects`) on the primary with every target.

    `targets` maps each configured target name to its authoring client. Nothing is written and no
    job is started except, at most, one export per project whose timestamp alone moved. Expiry dates
    within `expiry_horizon` (default: EXPIRY_WARNING_DAYS) and recovery points older than
    RECOVERY_POINT_MAX_AGE_HOURS are reported as risks.
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
        failed = [ProjectDrift(target.name, name, DriftState.ERROR, (reason,))
                  for name in names for target in settings.targets]
        return DriftReport(now, tuple(failed), _requests(counts), (*warnings, reason))
    wanted = _wanted_projects(settings, primary_projects, projects)

    target_projects: dict[str, dict[str, dict[str, Any]] | str] = {}
    for target in settings.targets:
        counts[target.name] = Counter()
        client = targets.get(target.name)
        if client is None:
            target_projects[target.name] = f"no authoring client for target {target.name!r}"
            continue
        try:
            listed = _Counted(client, counts[target.name]).list_projects()
            target_projects[target.name] = {str(p["projectName"]): p for p in listed}
        except (ReplicatorError, requests.RequestException) as error:
            target_projects[target.name] = f"cannot list the target's projects: {_describe(error)}"

    checker = _ProjectChecker(
        primary=counted_primary,
        documents_fingerprint=documents_fingerprint,
        content_hash=_counted_hash(content_hash, counts["primary"]),
        now=now,
        expiry_horizon=expiry_horizon,
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
                entry = checker.check(target.name, name, metadata, listing.get(name),
                                      records.get(target.name, name))
            except (ReplicatorError, requests.RequestException, AzureError, OSError) as error:
                # One project's failure (e.g. its document storage unreachable) must not hide the others.
                reason = f"check failed: {_describe(error)}"
                entry = ProjectDrift(target.name, name, DriftState.ERROR, (reason,))
            age = entry.recovery_point_age
            if age is not None and age > settings.recovery_point_max_age:
                limit = int(settings.recovery_point_max_age.total_seconds() // 3600)
                entry = _with_risk(entry, f"the recovery point is {format_age(age)} old, older than "
                                          f"RECOVERY_POINT_MAX_AGE_HOURS={limit}")
            if target.name in region_problems:
                entry = _with_risk(entry, f"the target's region {target.language.region!r} cannot author "
                                          "custom NER or custom text classification (see the warnings)")
            if target.documents_shared:
                entry = _with_risk(entry, "documents are shared with the primary (DOCUMENTS_SHARED=true): an "
                                          "outage of the primary's region also takes the target's documents")
            entries.append(entry)
    return DriftReport(now, tuple(entries), _requests(counts), tuple(warnings))


class _ProjectChecker:
    def __init__(self, *, primary: _Counted, documents_fingerprint: DocumentsFingerprint,
                 content_hash: ContentHash, now: datetime, expiry_horizon: timedelta) -> None:
        self.primary = primary
        self.documents_fingerprint = documents_fingerprint
        self.content_hash = content_hash
        self.now = now
        self.expiry_horizon = expiry_horizon
        self._config_versions: dict[str, dict[str, str]] = {}

    def check(self, target: str, project: str, primary: Mapping[str, Any],
              secondary: Mapping[str, Any] | None, record: SyncRecord | None) -> ProjectDrift:
        primary_modified = _text(primary.get("lastModifiedDateTime"))
        base = ProjectDrift(
            target=target,
            project=project,
            state=DriftState.IN_SYNC,
            last_synced_at=record.synced_at if record else None,
            last_run_id=(record.run_id or None) if record else None,
            primary_last_modified=primary_modified,
            target_last_modified=_text(secondary.get("lastModifiedDateTime")) if secondary else None,
        )
        deployments = self.primary.list_deployments(project)
        risks = tuple(self._expiry_risks(str(primary.get("projectKind", "")), deployments))
        if secondary is None:
            return replace(base, state=DriftState.MISSING, risks=risks,
                            reasons=(f"the target has no project {project!r}",))
        if record is None:
            # Someone else's project of the same name: replacing it unasked could destroy their work.
            return replace(base, state=DriftState.DIVERGED, risks=risks, reasons=(
                "the target already has a project of this name that we never replicated: it is left alone "
                "unless replication is forced (which backs up its assets first)",))

        diverged = self._divergence(record, secondary)
        # Changes on the primary since our last sync; deployment and document changes are proof on their own.
        changes = _deployment_changes(record.deployments, self._current_deployments(project, deployments))
        if not changes:
            changes += self._retrained_labels(project, primary, record)
        container = str(primary.get("storageInputContainerName", ""))
        if container and self.documents_fingerprint(project, container) != record.documents_fingerprint:
            changes.append(f"the documents in container {container!r} changed (text edited, added or removed "
                           "in blob storage)")
        notes: list[str] = []
        export_checked = False
        if is_later(primary_modified, record.primary_last_modified):
            touched = (f"the primary was modified at {primary_modified} (last sync saw "
                       f"{record.primary_last_modified})")
            if changes or diverged:
                # Already decided: spare the export's POST.
                changes.insert(0, touched)
            else:
                # The timestamp alone is no proof (a save without changes moves it): a fresh export decides.
                export_checked = True
                if self.content_hash(project) != record.content_hash:
                    changes.insert(0, f"{touched}, and a fresh export's labels or settings differ")
                else:
                    notes.append(f"{touched}, but a fresh export has the content we replicated")

        if diverged:
            state, reasons = DriftState.DIVERGED, [diverged, *changes]
        elif changes:
            state, reasons = DriftState.DRIFTED, changes
        else:
            state, reasons = DriftState.IN_SYNC, notes
        return replace(base, state=state, reasons=tuple(reasons), risks=risks, export_checked=export_checked,
                       recovery_point_age=self._recovery_point_age(record, changed=bool(changes)))

    def _current_deployments(self, project: str,
                             deployments: Iterable[Mapping[str, Any]]) -> dict[str, DeploymentRecord]:
        """Deployment name -> the label it serves, as the sync record keeps it.

        A GA deployment names only its modelId, `<label>-<yyyymmddThhmmss>-<32 hex>` on the service; the
        label is read from it, and only an id of another shape costs a GET of the project's models.
        """
        labels_by_id: dict[str, str] | None = None
        current: dict[str, DeploymentRecord] = {}
        for item in deployments:
            name = str(item.get("deploymentName") or "")
            if not name:
                continue
            model_id = str(item.get("modelId", ""))
            match = _MODEL_ID.match(model_id)
            if match:
                label = match["label"]
            else:
                if labels_by_id is None:
                    labels_by_id = {str(m.get("modelId")): str(m.get("label"))
                                    for m in self.primary.list_models(project)}
                label = labels_by_id.get(model_id, model_id)
            current[name] = DeploymentRecord(
                label=label,
                last_trained=str(item.get("lastTrainedDateTime", "")),
                training_config_version=str(item.get("modelTrainingConfigVersion", "")),
            )
        return current

    def _retrained_labels(self, project: str, primary: Mapping[str, Any], record: SyncRecord) -> list[str]:
        """A deployed label retrained on the primary, its deployment still pinned to the previous model.

        The project list's lastTrainedDateTime (free) says whether any training finished since our sync;
        only then does one GET of the models say which label it was.
        """
        recorded = {**{d.label: d.last_trained for d in record.deployments.values()}, **record.trained_labels}
        newest = max(recorded.values(), key=_sortable, default=None)
        if not recorded or not is_later(_text(primary.get("lastTrainedDateTime")), newest):
            return []
        models = {str(m.get("label")): m for m in self.primary.list_models(project)}
        changes = []
        for label, trained in sorted(recorded.items()):
            now_trained = _text((models.get(label) or {}).get("lastTrainedDateTime"))
            if now_trained and now_trained != trained:
                changes.append(f"model {label!r} was retrained on the primary at {now_trained} (last sync "
                               f"saw {trained}); its deployment has not been redeployed yet")
        return changes

    def _divergence(self, record: SyncRecord, secondary: Mapping[str, Any]) -> str | None:
        current = _text(secondary.get("lastModifiedDateTime"))
        if record.secondary_last_modified is None or not is_later(current, record.secondary_last_modified):
            return None
        return (f"the target was modified at {current}, after our last import "
                f"({record.secondary_last_modified}): someone edited it; it is left alone unless replication "
                "is forced")

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


def _wanted_projects(settings: Settings, primary_projects: Mapping[str, Any],
                     projects: Sequence[str] | None) -> list[str]:
    if projects:
        return list(dict.fromkeys(projects))
    if settings.replicate_all:
        # Only the kinds we replicate: the list may hold other analyze-text project kinds.
        return sorted(name for name, metadata in primary_projects.items()
                      if canonical_kind(metadata.get("projectKind")) is not None)
    return list(settings.replicated_projects)


def _deployment_changes(recorded: Mapping[str, DeploymentRecord],
                        current: Mapping[str, DeploymentRecord]) -> list[str]:
    """Added, removed, re-pointed or retrained deployments.

    modelId is never compared: it differs between resources even for the same training data.
    """
    changes: list[str] = []
    for name in sorted(set(recorded) | set(current)):
        before, after = recorded.get(name), current.get(name)
        if before is None and after is not None:
            changes.append(f"deployment {name!r} was added on the primary (model {after.label!r})")
        elif after is None and before is not None:
            changes.append(f"deployment {name!r} was removed from the primary")
        elif before is not None and after is not None:
            if before.label != after.label:
                changes.append(f"deployment {name!r} now serves model {after.label!r} (was {before.label!r})")
            elif after.last_trained != before.last_trained:
                changes.append(f"model {after.label!r} behind deployment {name!r} was retrained at "
                               f"{after.last_trained} (last sync saw {before.last_trained})")
            elif after.training_config_version != before.training_config_version:
                changes.append(f"model {after.label!r} behind deployment {name!r} now uses training config "
                               f"{after.training_config_version} (was {before.training_config_version})")
    return changes


def _sortable(value: str) -> datetime:
    try:
        return parse_iso(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


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

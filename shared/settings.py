"""The product's settings: one frozen `Settings`, read once from app settings or local.settings.json.

Every problem is reported as a `SettingsError` naming the setting; secret values never appear in
messages or reprs. The replication targets are a list from the start (this release configures one,
"secondary"), so run state and locks can be keyed by (target, project).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.api_versions import (
    DEFAULT_CONVERSATIONS_API_VERSION,
    DEFAULT_TEXT_API_VERSION,
    ConversationsApiVersion,
    TextApiVersion,
)
from shared.connections import (
    LOOPBACK_HOSTS,
    connection_string_problem,
    is_connection_string,
    resolve_connection,
)
from shared.errors import SettingsError as SettingsError  # its home; re-exported for callers of settings
from shared.names import PROJECT_NAME_RULE, is_valid_name
from shared.schedule import DEFAULT_SCHEDULE as DEFAULT_DRIFT_SCHEDULE
from shared.schedule import Schedule, ScheduleError

KNOWN_SETTINGS: tuple[str, ...] = (
    "PRIMARY_LANGUAGE_ENDPOINT",
    "PRIMARY_LANGUAGE_KEY",
    "PRIMARY_DOCUMENTS_STORAGE",
    "SECONDARY_LANGUAGE_ENDPOINT",
    "SECONDARY_LANGUAGE_KEY",
    "SECONDARY_DOCUMENTS_STORAGE",
    "SECONDARY_REGION",
    "DOCUMENTS_SHARED",
    "REPLICATED_PROJECTS",
    "SNAPSHOT_STORAGE",
    "SNAPSHOT_CONTAINER",
    "DRIFT_SCHEDULE",
    "DRIFT_FULL_CHECK_DAYS",
    "LANGUAGE_API_VERSION",
    # Conversation projects (issue 17): CLU and orchestration workflow.
    "CONVERSATIONS_API_VERSION",
    "CLU_DEFAULT_TRAINING_MODE",
    "MAX_TRAININGS_PER_PROJECT_PER_DAY",
    "VERIFY_AGREEMENT_THRESHOLD",
    "RUN_STALL_TIMEOUT_MINUTES",
    # Same model quality (issue 16).
    "TRAINING_SPLIT",
    "VERIFY_AGREEMENT_THRESHOLD_RESAMPLED",
    "VERIFY_EVALUATION_TOLERANCE",
    # Backup and recovery (issue 7).
    "SECONDARY_TARGETS",
    "SNAPSHOT_RETENTION_COUNT",
    "SNAPSHOT_RETENTION_DAYS",
    "EXPIRY_WARNING_DAYS",
    "RECOVERY_POINT_MAX_AGE_HOURS",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_FORMAT",
    "DELETE_REMOVED_PROJECTS",
    # Fail over and back (issue 15): the promotion record's container, readable by callers.
    "ROUTING_CONTAINER",
    "DRILL_EVERY_DAYS",
)

# Keys, and storage settings because a connection string carries an account key.
SECRET_SETTINGS: tuple[str, ...] = (
    "PRIMARY_LANGUAGE_KEY",
    "SECONDARY_LANGUAGE_KEY",
    "PRIMARY_DOCUMENTS_STORAGE",
    "SECONDARY_DOCUMENTS_STORAGE",
    "SNAPSHOT_STORAGE",
    "NOTIFY_WEBHOOK_URL",  # Slack and Teams webhook URLs carry their own signature: whoever has one can post
)

# The Functions host's own storage connection: the step queue lives there.
HOST_STORAGE_CONNECTION = "AzureWebJobsStorage"

DEFAULT_SNAPSHOT_CONTAINER = "snapshots"
DEFAULT_ROUTING_CONTAINER = "routing"
# Between full passes the daily check reads only the resources' project lists (a few GETs per resource);
# a change that moves no project timestamp (a deleted deployment or model) waits for the next full pass.
DEFAULT_DRIFT_FULL_CHECK_DAYS = 7
DEFAULT_MAX_TRAININGS_PER_DAY = 3
DEFAULT_VERIFY_AGREEMENT_THRESHOLD = 1.0
# When the service drew a new train/test split, the replica learnt from other documents: less agreement.
DEFAULT_VERIFY_AGREEMENT_THRESHOLD_RESAMPLED = 0.8
DEFAULT_VERIFY_EVALUATION_TOLERANCE = 0.02
# exact: rebuild the primary's train/test split as a manual split; service: send its evaluationOptions.
TRAINING_SPLITS: tuple[str, ...] = ("exact", "service")
# A conversation project's trainingMode when the primary's is unknown (its training jobs expired):
# standard is free, advanced is billed.
TRAINING_MODES: tuple[str, ...] = ("standard", "advanced")
DEFAULT_CLU_TRAINING_MODE = "standard"
DEFAULT_RUN_STALL_TIMEOUT_MINUTES = 30
SECONDARY_TARGET = "secondary"
DEFAULT_EXPIRY_WARNING_DAYS = 30
DEFAULT_RECOVERY_POINT_MAX_AGE_HOURS = 36
NOTIFY_FORMATS: tuple[str, ...] = ("json", "slack", "teams")
# Per-target settings of SECONDARY_TARGETS=a,b: SECONDARY__A__LANGUAGE_ENDPOINT and so on.
# The failover client (failover_client/language_failover/settings.py) restates the Language ones and the
# name pattern, to install without this package; tests/failover_client/test_settings.py holds them together.
TARGET_SETTING_SUFFIXES: tuple[str, ...] = (
    "LANGUAGE_ENDPOINT", "LANGUAGE_KEY", "DOCUMENTS_STORAGE", "DOCUMENTS_CONTAINER", "REGION",
)
TARGET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

# Blob container naming rules: 3-63 lower-case letters, digits and single hyphens.
CONTAINER_NAME_PATTERN = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# Keys are 32 hex digits or 84 letters and digits; test and emulator keys add - and _: all safe in a header.
LANGUAGE_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A region's programmatic name (westus2) or its display name (West US 2).
REGION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ]{1,39}")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


@dataclass(frozen=True)
class LanguageResource:
    """One Azure AI Language resource. No key means Microsoft Entra ID (bearer token)."""

    name: str
    endpoint: str
    key: str | None = None
    region: str | None = None

    def __repr__(self) -> str:
        key = "None" if self.key is None else "'***'"
        return (
            f"LanguageResource(name={self.name!r}, endpoint={self.endpoint!r}, key={key}, "
            f"region={self.region!r})"
        )

    __str__ = __repr__

    @property
    def budget_key(self) -> str:
        """Identifies the resource for its request budget (the service limits per resource)."""
        return urlsplit(self.endpoint).netloc.lower()

    def to_json(self) -> dict[str, Any]:
        """A description safe to show: whether a key is set, never the key."""
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "region": self.region,
            "auth": "key" if self.key else "entra-id",
        }


@dataclass(frozen=True)
class Target:
    """Where replicas go: a Language resource and the storage account linked to it."""

    name: str
    language: LanguageResource
    documents_storage: str = field(repr=False)
    documents_container_override: str | None = None
    # True when the target reads the primary's documents (DOCUMENTS_SHARED): a DR risk.
    documents_shared: bool = False
    documents_storage_setting: str = "SECONDARY_DOCUMENTS_STORAGE"

    def documents_container(self, primary_container: str) -> str:
        """The container the target's copy of a project's documents lives in."""
        return self.documents_container_override or primary_container

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "language": self.language.to_json(),
            "documentsShared": self.documents_shared,
            "documentsContainerOverride": self.documents_container_override,
        }


@dataclass(frozen=True)
class Settings:
    primary: LanguageResource
    primary_documents_storage: str = field(repr=False)
    targets: tuple[Target, ...]
    # Empty with replicate_all=True means every project of the primary (REPLICATED_PROJECTS=*).
    replicated_projects: tuple[str, ...]
    replicate_all: bool
    snapshot_storage: str = field(repr=False)
    snapshot_container: str = DEFAULT_SNAPSHOT_CONTAINER
    drift_schedule: str = DEFAULT_DRIFT_SCHEDULE
    # A (target, project) is observed project by project when its last full observation is this old.
    drift_full_check_days: int = DEFAULT_DRIFT_FULL_CHECK_DAYS
    api_version: TextApiVersion = DEFAULT_TEXT_API_VERSION
    conversations_api_version: ConversationsApiVersion = DEFAULT_CONVERSATIONS_API_VERSION
    clu_default_training_mode: str = DEFAULT_CLU_TRAINING_MODE
    max_trainings_per_project_per_day: int = DEFAULT_MAX_TRAININGS_PER_DAY
    verify_agreement_threshold: float = DEFAULT_VERIFY_AGREEMENT_THRESHOLD
    verify_agreement_threshold_resampled: float = DEFAULT_VERIFY_AGREEMENT_THRESHOLD_RESAMPLED
    verify_evaluation_tolerance: float = DEFAULT_VERIFY_EVALUATION_TOLERANCE
    training_split: str = "exact"
    run_stall_timeout: timedelta = timedelta(minutes=DEFAULT_RUN_STALL_TIMEOUT_MINUTES)
    documents_shared: bool = False
    warnings: tuple[str, ...] = ()
    # Backup and recovery (issue 7): None means "no limit of that kind".
    snapshot_retention_count: int | None = None
    snapshot_retention_days: int | None = None
    expiry_warning_days: int = DEFAULT_EXPIRY_WARNING_DAYS
    recovery_point_max_age: timedelta = timedelta(hours=DEFAULT_RECOVERY_POINT_MAX_AGE_HOURS)
    notify_webhook_url: str | None = field(default=None, repr=False)
    notify_format: str = "json"
    delete_removed_projects: bool = False
    routing_container: str = DEFAULT_ROUTING_CONTAINER
    # The daily timer runs the DR drill when the last one is this many days old; 0: only on demand.
    drill_every_days: int = 0
    # Every raw value, for resolving connections the way the Functions host does (X__serviceUri...).
    values: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise SettingsError("targets", f"no target named {name!r}; configured: {self.target_names()}")

    def target_names(self) -> list[str]:
        return [target.name for target in self.targets]

    def is_replicated(self, project: str) -> bool:
        return self.replicate_all or project in self.replicated_projects

    def to_json(self) -> dict[str, Any]:
        """The effective configuration without secrets (for health and diagnostics)."""
        return {
            "primary": self.primary.to_json(),
            "targets": [target.to_json() for target in self.targets],
            "replicatedProjects": "*" if self.replicate_all else list(self.replicated_projects),
            "snapshotContainer": self.snapshot_container,
            "driftSchedule": self.drift_schedule,
            "driftFullCheckDays": self.drift_full_check_days,
            "apiVersion": self.api_version,
            "conversationsApiVersion": self.conversations_api_version,
            "cluDefaultTrainingMode": self.clu_default_training_mode,
            "maxTrainingsPerProjectPerDay": self.max_trainings_per_project_per_day,
            "verifyAgreementThreshold": self.verify_agreement_threshold,
            "verifyAgreementThresholdResampled": self.verify_agreement_threshold_resampled,
            "verifyEvaluationTolerance": self.verify_evaluation_tolerance,
            "trainingSplit": self.training_split,
            "runStallTimeoutMinutes": self.run_stall_timeout.total_seconds() / 60,
            "documentsShared": self.documents_shared,
            "warnings": list(self.warnings),
            "snapshotRetentionCount": self.snapshot_retention_count,
            "snapshotRetentionDays": self.snapshot_retention_days,
            "expiryWarningDays": self.expiry_warning_days,
            "recoveryPointMaxAgeHours": self.recovery_point_max_age.total_seconds() / 3600,
            "notifications": {"configured": self.notify_webhook_url is not None,
                              "format": self.notify_format},
            "deleteRemovedProjects": self.delete_removed_projects,
            "routingContainer": self.routing_container,
            "drillEveryDays": self.drill_every_days,
        }


def load_settings(environ: Mapping[str, str] | None = None, local_settings: Path | None = None) -> Settings:
    """Read and validate every setting.

    Each value comes from `environ` (default: the process environment) when set there, else from
    the `Values` of `local_settings` (default: ./local.settings.json, looked for only when `environ`
    is not given, so tests passing `environ` never pick up a developer's file).
    """
    if environ is None:
        environ = os.environ
        if local_settings is None and Path("local.settings.json").is_file():
            local_settings = Path("local.settings.json")
    values: dict[str, str] = {}
    if local_settings is not None:
        values.update(read_local_settings(local_settings))
    values.update({name: value for name, value in environ.items() if isinstance(value, str)})
    return settings_from_values(values)


def read_local_settings(path: Path) -> dict[str, str]:
    """The `Values` of a local.settings.json file, checked to be strings as the host requires."""
    setting = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SettingsError(setting, "file not found") from None
    except (OSError, ValueError) as error:
        raise SettingsError(setting, f"not readable JSON ({type(error).__name__})") from None
    values = document.get("Values") if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise SettingsError(setting, 'has no "Values" object')
    result: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise SettingsError(name, f"in {setting} must be a string")
        result[str(name)] = value
    return result


def settings_from_values(values: Mapping[str, str]) -> Settings:
    reader = _Reader(values)
    primary = LanguageResource(
        name="primary",
        endpoint=reader.endpoint("PRIMARY_LANGUAGE_ENDPOINT"),
        key=reader.key("PRIMARY_LANGUAGE_KEY"),
    )
    listed_targets = _listed_targets(reader, primary)
    # SECONDARY_TARGETS alone configures every target; the single-secondary settings still work beside it.
    targets_only = bool(listed_targets) and reader.optional("SECONDARY_LANGUAGE_ENDPOINT") is None
    secondary = None if targets_only else LanguageResource(
        name=SECONDARY_TARGET,
        endpoint=reader.endpoint("SECONDARY_LANGUAGE_ENDPOINT"),
        key=reader.key("SECONDARY_LANGUAGE_KEY"),
        region=reader.region("SECONDARY_REGION"),
    )
    if secondary is not None and secondary.budget_key == primary.budget_key:
        raise SettingsError(
            "SECONDARY_LANGUAGE_ENDPOINT", "is the same resource as PRIMARY_LANGUAGE_ENDPOINT"
        )
    warnings: list[str] = []
    primary_documents = reader.required(
        "PRIMARY_DOCUMENTS_STORAGE",
        "set the connection string or account URL of the primary Language resource's storage account",
    )
    _check_storage_value("PRIMARY_DOCUMENTS_STORAGE", primary_documents)
    documents_shared = reader.boolean("DOCUMENTS_SHARED", default=False)
    secondary_documents = reader.optional("SECONDARY_DOCUMENTS_STORAGE")
    if secondary is None:
        pass
    elif secondary_documents is None:
        if not documents_shared:
            raise SettingsError(
                "SECONDARY_DOCUMENTS_STORAGE",
                "is not set: set the connection string or account URL of the storage account linked to "
                "the secondary Language resource (a resource reads only its own linked account), or set "
                "DOCUMENTS_SHARED=true to accept the risk of sharing the primary's",
            )
        warnings.append(
            "DOCUMENTS_SHARED is on: the secondary reads the primary's document storage, which a "
            "regional outage takes down with the primary (DR risk)"
        )
        secondary_documents = primary_documents
    elif documents_shared:
        warnings.append("DOCUMENTS_SHARED is ignored because SECONDARY_DOCUMENTS_STORAGE is set")
        documents_shared = False
    targets: list[Target] = []
    if secondary is not None:
        assert secondary_documents is not None
        _check_storage_value("SECONDARY_DOCUMENTS_STORAGE", secondary_documents)
        targets.append(Target(
            name=SECONDARY_TARGET,
            language=secondary,
            documents_storage=secondary_documents,
            documents_shared=documents_shared,
            documents_storage_setting=(
                "PRIMARY_DOCUMENTS_STORAGE" if documents_shared else "SECONDARY_DOCUMENTS_STORAGE"
            ),
        ))
    for listed in listed_targets:
        if any(t.name == listed.name for t in targets):
            raise SettingsError("SECONDARY_TARGETS", "names a target twice, or one named as the secondary")
        if any(t.language.budget_key == listed.language.budget_key for t in targets):
            raise SettingsError(
                f"SECONDARY__{_target_key(listed.name)}__LANGUAGE_ENDPOINT",
                "is the same resource as another target's endpoint",
            )
        targets.append(listed)
    projects, replicate_all = reader.projects("REPLICATED_PROJECTS")
    snapshot_storage = reader.required(
        "SNAPSHOT_STORAGE",
        "set a storage connection string, or the name of a connection (X with X__blobServiceUri)",
    )
    # Resolve now (no network, no credential) so a dangling connection name fails at start-up.
    resolve_connection(snapshot_storage, values, "blob", setting="SNAPSHOT_STORAGE")
    snapshot_container = reader.optional("SNAPSHOT_CONTAINER") or DEFAULT_SNAPSHOT_CONTAINER
    if not CONTAINER_NAME_PATTERN.match(snapshot_container):
        raise SettingsError(
            "SNAPSHOT_CONTAINER",
            "is not a valid blob container name (3-63 lower-case letters, digits and single hyphens)",
        )
    routing_container = reader.optional("ROUTING_CONTAINER") or DEFAULT_ROUTING_CONTAINER
    if not CONTAINER_NAME_PATTERN.match(routing_container) or routing_container == snapshot_container:
        raise SettingsError(
            "ROUTING_CONTAINER",
            "is not a valid blob container name (3-63 lower-case letters, digits and single hyphens), or "
            "is SNAPSHOT_CONTAINER's: callers are granted read access to it alone",
        )
    configured_version = reader.optional("LANGUAGE_API_VERSION")
    api_version = (TextApiVersion.from_setting(configured_version, "LANGUAGE_API_VERSION")
                   if configured_version else DEFAULT_TEXT_API_VERSION)
    if not api_version.supports_model_scoped_export:
        warnings.append(
            "the api-version LANGUAGE_API_VERSION names has no model-scoped export: every label is trained "
            "from the primary's working copy"
        )
    configured_conversations = reader.optional("CONVERSATIONS_API_VERSION")
    conversations_api_version = (
        ConversationsApiVersion.from_setting(configured_conversations, "CONVERSATIONS_API_VERSION")
        if configured_conversations else DEFAULT_CONVERSATIONS_API_VERSION)
    return Settings(
        primary=primary,
        primary_documents_storage=primary_documents,
        targets=tuple(targets),
        replicated_projects=projects,
        replicate_all=replicate_all,
        snapshot_storage=snapshot_storage,
        snapshot_container=snapshot_container,
        drift_schedule=reader.schedule("DRIFT_SCHEDULE"),
        drift_full_check_days=reader.integer("DRIFT_FULL_CHECK_DAYS", DEFAULT_DRIFT_FULL_CHECK_DAYS,
                                             minimum=1),
        api_version=api_version,
        conversations_api_version=conversations_api_version,
        clu_default_training_mode=_training_mode(reader),
        max_trainings_per_project_per_day=reader.integer(
            "MAX_TRAININGS_PER_PROJECT_PER_DAY", DEFAULT_MAX_TRAININGS_PER_DAY, minimum=0
        ),
        verify_agreement_threshold=reader.fraction(
            "VERIFY_AGREEMENT_THRESHOLD", DEFAULT_VERIFY_AGREEMENT_THRESHOLD
        ),
        verify_agreement_threshold_resampled=reader.fraction(
            "VERIFY_AGREEMENT_THRESHOLD_RESAMPLED", DEFAULT_VERIFY_AGREEMENT_THRESHOLD_RESAMPLED
        ),
        verify_evaluation_tolerance=reader.fraction(
            "VERIFY_EVALUATION_TOLERANCE", DEFAULT_VERIFY_EVALUATION_TOLERANCE
        ),
        training_split=_training_split(reader),
        run_stall_timeout=timedelta(
            minutes=reader.integer("RUN_STALL_TIMEOUT_MINUTES", DEFAULT_RUN_STALL_TIMEOUT_MINUTES, minimum=1)
        ),
        documents_shared=documents_shared,
        warnings=tuple(warnings),
        snapshot_retention_count=reader.optional_integer("SNAPSHOT_RETENTION_COUNT", minimum=1),
        snapshot_retention_days=reader.optional_integer("SNAPSHOT_RETENTION_DAYS", minimum=1),
        expiry_warning_days=reader.integer("EXPIRY_WARNING_DAYS", DEFAULT_EXPIRY_WARNING_DAYS, minimum=0),
        recovery_point_max_age=timedelta(hours=reader.integer(
            "RECOVERY_POINT_MAX_AGE_HOURS", DEFAULT_RECOVERY_POINT_MAX_AGE_HOURS, minimum=1)),
        notify_webhook_url=_webhook_url(reader),
        notify_format=_notify_format(reader),
        delete_removed_projects=reader.boolean("DELETE_REMOVED_PROJECTS", default=False),
        routing_container=routing_container,
        drill_every_days=reader.integer("DRILL_EVERY_DAYS", 0, minimum=0),
        values=dict(values),
    )


def _target_key(name: str) -> str:
    """The upper-case form a target's name takes inside its settings' names (app settings allow _ only)."""
    return name.upper().replace("-", "_")


def target_setting(name: str, suffix: str) -> str:
    """The name of one of a listed target's settings: target_setting("west-eu", "LANGUAGE_KEY")."""
    return f"SECONDARY__{_target_key(name)}__{suffix}"


def resource_setting(resource: str, suffix: str) -> str:
    """The setting of one Language resource ("primary", "secondary" or a listed target) with `suffix`
    ("LANGUAGE_ENDPOINT", "LANGUAGE_KEY"), for messages that must name it."""
    if resource == "primary":
        return f"PRIMARY_{suffix}"
    if resource == SECONDARY_TARGET:
        return f"SECONDARY_{suffix}"
    return target_setting(resource, suffix)


def _listed_targets(reader: _Reader, primary: LanguageResource) -> list[Target]:
    """SECONDARY_TARGETS=westus2,northeurope, each with SECONDARY__<NAME>__* settings."""
    value = reader.optional("SECONDARY_TARGETS")
    if value is None:
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise SettingsError("SECONDARY_TARGETS", "lists no target")
    targets = []
    for name in dict.fromkeys(names):
        if not TARGET_NAME_PATTERN.match(name) or name == "primary":
            raise SettingsError(
                "SECONDARY_TARGETS",
                "holds a name that is not a valid target name (lower-case letters, digits and '-', "
                "at most 40; not 'primary')",
            )
        prefix = f"SECONDARY__{_target_key(name)}__"
        endpoint = reader.endpoint(f"{prefix}LANGUAGE_ENDPOINT")
        resource = LanguageResource(name=name, endpoint=endpoint,
                                    key=reader.key(f"{prefix}LANGUAGE_KEY"),
                                    region=reader.region(f"{prefix}REGION") or name)
        if resource.budget_key == primary.budget_key:
            raise SettingsError(f"{prefix}LANGUAGE_ENDPOINT",
                                "is the same resource as PRIMARY_LANGUAGE_ENDPOINT")
        storage = reader.required(
            f"{prefix}DOCUMENTS_STORAGE",
            "set the connection string or account URL of the storage account linked to this target's "
            "Language resource",
        )
        _check_storage_value(f"{prefix}DOCUMENTS_STORAGE", storage)
        container = reader.optional(f"{prefix}DOCUMENTS_CONTAINER")
        if container is not None and not CONTAINER_NAME_PATTERN.match(container):
            raise SettingsError(f"{prefix}DOCUMENTS_CONTAINER",
                                "is not a valid blob container name")
        targets.append(Target(name=name, language=resource, documents_storage=storage,
                              documents_container_override=container,
                              documents_storage_setting=f"{prefix}DOCUMENTS_STORAGE"))
    return targets


def _webhook_url(reader: _Reader) -> str | None:
    value = reader.optional("NOTIFY_WEBHOOK_URL")
    if value is None:
        return None
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if not (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)) or not host:
        # Never echo it: the URL is the secret.
        raise SettingsError("NOTIFY_WEBHOOK_URL",
                            "must be an https URL (plain http only for 127.0.0.1/localhost)")
    return value


def _training_split(reader: _Reader) -> str:
    value = (reader.optional("TRAINING_SPLIT") or "exact").lower()
    if value not in TRAINING_SPLITS:
        raise SettingsError("TRAINING_SPLIT", f"must be one of {', '.join(TRAINING_SPLITS)}")
    return value


def _training_mode(reader: _Reader) -> str:
    value = (reader.optional("CLU_DEFAULT_TRAINING_MODE") or DEFAULT_CLU_TRAINING_MODE).strip().lower()
    if value not in TRAINING_MODES:
        raise SettingsError("CLU_DEFAULT_TRAINING_MODE", f"must be one of {', '.join(TRAINING_MODES)}")
    return value


def _notify_format(reader: _Reader) -> str:
    value = (reader.optional("NOTIFY_FORMAT") or "json").lower()
    if value not in NOTIFY_FORMATS:
        raise SettingsError("NOTIFY_FORMAT", f"must be one of {', '.join(NOTIFY_FORMATS)}")
    return value


def validate_project_name(name: str, setting: str = "project") -> str:
    """Names of projects, models and deployments (shared.names: the one rule, `.`/`..` refused)."""
    if not is_valid_name(name):
        # Not quoted: a setting's value is never shown, only its name.
        raise SettingsError(setting, f"holds a name that is not a valid name ({PROJECT_NAME_RULE})")
    return name


def validate_endpoint(value: str, setting: str) -> str:
    """An https resource endpoint (http only on loopback, for the emulator), without a trailing slash."""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise SettingsError(
            setting, "must be an absolute URL such as https://<resource>.cognitiveservices.azure.com"
        )
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise SettingsError(setting, "must use https (plain http is accepted only for 127.0.0.1/localhost)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(setting, "must not carry a query, fragment or credentials")
    if parts.path not in ("", "/"):
        raise SettingsError(
            setting, "must be the resource endpoint without a path (drop everything after the host)"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _check_storage_value(setting: str, value: str) -> None:
    """A connection string or an account URL; checked here so a typo fails at start-up."""
    if is_connection_string(value):
        problem = connection_string_problem(value)
        if problem is not None:
            raise SettingsError(setting, problem)
        return
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        if parts.query or parts.path.strip("/") or parts.username or parts.password:
            # A SAS URL or a container URL: we reach accounts with our identity, or a connection string.
            raise SettingsError(setting, "must be the account URL alone (no path, no query, no SAS); for a "
                                         "SAS, use a connection string with SharedAccessSignature=")
        return
    # Never echo the value: it may be a connection string with a key in it.
    raise SettingsError(
        setting,
        "must be a storage connection string or an https account URL (https://<account>.blob.core.windows.net)",
    )


class _Reader:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def optional(self, setting: str) -> str | None:
        value = self._values.get(setting)
        if value is None or not value.strip():
            return None
        return value.strip()

    def required(self, setting: str, hint: str) -> str:
        value = self.optional(setting)
        if value is None:
            raise SettingsError(setting, f"is not set: {hint}")
        return value

    def key(self, setting: str) -> str | None:
        """A Language resource key: letters and digits only (anything else would break, and so show in,
        the request header)."""
        value = self.optional(setting)
        if value is not None and not LANGUAGE_KEY_PATTERN.fullmatch(value):
            raise SettingsError(setting, "is not a Language resource key (letters, digits, - and _ only; "
                                         "copy it again from the resource's Keys and Endpoint page)")
        return value

    def region(self, setting: str) -> str | None:
        value = self.optional(setting)
        if value is not None and not REGION_PATTERN.fullmatch(value):
            raise SettingsError(setting, "is not an Azure region name such as westus2 or \"West US 2\"")
        return value

    def endpoint(self, setting: str) -> str:
        return validate_endpoint(
            self.required(setting, "set the endpoint of the Language resource, https://<resource>..."),
            setting,
        )

    def optional_integer(self, setting: str, minimum: int) -> int | None:
        if self.optional(setting) is None:
            return None
        return self.integer(setting, minimum, minimum)

    def boolean(self, setting: str, default: bool) -> bool:
        value = self.optional(setting)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(setting, "must be true or false")

    def integer(self, setting: str, default: int, minimum: int) -> int:
        value = self.optional(setting)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(setting, "must be a whole number") from None
        if number < minimum:
            raise SettingsError(setting, f"must be at least {minimum}")
        return number

    def fraction(self, setting: str, default: float) -> float:
        value = self.optional(setting)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(setting, "must be a number between 0 and 1") from None
        if not 0.0 <= number <= 1.0:
            raise SettingsError(setting, "must be between 0 and 1")
        return number

    def projects(self, setting: str) -> tuple[tuple[str, ...], bool]:
        value = self.required(setting, "list the projects to replicate, comma-separated, or * for all")
        if value == "*":
            return (), True
        names = [name.strip() for name in value.split(",") if name.strip()]
        if "*" in names:
            raise SettingsError(setting, "use * alone, not inside a list")
        if not names:
            raise SettingsError(setting, "lists no project")
        for name in names:
            validate_project_name(name, setting)
        return tuple(dict.fromkeys(names)), False

    def schedule(self, setting: str) -> str:
        value = self.optional(setting)
        if value is None:
            return DEFAULT_DRIFT_SCHEDULE
        # The Functions timer trigger takes six-field NCRONTAB; the status page reads the same schedule to
        # tell an overdue check (shared.schedule), so one parser decides what is valid.
        try:
            Schedule.parse(value)
        except ScheduleError as error:
            raise SettingsError(
                setting,
                f"is not a six-field NCRONTAB expression that fires, such as {DEFAULT_DRIFT_SCHEDULE!r} "
                f"({error})",
            ) from None
        return " ".join(value.split())

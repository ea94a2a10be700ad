"""`python -m shared doctor` and `GET /api/doctor`: what a first real deployment needs, checked read-only.

For each configured resource: the service answers at all; the endpoint is a custom subdomain; the key
or identity authenticates; the identity holds the role each side needs (Reader on the primary, Owner
on each target); each target can author custom projects (its region); the api-version is served; the
project list is readable; the replicated projects exist with supported kinds; each project's documents
container exists and is readable, and a target that already holds the project names the container
we would copy into. Each check is one line with what to do when it fails.

Nothing is changed. The one request that is not a read is the Owner probe: a DELETE of a deployment of
a project the doctor has just seen not to exist, so there is nothing to delete; the service checks the
role first and answers 403 without it, 404 with it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from shared.connections import LOOPBACK_HOSTS
from shared.errors import ReplicatorError
from shared.language.authoring import AuthoringClient, LanguageApiError
from shared.language.credentials import MissingCredential
from shared.language.project_kinds import ANALYZE_CONVERSATIONS, PROJECT_KINDS, ProjectKind, project_kind
from shared.language.regions import authoring_region_problem
from shared.reachability import engine_endpoints, host_storage_url, unreachable
from shared.redaction import redact
from shared.settings import LanguageResource, SettingsError, Target, resource_setting

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine

PASS, FAIL, SKIP = "pass", "fail", "skip"
# Regional endpoints (https://<region>.api.cognitive.microsoft.com) take keys only.
_REGIONAL_SUFFIXES = (
    ".api.cognitive.microsoft.com",
    ".api.cognitive.microsoft.us",
    ".api.cognitive.azure.cn",
)
_SUBDOMAIN_REFUSAL = "custom subdomain"


@dataclass(frozen=True)
class Check:
    """One check of one resource: pass, fail or skip (not checked, because an earlier check failed)."""

    subject: str  # "primary", a target's name, or "storage"
    name: str
    status: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "check": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    def count(self, status: str) -> int:
        return sum(1 for check in self.checks if check.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passed": self.count(PASS),
            "failed": self.count(FAIL),
            "skipped": self.count(SKIP),
            "checks": [check.to_json() for check in self.checks],
        }

    def to_text(self) -> str:
        width = max((len(check.subject) for check in self.checks), default=0)
        names = max((len(check.name) for check in self.checks), default=0)
        lines = []
        for check in self.checks:
            lines.append(
                f"{check.status.upper():<4}  {check.subject:<{width}}  {check.name:<{names}}  {check.detail}"
            )
            if check.fix and check.status != PASS:
                lines.append(f"{'':<4}  {'':<{width}}  {'':<{names}}  fix: {check.fix}")
        lines.append(
            f"Summary: {self.count(PASS)} passed, {self.count(FAIL)} failed, {self.count(SKIP)} not checked"
        )
        return "\n".join(lines)


@dataclass
class _Collector:
    checks: list[Check] = field(default_factory=list)

    def add(self, subject: str, name: str, status: str, detail: str, fix: str = "") -> bool:
        # Details quote the services' and SDKs' own messages, which can carry a URL with its SAS.
        self.checks.append(Check(subject, name, status, redact(detail), fix))
        return status == PASS

    def skip(self, subject: str, names: tuple[str, ...], why: str) -> None:
        for name in names:
            self.add(subject, name, SKIP, f"not checked: {why}")


def run_doctor(engine: ReplicationEngine, *, timeout: float = 5.0) -> DoctorReport:
    """Every check, in the order a newcomer would fix them."""
    found = _Collector()
    settings = engine.settings
    try:
        host_url = host_storage_url({**os.environ, **settings.values})
    except SettingsError as error:
        found.add("storage", "reachable", FAIL, error.message, f"correct {error.setting}")
        host_url = None
    endpoints = engine_endpoints(engine, host_storage_url=host_url)
    unreachable_settings = unreachable(endpoints, timeout)
    for endpoint in endpoints:
        subject = _subject_of(engine, endpoint.setting)
        if endpoint.setting in unreachable_settings:
            found.add(
                subject,
                "reachable",
                FAIL,
                f"{endpoint.setting}: {unreachable_settings[endpoint.setting]}",
                f"check the endpoint or account {endpoint.setting} names, and the network (firewall, "
                "private endpoint, DNS)",
            )
        else:
            found.add(subject, "reachable", PASS, f"{endpoint.setting}: accepts connections")
    if "SNAPSHOT_STORAGE" in unreachable_settings:
        # Every Language request is charged to the request budget kept in the snapshot storage.
        for resource in (settings.primary, *(target.language for target in settings.targets)):
            found.skip(
                resource.name,
                LANGUAGE_CHECKS,
                "SNAPSHOT_STORAGE, which holds the request budget, is unreachable",
            )
        return DoctorReport(tuple(found.checks))
    primary_projects = _language_checks(
        found, settings.primary, engine.primary, "primary", unreachable_settings
    )
    if primary_projects is not None:
        _replicated_project_checks(found, engine, primary_projects)
    for target in settings.targets:
        clients = engine.targets[target.name]
        target_projects = _language_checks(
            found, target.language, clients.authoring, "target", unreachable_settings
        )
        if target_projects is not None:
            _region_check(found, target, clients.authoring)
            if primary_projects is not None:
                _target_document_checks(found, engine, target, primary_projects, target_projects)
    _snapshot_storage_check(found, engine)
    return DoctorReport(tuple(found.checks))


def _subject_of(engine: ReplicationEngine, setting: str) -> str:
    if setting == resource_setting("primary", "LANGUAGE_ENDPOINT"):
        return "primary"
    for target in engine.settings.targets:
        if setting == resource_setting(target.name, "LANGUAGE_ENDPOINT"):
            return target.name
    return "storage"


LANGUAGE_CHECKS = ("endpoint", "auth", "api-version", "role", "projects")


API_VERSIONS_SERVED = "LANGUAGE_API_VERSION and CONVERSATIONS_API_VERSION are served"


def _language_checks(
    found: _Collector,
    resource: LanguageResource,
    client: AuthoringClient,
    side: str,
    unreachable_settings: dict[str, str],
) -> dict[str, dict[str, Any]] | None:
    """Endpoint, authentication, api-version, role and project list; the projects by name, or None."""
    subject = resource.name
    endpoint_setting = resource_setting(subject, "LANGUAGE_ENDPOINT")
    key_setting = resource_setting(subject, "LANGUAGE_KEY")
    if endpoint_setting in unreachable_settings:
        found.skip(subject, LANGUAGE_CHECKS, f"{endpoint_setting} is unreachable")
        return None
    host = (urlsplit(resource.endpoint).hostname or "").lower()
    subdomain_fix = (
        f"set {endpoint_setting} to the resource's custom subdomain endpoint, "
        "https://<resource-name>.cognitiveservices.azure.com (Keys and Endpoint page); Microsoft "
        "Entra ID works only there"
    )
    if host.endswith(_REGIONAL_SUFFIXES):
        found.add(
            subject,
            "endpoint",
            FAIL,
            f"{endpoint_setting} is a regional endpoint, not a custom subdomain",
            subdomain_fix,
        )
        found.skip(subject, LANGUAGE_CHECKS[1:], "the endpoint is not the resource's own")
        return None
    try:
        client.check_credential()
    except MissingCredential as error:
        found.add(subject, "endpoint", PASS, _endpoint_detail(endpoint_setting, host))
        found.add(subject, "auth", FAIL, error.message, f"set {key_setting}, or give the app an identity")
        found.skip(subject, LANGUAGE_CHECKS[2:], "no credential")
        return None
    try:
        projects = {str(p.get("projectName")): p for p in client.list_projects()}
    except LanguageApiError as error:
        _classify_refusal(
            found,
            subject,
            side,
            error,
            endpoint_setting,
            key_setting,
            host,
            subdomain_fix,
            keyed=resource.key is not None,
        )
        return None
    except (ReplicatorError, requests.RequestException, AzureError) as error:
        found.add(subject, "endpoint", PASS, _endpoint_detail(endpoint_setting, host))
        found.add(subject, "auth", SKIP, "not checked: the project list failed")
        found.add(subject, "api-version", SKIP, "not checked: the project list failed")
        found.add(subject, "role", SKIP, "not checked: the project list failed")
        found.add(
            subject,
            "projects",
            FAIL,
            f"the project list is not readable: {_reason(error)}",
            "retry later; if it persists, check the resource's health in the Azure portal",
        )
        return None
    found.add(subject, "endpoint", PASS, _endpoint_detail(endpoint_setting, host))
    how = "the key" if resource.key else "Microsoft Entra ID (the app's identity)"
    found.add(subject, "auth", PASS, f"{how} authenticates")
    found.add(subject, "api-version", PASS, API_VERSIONS_SERVED)
    _role_check(found, resource, client, side, projects)
    found.add(subject, "projects", PASS, f"the project list is readable ({len(projects)} projects)")
    return projects


def _endpoint_detail(setting: str, host: str) -> str:
    if host in LOOPBACK_HOSTS:
        return f"{setting} is a loopback address (the emulator)"
    return f"{setting} is a custom subdomain endpoint"


def _classify_refusal(
    found: _Collector,
    subject: str,
    side: str,
    error: LanguageApiError,
    endpoint_setting: str,
    key_setting: str,
    host: str,
    subdomain_fix: str,
    *,
    keyed: bool,
) -> None:
    said = f"HTTP {error.status} {error.service_code}: {error.service_message}"
    if error.status == 401 and _SUBDOMAIN_REFUSAL in error.service_message.lower():
        found.add(
            subject,
            "endpoint",
            FAIL,
            f"the service refuses tokens at {endpoint_setting}: {said}",
            subdomain_fix,
        )
        found.skip(subject, LANGUAGE_CHECKS[1:], "the endpoint is not the resource's own")
        return
    found.add(subject, "endpoint", PASS, _endpoint_detail(endpoint_setting, host))
    if error.status == 401:
        fix = (
            f"set {key_setting} to one of the resource's two keys"
            if keyed
            else f"the app's identity is not accepted: check its tenant, or set {key_setting}"
        )
        found.add(subject, "auth", FAIL, said, fix)
        found.skip(subject, LANGUAGE_CHECKS[2:], "not authenticated")
        return
    found.add(subject, "auth", PASS, "the credential is accepted")
    if error.status in (400, 404) and "api-version" in error.service_message.lower():
        # The project list reads both route families: name the setting of the one refused.
        setting = ("CONVERSATIONS_API_VERSION" if ANALYZE_CONVERSATIONS.authoring_path in error.url
                   else "LANGUAGE_API_VERSION")
        found.add(
            subject,
            "api-version",
            FAIL,
            said,
            f"set {setting} to 2023-04-01 (or 2022-05-01), which every region serves",
        )
        found.skip(subject, LANGUAGE_CHECKS[3:], "the api-version is not served")
        return
    found.add(subject, "api-version", PASS, API_VERSIONS_SERVED)
    if error.status == 403:
        found.add(subject, "role", FAIL, said, _role_fix(side))
        found.skip(subject, ("projects",), "no role")
        return
    found.add(subject, "role", SKIP, "not checked: the project list failed")
    found.add(
        subject,
        "projects",
        FAIL,
        f"the project list is not readable: {said}",
        "retry later; if it persists, check the resource's health in the Azure portal",
    )


def _role_fix(side: str) -> str:
    role = "Cognitive Services Language Reader" if side == "primary" else "Cognitive Services Language Owner"
    return (
        f"assign {role} on this Language resource to the app's managed identity (infra/ does this; "
        "roles take a few minutes to apply)"
    )


def _role_check(
    found: _Collector,
    resource: LanguageResource,
    client: AuthoringClient,
    side: str,
    projects: dict[str, dict[str, Any]],
) -> None:
    subject = resource.name
    if resource.key:
        found.add(subject, "role", PASS, "a key grants every operation (roles apply to Microsoft Entra ID)")
        return
    if side == "primary":
        found.add(subject, "role", PASS, "Reader or higher: the project list answered")
        return
    probe = _absent_project_name(projects)
    try:
        if client.get_project(probe) is not None:
            found.add(subject, "role", SKIP, "not checked: the probe project unexpectedly exists")
            return
        client.delete_deployment(probe, "doctor-probe")
    except (ReplicatorError, requests.RequestException) as error:
        if not isinstance(error, LanguageApiError):
            found.add(subject, "role", FAIL, f"the Owner probe failed: {_reason(error)}", "retry later")
            return
        if error.status == 404:
            found.add(subject, "role", PASS, "Owner (deployments may be changed)")
        elif error.status == 403:
            found.add(
                subject,
                "role",
                FAIL,
                f"HTTP 403 {error.service_code}: deploying needs Owner",
                _role_fix(side),
            )
        else:
            found.add(
                subject,
                "role",
                FAIL,
                f"the Owner probe answered HTTP {error.status} {error.service_code}",
                _role_fix(side),
            )
        return
    found.add(
        subject,
        "role",
        FAIL,
        "the Owner probe was accepted for a project that does not exist",
        "report this: the service did not answer as documented",
    )


def _absent_project_name(projects: dict[str, dict[str, Any]]) -> str:
    while True:
        name = f"doctor-probe-{secrets.token_hex(6)}"
        if name not in projects:
            return name


def _region_check(found: _Collector, target: Target, client: AuthoringClient) -> None:
    region_setting = (
        "SECONDARY_REGION" if target.name == "secondary" else resource_setting(target.name, "REGION")
    )
    problem = authoring_region_problem(target.name, target.language.region)
    if problem is not None:
        found.add(
            target.name,
            "region",
            FAIL,
            problem,
            f"create the target in an authoring region, or correct {region_setting}",
        )
        return
    try:
        client.training_config_versions(ProjectKind.NER)
    except LanguageApiError as error:
        found.add(
            target.name,
            "region",
            FAIL,
            f"the resource offers no training configurations: HTTP {error.status} {error.service_code}: "
            f"{error.service_message}",
            "create the target Language resource in a region that offers authoring for custom NER "
            "and custom text classification (see the region support page)",
        )
        return
    except (ReplicatorError, requests.RequestException) as error:
        found.add(
            target.name,
            "region",
            FAIL,
            f"the training configurations are not readable: {_reason(error)}",
            "retry later",
        )
        return
    where = (
        "its region offers authoring"
        if target.language.region
        else (f"the resource offers training ({region_setting} is not set, so the region is not named)")
    )
    found.add(target.name, "region", PASS, where)


def _replicated_project_checks(
    found: _Collector, engine: ReplicationEngine, projects: dict[str, dict[str, Any]]
) -> None:
    settings = engine.settings
    if settings.replicate_all:
        supported = [name for name, p in projects.items() if project_kind(p.get("projectKind")) is not None]
        others = sorted({str(p.get("projectKind")) for p in projects.values()
                         if project_kind(p.get("projectKind")) is None})
        note = f"; other kinds are not replicated: {', '.join(others)}" if others else ""
        found.add(
            "primary",
            "replicated-projects",
            PASS,
            f"REPLICATED_PROJECTS names every project: {len(supported)} projects of supported kinds{note}",
        )
        return
    for name in settings.replicated_projects:
        project = projects.get(name)
        if project is None:
            found.add(
                "primary",
                "replicated-projects",
                FAIL,
                f"project {name!r} does not exist on the primary",
                "correct REPLICATED_PROJECTS (names are case-sensitive), or create the project",
            )
        elif project_kind(project.get("projectKind")) is None:
            found.add(
                "primary",
                "replicated-projects",
                FAIL,
                f"project {name!r} is of kind {project.get('projectKind')!r}, which is not replicated",
                f"remove it from REPLICATED_PROJECTS; supported kinds: {', '.join(PROJECT_KINDS)}",
            )
        else:
            found.add(
                "primary", "replicated-projects", PASS, f"project {name!r} exists ({project['projectKind']})"
            )


def _replicated(engine: ReplicationEngine, projects: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(project, its documents container) of each replicated project found on the primary."""
    for name, project in sorted(projects.items()):
        if engine.settings.is_replicated(name) and project_kind(project.get("projectKind")) is not None:
            container = project.get("storageInputContainerName")
            if isinstance(container, str) and container:
                yield name, container


def _target_document_checks(
    found: _Collector,
    engine: ReplicationEngine,
    target: Target,
    primary_projects: dict[str, dict[str, Any]],
    target_projects: dict[str, dict[str, Any]],
) -> None:
    clients = engine.targets[target.name]
    if not any(True for _ in _replicated(engine, primary_projects)):
        # Conversation projects (CLU, orchestration) carry their utterances: they have no container.
        found.add(target.name, "documents", SKIP,
                  "not checked: no replicated project with a documents container on the primary")
        return
    for project, primary_container in _replicated(engine, primary_projects):
        if not _container_check(
            found,
            "primary",
            "documents",
            engine.primary_documents,
            primary_container,
            "PRIMARY_DOCUMENTS_STORAGE",
            project,
            must_exist=True,
        ):
            continue
        container = clients.container_for(primary_container)
        if not _container_check(
            found,
            target.name,
            "documents",
            clients.documents,
            container,
            target.documents_storage_setting,
            project,
            must_exist=False,
        ):
            continue
        replica = target_projects.get(project)
        linked = replica.get("storageInputContainerName") if replica else None
        if replica is None:
            found.add(
                target.name,
                "linkage",
                PASS,
                f"{project}: no replica yet; the first run imports it naming container {container!r}",
            )
        elif linked == container:
            found.add(
                target.name,
                "linkage",
                PASS,
                f"{project}: the replica reads container {container!r}, the one we copy documents into",
            )
        else:
            found.add(
                target.name,
                "linkage",
                FAIL,
                f"{project}: the replica reads container {linked!r}, but documents are copied into "
                f"{container!r}",
                f"point {target.documents_storage_setting} at the storage account linked to the target "
                "resource (a resource reads only its own linked account), or replicate with --force",
            )


def _container_check(
    found: _Collector,
    subject: str,
    name: str,
    service: BlobServiceClient,
    container: str,
    setting: str,
    project: str,
    *,
    must_exist: bool,
) -> bool:
    client = service.get_container_client(container)
    try:
        next(iter(client.list_blobs(results_per_page=1).by_page()), None)
    except ResourceNotFoundError:
        if must_exist:
            found.add(
                subject,
                name,
                FAIL,
                f"{project}: container {container!r} does not exist in the account {setting} names",
                f"point {setting} at the storage account linked to the primary Language resource",
            )
            return False
        found.add(
            subject,
            name,
            PASS,
            f"{project}: container {container!r} does not exist yet in the account "
            f"{setting} names; the first run creates it",
        )
        return True
    except HttpResponseError as error:
        found.add(
            subject,
            name,
            FAIL,
            f"{project}: container {container!r} in {setting}: "
            f"HTTP {error.status_code} {getattr(error, 'error_code', None) or ''}".rstrip(),
            f"assign Storage Blob Data {'Reader' if must_exist else 'Contributor'} on that account to "
            "the app's identity"
            if error.status_code == 403
            else "check the storage account",
        )
        return False
    except AzureError as error:
        found.add(
            subject,
            name,
            FAIL,
            f"{project}: container {container!r} in {setting}: {_reason(error)}",
            "check the storage account and the network",
        )
        return False
    found.add(
        subject, name, PASS, f"{project}: container {container!r} is readable in the account {setting} names"
    )
    return True


def _snapshot_storage_check(found: _Collector, engine: ReplicationEngine) -> None:
    container = engine.settings.snapshot_container
    client = engine.state_storage.get_container_client(container)
    try:
        next(iter(client.list_blobs(results_per_page=1).by_page()), None)
    except ResourceNotFoundError:
        found.add(
            "storage",
            "snapshots",
            PASS,
            f"SNAPSHOT_STORAGE: container {container!r} does not exist yet; the first run creates it",
        )
    except AzureError as error:
        found.add(
            "storage",
            "snapshots",
            FAIL,
            f"SNAPSHOT_STORAGE: {_reason(error)}",
            "assign Storage Blob Data Contributor on the snapshot account to the app's identity",
        )
    else:
        found.add("storage", "snapshots", PASS, f"SNAPSHOT_STORAGE: container {container!r} is readable")


def _reason(error: BaseException) -> str:
    message = error.message if isinstance(error, ReplicatorError) else str(error)
    first = message.strip().splitlines()[0] if message.strip() else ""
    return redact(f"{type(error).__name__}: {first}")[:200]

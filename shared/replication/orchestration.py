"""Where an orchestration project routes its intents, read from its export.

An orchestration's `assets.intents[].orchestration` names a target per intent (analyzeconversations-
authoring.json, 2023-04-01, `OrchestrationExportedIntent`): `targetProjectKind` Conversation (a CLU
project: `conversationOrchestration` {projectName, deploymentName}), QuestionAnswering
(`questionAnsweringOrchestration` {projectName}) or Luis (`luisOrchestration` {appId, ...}). An intent
without `orchestration` (e.g. "None") routes nowhere. Only CLU targets are replicated by this tool; the
others are reported, never waited for.

`RoutingReader` exports an orchestration only when it changed: its targets are cached per project under
the primary's `lastModifiedDateTime` (a target can change only with an edit of the project).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any, Protocol

from shared.errors import ConcurrentUpdate, ReplicatorError
from shared.language.project_kinds import ProjectKind, project_kind
from shared.replication.dependencies import DependencyGraph, build_graph
from shared.storage.json_blobs import JsonBlobs


class TargetKind(StrEnum):
    """`targetProjectKind` of an orchestration intent, as the service spells it."""

    CONVERSATION = "Conversation"
    QUESTION_ANSWERING = "QuestionAnswering"
    LUIS = "Luis"


# The key holding each kind's details, what it is called in a report, and the key naming the project.
_DETAILS = {
    TargetKind.CONVERSATION: ("conversationOrchestration", "CLU project", "projectName"),
    TargetKind.QUESTION_ANSWERING: ("questionAnsweringOrchestration", "custom question answering project",
                                    "projectName"),
    TargetKind.LUIS: ("luisOrchestration", "LUIS app", "appId"),
}


class RoutingError(ReplicatorError):
    """An orchestration's export names a target this tool cannot read."""

    code = "InvalidOrchestration"


@dataclass(frozen=True)
class RoutingTarget:
    intent: str
    kind: TargetKind
    name: str           # the target's projectName (a LUIS app: its appId)
    deployment: str = ""  # the CLU deployment routed to ("" for other kinds)

    @property
    def replicated(self) -> bool:
        """Only CLU projects are replicated by this tool (question answering and LUIS are not)."""
        return self.kind is TargetKind.CONVERSATION

    def describe(self) -> str:
        what = _DETAILS[self.kind][1]
        at = f" (deployment {self.deployment!r})" if self.deployment else ""
        return f"intent {self.intent!r} routes to {what} {self.name!r}{at}"

    def to_json(self) -> dict[str, str]:
        return {"intent": self.intent, "targetProjectKind": self.kind.value, "name": self.name,
                "deployment": self.deployment}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoutingTarget:
        return cls(str(data["intent"]), TargetKind(data["targetProjectKind"]), str(data["name"]),
                   str(data.get("deployment", "")))


def routing_targets(exported: Mapping[str, Any]) -> tuple[RoutingTarget, ...]:
    """The targets an exported orchestration project routes to, in intent order."""
    assets = exported.get("assets") or {}
    targets = []
    for intent in assets.get("intents") or []:
        orchestration = intent.get("orchestration")
        if not orchestration:
            continue
        category = str(intent.get("category", ""))
        try:
            kind = TargetKind(orchestration.get("targetProjectKind"))
        except ValueError:
            raise RoutingError(f"intent {category!r} routes to an unknown target kind "
                               f"{orchestration.get('targetProjectKind')!r}") from None
        key, what, name_key = _DETAILS[kind]
        details = orchestration.get(key) or {}
        name = str(details.get(name_key) or "")
        if not name:
            raise RoutingError(f"intent {category!r} routes to a {what} without a {name_key}")
        deployment = str(details.get("deploymentName") or "") if kind is TargetKind.CONVERSATION else ""
        targets.append(RoutingTarget(category, kind, name, deployment))
    return tuple(targets)


def connected_projects(targets: Iterable[RoutingTarget]) -> tuple[str, ...]:
    """The CLU projects an orchestration routes to (what its replication depends on), sorted."""
    return tuple(sorted({target.name for target in targets if target.replicated}))


def not_replicated_notes(targets: Iterable[RoutingTarget]) -> tuple[str, ...]:
    """One note per question answering or LUIS target: reported, never waited for."""
    return tuple(f"{target.describe()}: not replicated by this tool (the orchestration is replicated "
                 "without it; recreate it in the target's resource yourself)"
                 for target in targets if not target.replicated)


@dataclass(frozen=True)
class Routing:
    """An orchestration project's targets, and the primary's lastModifiedDateTime they were read at."""

    project: str
    primary_last_modified: str
    targets: tuple[RoutingTarget, ...]

    @property
    def connected(self) -> tuple[str, ...]:
        return connected_projects(self.targets)

    @property
    def notes(self) -> tuple[str, ...]:
        return not_replicated_notes(self.targets)

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "primaryLastModifiedDateTime": self.primary_last_modified,
                "targets": [target.to_json() for target in self.targets]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Routing:
        return cls(str(data["project"]), str(data["primaryLastModifiedDateTime"]),
                   tuple(RoutingTarget.from_json(t) for t in data.get("targets", ())))


class RoutingReader:
    """Each orchestration's routing, exported from the primary only when the project changed.

    `export(project)` returns the parsed export (a job on the service); the cache lives in the state
    container (`orchestration-targets/{project}.json`), so the daily check does not export an
    unchanged orchestration.
    """

    def __init__(self, export: Callable[[str], Mapping[str, Any]], blobs: JsonBlobs | None = None) -> None:
        self.export = export
        self.blobs = blobs
        self.exports = 0  # how many exports this reader started (the daily check reports its requests)

    @staticmethod
    def blob_name(project: str) -> str:
        return f"orchestration-targets/{project}.json"

    def routing(self, metadata: Mapping[str, Any]) -> Routing | None:
        """The routing of the project `metadata` (the primary's GET) describes; None: not an orchestration."""
        if project_kind(metadata.get("projectKind")) is not ProjectKind.ORCHESTRATION:
            return None
        project = str(metadata["projectName"])
        modified = str(metadata.get("lastModifiedDateTime") or "")
        found = self.blobs.read(self.blob_name(project)) if self.blobs is not None else None
        if found is not None and modified and found.data.get("primaryLastModifiedDateTime") == modified:
            return Routing.from_json(found.data)
        self.exports += 1
        routing = Routing(project, modified, routing_targets(self.export(project)))
        if self.blobs is not None and modified:
            try:
                if found is None:
                    self.blobs.create(self.blob_name(project), routing.to_json())
                else:
                    self.blobs.replace(self.blob_name(project), routing.to_json(), found.etag)
            except ConcurrentUpdate:
                pass  # another reader cached it at the same moment: either copy is right
        return routing


@dataclass(frozen=True)
class Dependencies:
    """The replicated orchestrations' dependency graph, and each one's targets this tool leaves out."""

    graph: DependencyGraph = field(default_factory=DependencyGraph)
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


NO_DEPENDENCIES = Dependencies()


class DependencyReader:
    """The dependencies among the primary's replicated conversation projects.

    `list_projects()` lists the primary's projects (an orchestration routes only within its own
    resource, so its CLU targets must be among them).
    """

    def __init__(self, list_projects: Callable[[], Iterable[Mapping[str, Any]]],
                 reader: RoutingReader) -> None:
        self.list_projects = list_projects
        self.reader = reader

    def read(self, is_replicated: Callable[[str], bool]) -> Dependencies:
        projects = {str(p["projectName"]): p for p in self.list_projects()}
        connected: dict[str, tuple[str, ...]] = {}
        notes: dict[str, tuple[str, ...]] = {}
        unreadable: dict[str, str] = {}
        for name, metadata in sorted(projects.items()):
            if not is_replicated(name):
                continue
            try:
                routing = self.reader.routing(metadata)
            except ReplicatorError as error:
                # One orchestration's export failing holds back that orchestration alone.
                unreadable[name] = f"its routing targets could not be read: {error.message}"
                continue
            if routing is not None:
                connected[name] = routing.connected
                notes[name] = routing.notes
        kinds = {name: p.get("projectKind") for name, p in projects.items()}
        replicated = {name for name in projects if is_replicated(name)}
        return Dependencies(build_graph(connected, kinds, replicated, unreadable=unreadable), notes)


class Exporter(Protocol):
    """The part of an authoring client an export needs (shared.language.authoring.AuthoringClient)."""

    def start_export(self, project: str) -> str: ...

    def wait(self, job_url: str, *, poll_interval: float = ..., deadline: float = ...) -> Any: ...

    def open_export_result(self, result_url: str) -> Any: ...


def export_project(client: Exporter, project: str, *, poll_interval: float = 2.0,
                   timeout: float = 300.0) -> dict[str, Any]:
    """A fresh export of an orchestration's working copy, parsed (it holds intents, not documents:
    small). Blocking, like the drift check's content hash: an export takes seconds."""
    status = client.wait(client.start_export(project), poll_interval=poll_interval, deadline=timeout)
    status.raise_for_failure()
    if not status.result_url:
        raise ReplicatorError(f"the export of {project!r} succeeded but named no result")
    with client.open_export_result(status.result_url) as stream:
        body: IO[bytes] = stream
        exported = json.load(body)
    if not isinstance(exported, dict):
        raise RoutingError(f"the export of {project!r} is not a JSON object")
    return exported


__all__ = [
    "NO_DEPENDENCIES",
    "Dependencies",
    "DependencyReader",
    "Exporter",
    "Routing",
    "RoutingError",
    "RoutingReader",
    "RoutingTarget",
    "TargetKind",
    "connected_projects",
    "export_project",
    "not_replicated_notes",
    "routing_targets",
]

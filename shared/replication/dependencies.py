"""The one place that decides replication order: orchestrations after the CLU projects they route to.

Training an orchestration on the target reads its connected CLU projects there, so those must be
replicated first. Within a batch of starts, `replication_order` puts dependencies first whatever order
REPLICATED_PROJECTS lists them in; across runs, `gate` holds an orchestration back while a dependency's
run is under way or it was never replicated to that target (waiting: asked again when the dependency's
run finishes, or by the next timer), and blocks it, naming the dependency, when the dependency's latest
run failed. A dependency that cannot be met at all (missing on the primary, not a CLU project, not
replicated, a cycle) is an error of that orchestration alone: every other project goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shared.language.project_kinds import ProjectKind, project_kind


class Readiness(StrEnum):
    READY = "ready"
    WAITING = "waiting"   # a dependency is being (or not yet) replicated: started later, by itself
    BLOCKED = "blocked"   # a dependency's latest run failed: waits for that to be fixed
    ERROR = "error"       # the dependencies cannot be met as configured (missing, cycle...)


class DependencyState(StrEnum):
    REPLICATED = "replicated"   # synced to the target, no run of it under way
    UNDER_WAY = "under_way"     # a run of it is active, or was started in this batch
    NOT_YET = "not_yet"         # never synced to this target, and no run under way
    FAILED = "failed"           # its latest run failed, or its start was refused (diverged, error)


@dataclass(frozen=True)
class DependencyStatus:
    state: DependencyState
    detail: str = ""   # a run id, or why it failed


@dataclass(frozen=True)
class Gate:
    readiness: Readiness
    reasons: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.readiness is Readiness.READY


READY = Gate(Readiness.READY)


@dataclass(frozen=True)
class DependencyGraph:
    """Which replicated projects each project depends on, and why some dependencies cannot be met."""

    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def dependants(self, project: str) -> list[str]:
        """The projects that route to `project`, sorted."""
        return sorted(name for name, needs in self.dependencies.items() if project in needs)


def build_graph(connected: Mapping[str, Sequence[str]], kinds: Mapping[str, object],
                replicated: Collection[str], *,
                unreadable: Mapping[str, str] | None = None) -> DependencyGraph:
    """The graph of `connected` (orchestration -> the CLU projects it routes to).

    `kinds`: every project on the primary -> its projectKind; `replicated`: the projects this tool
    replicates (REPLICATED_PROJECTS, or all supported ones with `*`); `unreadable`: orchestrations whose
    targets could not be read -> why.
    """
    dependencies: dict[str, tuple[str, ...]] = {}
    problems: dict[str, list[str]] = {name: [why] for name, why in (unreadable or {}).items()}
    for project, names in connected.items():
        dependencies[project] = tuple(sorted(set(names)))
        for name in dependencies[project]:
            problem = _unmet(name, kinds, replicated)
            if problem:
                problems.setdefault(project, []).append(f"it routes to CLU project {name!r}, {problem}")
    for cycle in _cycles(dependencies):
        path = " -> ".join((*cycle, cycle[0]))
        for project in cycle:
            problems.setdefault(project, []).append(f"its dependencies form a cycle: {path}")
    return DependencyGraph(dependencies, {project: tuple(found) for project, found in problems.items()})


def replication_order(projects: Sequence[str], graph: DependencyGraph) -> list[str]:
    """`projects` with each after the ones it depends on, otherwise in the given order (stable).

    Projects in a cycle keep their place at the end (their gate reports the cycle).
    """
    pending = list(dict.fromkeys(projects))
    batch = set(pending)
    ordered: list[str] = []
    placed: set[str] = set()
    progress = True
    while pending and progress:
        progress = False
        for project in list(pending):
            needs = [name for name in graph.dependencies.get(project, ()) if name in batch]
            if all(name in placed for name in needs):
                ordered.append(project)
                placed.add(project)
                pending.remove(project)
                progress = True
                break  # start again from the top so the given order is kept where it can be
    return ordered + pending


def gate(project: str, graph: DependencyGraph, status_of: Callable[[str], DependencyStatus]) -> Gate:
    """Whether `project` may start on a target now, from its dependencies' status on that target."""
    problems = graph.problems.get(project)
    if problems:
        return Gate(Readiness.ERROR, tuple(f"{project!r} cannot be replicated: {p}" for p in problems))
    waiting: list[str] = []
    blocked: list[str] = []
    for name in graph.dependencies.get(project, ()):
        if graph.problems.get(name):
            blocked.append(f"blocked: CLU project {name!r}, which it routes to, cannot be replicated")
            continue
        status = status_of(name)
        detail = f" ({status.detail})" if status.detail else ""
        if status.state is DependencyState.FAILED:
            blocked.append(f"blocked: the replication of CLU project {name!r}, which it routes to, "
                           f"failed{detail}; it is retried once that project replicates")
        elif status.state is DependencyState.UNDER_WAY:
            waiting.append(f"waiting for the run of CLU project {name!r}, which it routes to{detail}: "
                           "its training reads that project on the target")
        elif status.state is DependencyState.NOT_YET:
            waiting.append(f"waiting: CLU project {name!r}, which it routes to, has not been replicated to "
                           "this target yet")
    if blocked:
        return Gate(Readiness.BLOCKED, (*blocked, *waiting))
    if waiting:
        return Gate(Readiness.WAITING, tuple(waiting))
    return READY


NOT_REPLICATED = "which is not replicated (add it to REPLICATED_PROJECTS, or replicate `*`)"


def unreplicated_dependencies(connected: Iterable[str], is_replicated: Callable[[str], bool]
                              ) -> tuple[str, ...]:
    """The CLU projects an orchestration routes to that this configuration does not replicate, sorted:
    its start is an error (`build_graph`), and its replica is at risk (the drift report, the status
    page): after a failover it would route to a project the target never received."""
    return tuple(sorted({name for name in connected if not is_replicated(name)}))


def unreplicated_risk(names: Sequence[str]) -> str:
    """The drift report's risk line for `unreplicated_dependencies`, naming each project and the setting."""
    projects = ", ".join(repr(name) for name in names)
    return (f"it routes to CLU project {projects}, {NOT_REPLICATED}: the target's copy routes to "
            "a project this tool does not keep there")


def _unmet(name: str, kinds: Mapping[str, object], replicated: Collection[str]) -> str:
    if name not in kinds:
        return "which does not exist on the primary"
    kind = project_kind(kinds[name])
    if kind is not ProjectKind.CONVERSATION:
        return f"whose kind is {kinds[name]}, not Conversation (CLU)"
    if unreplicated_dependencies([name], replicated.__contains__):
        return NOT_REPLICATED
    return ""


def _cycles(dependencies: Mapping[str, Sequence[str]]) -> list[tuple[str, ...]]:
    """Each dependency cycle once, starting at its smallest name."""
    found: set[tuple[str, ...]] = set()

    def visit(project: str, path: tuple[str, ...]) -> None:
        for name in dependencies.get(project, ()):
            if name in path:
                cycle = path[path.index(name):]
                start = cycle.index(min(cycle))
                found.add(cycle[start:] + cycle[:start])
            elif name in dependencies:
                visit(name, (*path, name))

    for project in sorted(dependencies):
        visit(project, (project,))
    return sorted(found)


__all__ = ["READY", "DependencyGraph", "DependencyState", "DependencyStatus", "Gate", "Readiness",
           "build_graph", "gate", "replication_order", "unreplicated_dependencies", "unreplicated_risk"]

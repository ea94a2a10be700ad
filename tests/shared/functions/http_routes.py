"""Every HTTP route the app registers, read from function_app as the host indexes it, and the status
codes the README documents for each: so routes other modules add are covered by the fuzz and canary
tests without anyone listing them here."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tests.shared.functions.host import host_index

REPO_ROOT = Path(__file__).resolve().parents[3]
TABLE_BEGIN = "<!-- status-codes: begin -->"
TABLE_END = "<!-- status-codes: end -->"


@dataclass(frozen=True)
class HttpRoute:
    function: str
    route: str
    methods: tuple[str, ...]
    auth_level: str

    @property
    def route_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)(?::[^}]*)?}", self.route))

    def endpoints(self) -> list[str]:
        return [f"{method} /api/{self.route}" for method in self.methods]


@functools.cache
def http_routes() -> tuple[HttpRoute, ...]:
    routes = []
    for name, function in sorted(host_index().items()):
        for raw in function.get_raw_bindings():
            binding = json.loads(raw)
            if binding["type"] == "httpTrigger":
                routes.append(HttpRoute(name, binding["route"], tuple(binding.get("methods") or ("GET",)),
                                        str(binding.get("authLevel"))))
    return tuple(routes)


@dataclass(frozen=True)
class Documented:
    success: frozenset[int]
    caller_errors: frozenset[int]

    @property
    def allowed(self) -> frozenset[int]:
        return self.success | self.caller_errors


def _statuses(cell: str) -> frozenset[int]:
    return frozenset(int(code) for code in re.findall(r"\d{3}", cell))


@functools.cache
def documented_statuses() -> dict[str, Documented]:
    """The per-endpoint table between the status-codes markers, wherever the docs keep it."""
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        if TABLE_BEGIN in text:
            table = text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0]
            break
    else:
        raise AssertionError(f"no {TABLE_BEGIN} table in README.md or docs/")
    rows: dict[str, Documented] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = Documented(_statuses(cells[1]), _statuses(cells[2]))
    return rows

"""Parsed Bicep templates for the infra tests: pycep-parser's JSON, and helpers to read expressions in it.

No Bicep compiler installs offline, so the templates are checked on pycep-parser's syntax tree: values are
plain JSON for literals and nested {"operator": ...} / {"function": ...} nodes for expressions. `render`
turns the expressions the tests care about back into compact Bicep-like text ("roles.languageReader").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
MAIN = INFRA / "main.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    return BicepParser().parse(file_path=path)


def module_file(name: str) -> Path:
    """The file of a module declared in main.bicep."""
    return INFRA / parse(MAIN)["modules"][name]["detail"]["path"]


def module_body(module: dict[str, Any]) -> dict[str, Any]:
    """A module's body, whether or not it is conditional (`= if (...) {...}` nests it one level deeper)."""
    config: dict[str, Any] = module["config"]
    return config["config"] if "condition" in config else config


def module_condition(module: dict[str, Any]) -> str | None:
    config = module["config"]
    return render(config["condition"]) if "condition" in config else None


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template.get("resources", {}).items()
        if resource["type"] == resource_type
    }


def only_resource(path: Path, resource_type: str) -> dict[str, Any]:
    found = [r for r in resources_of_type(parse(path), resource_type).values() if not r.get("existing")]
    assert len(found) == 1, f"{path.name}: expected one {resource_type}, found {len(found)}"
    return found[0]["config"]


def render(value: Any) -> str:
    """Compact text of a parsed expression, enough to compare references and conditions."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict) and "operator" in value:
        operator = value["operator"]
        kind, operands = operator["type"], operator["operands"]
        if kind == "property_accessor":
            return f"{render(operands['operand_1'])}.{render(operands['operand_2'])}"
        if kind == "conditional":
            return (
                f"{render(operands['condition'])} ? {render(operands['true_value'])}"
                f" : {render(operands['false_value'])}"
            )
        if kind == "not":
            return "!" + render(next(iter(operands.values())))
        return f"{kind}(" + ", ".join(render(v) for v in operands.values()) + ")"
    if isinstance(value, dict) and "function" in value:
        function = value["function"]
        arguments = [render(v) for v in function["parameters"].values() if v is not None]
        return f"{function['type']}(" + ", ".join(arguments) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    return repr(value)


def object_keys(value: dict[str, Any]) -> set[str]:
    """Keys of a Bicep object literal, without the quotes pycep keeps on quoted keys."""
    return {key.strip("'") for key in value}


GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)

"""The one rule for the names that enter from outside (HTTP, CLI, settings) and become URL or blob path
segments: projects, models, deployments, targets of a run, run ids, steps and snapshot names.

The Language service's own rule is [A-Za-z0-9_.-]{1,50} for text projects and up to 100 characters for
conversation projects (CLU, orchestration); a name is checked against the longer limit here, before its
kind is known, and against its kind's (`ProjectKind.max_name_length`) where a project is created. `.`,
`..` and `...` match it but would walk up a blob path or a URL, so a name made only of dots is refused
everywhere, by this one function.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from shared.errors import InvalidRequest
from shared.redaction import redact

# Projects, model labels and deployments (the Language service's rule).
PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# Run ids, step names and snapshot references are ours: checked for a sane shape, the engine decides
# whether they exist.
IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
PROJECT_NAME_RULE = ("letters, digits, '_', '.', '-'; at most 100 characters (50 for text projects); "
                     "not only dots")


def is_valid_name(value: Any, pattern: re.Pattern[str] = PROJECT_NAME) -> TypeGuard[str]:
    """True when `value` is a string matching `pattern` whole and is not made only of dots."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None and value.strip(".") != ""


def check_name(kind: str, name: str) -> str:
    """`name` when valid; else InvalidRequest (a 400), the name shown shortened and redacted."""
    if not is_valid_name(name):
        raise InvalidRequest(f"{kind} name {redact(repr(name))[:80]} is invalid: {PROJECT_NAME_RULE}")
    return name

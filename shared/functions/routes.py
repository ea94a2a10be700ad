"""What the HTTP functions read from the URL the host routed, and the URLs they hand back.

A bad name is the caller's mistake, so it is refused here with a 400 before any engine work.
"""

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import azure.functions as func

from shared.errors import InvalidRequest

# Re-exported: the patterns live with the one name rule in shared.names.
from shared.names import IDENTIFIER as IDENTIFIER
from shared.names import PROJECT_NAME as PROJECT_NAME
from shared.names import is_valid_name
from shared.redaction import redact

DEFAULT_ROUTE_PREFIX = "/api"


def route_name(req: func.HttpRequest, param: str, pattern: re.Pattern[str]) -> str:
    """A route parameter (`{param}` in the function's route) that must match `pattern`."""
    return checked_name(param, req.route_params.get(param), pattern)


def query_name(req: func.HttpRequest, param: str, pattern: re.Pattern[str]) -> str | None:
    """An optional query parameter that must match `pattern` when given."""
    value = req.params.get(param)
    return None if value is None else checked_name(param, value, pattern)


def checked_name(what: str, value: Any, pattern: re.Pattern[str]) -> str:
    if not is_valid_name(value, pattern):
        raise InvalidRequest(f"invalid {what} {quoted(value)}: expected {pattern.pattern}, not only dots")
    return value


def quoted(value: Any) -> str:
    """A caller's value quoted for an error message, truncated so a huge body cannot flood the log."""
    text = redact(json.dumps(value, ensure_ascii=False, default=str)[:200])
    return text if len(text) <= 80 else text[:77] + "..."


def api_url(req: func.HttpRequest, route_root: str, *segments: str) -> str:
    """Absolute URL of `route_root/segments...` beside the request, under whatever host name and route
    prefix the caller reached us by.

    The query string (it may carry `code=<function key>`) is never echoed back.
    """
    parts = urlsplit(str(req.url))
    path = parts.path.split("/")
    prefix = "/".join(path[: path.index(route_root)]) if route_root in path else DEFAULT_ROUTE_PREFIX
    tail = "/".join(quote(segment, safe="") for segment in (route_root, *segments))
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/{tail}", "", ""))

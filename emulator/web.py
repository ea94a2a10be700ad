"""HTTP helpers shared by the emulator's routes: JSON bodies, LRO answers, paging."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from emulator.errors import ServiceError

DEFAULT_PAGE_SIZE = 50


def json_body(*, required: bool = True) -> Any:
    """The request body parsed as JSON, whatever the Content-Type; malformed JSON is a 400, never a 500."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ServiceError("InvalidRequest", "The request body is empty.", inner_code="EmptyRequest")
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(
            "InvalidRequest",
            f"The request body is not valid JSON: {exc}.",
            inner_code="InvalidRequestBodyFormat",
        ) from exc


def base_url() -> str:
    """scheme://host[:port] of this request, for the absolute URLs the service hands out."""
    return request.host_url.rstrip("/")


def absolute(path: str, api_version: str) -> str:
    return f"{base_url()}{path}?{urlencode({'api-version': api_version})}"


def accepted(location: str) -> Response:
    """An LRO's answer: 202, empty body, absolute operation-location."""
    response = Response(status=202)
    response.headers["operation-location"] = location
    return response


def _int_arg(name: str, minimum: int) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ServiceError(
            "InvalidArgument",
            f"The query parameter '{name}' must be an integer >= {minimum}.",
            inner_code="InvalidParameterValue",
            target=name,
        )
    return number


def page(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`{value, nextLink}` honouring top, skip and maxpagesize; nextLink is absolute, or null at the end."""
    top = _int_arg("top", 0)
    skip = _int_arg("skip", 0) or 0
    page_size = _int_arg("maxpagesize", 1) or DEFAULT_PAGE_SIZE
    remaining = list(items[skip:])
    if top is not None:
        remaining = remaining[:top]
    value = remaining[:page_size]
    next_link = None
    if len(remaining) > len(value):
        args = {k: v for k, v in request.args.items() if k not in ("top", "skip", "maxpagesize")}
        args["skip"] = str(skip + len(value))
        if top is not None:
            args["top"] = str(top - len(value))
        args["maxpagesize"] = str(page_size)
        next_link = f"{base_url()}{request.path}?{urlencode(args)}"
    return {"value": value, "nextLink": next_link}

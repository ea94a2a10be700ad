"""How many requests each API of this resource received, by method: what a client costs the service.

Counted before any gateway check, so a request that was refused (401, 429, injected 503) still counts:
the caller sent it. /_emulator/ routes are never counted.

    GET  /_emulator/requests          {"authoring": {"GET": 12, "POST": 2}, "runtime": {...}, "total": 14}
    POST /_emulator/requests/reset    zeroes the counters (so does /_emulator/reset)
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from flask import Blueprint, Response, jsonify

from emulator.paths import is_authoring

RUNTIME_PREFIX = "/language/"


def api_of(path: str) -> str:
    """Which API a path belongs to: authoring, runtime, or other (unknown routes)."""
    if is_authoring(path):
        return "authoring"
    if path.startswith(RUNTIME_PREFIX):
        return "runtime"
    return "other"


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._counts[(api_of(path), method.upper())] += 1

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        body: dict[str, Any] = {"authoring": {}, "runtime": {}, "other": {}}
        for (api, method), count in sorted(counts.items()):
            body[api][method] = count
        body["total"] = sum(counts.values())
        return body


def create_request_counts_blueprint(counter: RequestCounter) -> Blueprint:
    blueprint = Blueprint("request_counts", __name__, url_prefix="/_emulator/requests")

    @blueprint.get("")
    def counts() -> Response:
        return jsonify(counter.to_json())

    @blueprint.post("/reset")
    def reset() -> Response:
        counter.clear()
        return jsonify(counter.to_json())

    return blueprint

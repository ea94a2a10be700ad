"""Where each API lives under /language: the one place that tells authoring paths from runtime paths.

Throttling buckets, the role matrix and the request counters all ask `is_authoring`, so a new
authoring surface (analyze-conversations beside analyze-text) is classified the same everywhere.
"""

from __future__ import annotations

TEXT_AUTHORING_PREFIX = "/language/authoring/analyze-text"
CONVERSATIONS_AUTHORING_PREFIX = "/language/authoring/analyze-conversations"
AUTHORING_PREFIXES = (TEXT_AUTHORING_PREFIX, CONVERSATIONS_AUTHORING_PREFIX)


def is_authoring(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in AUTHORING_PREFIXES)

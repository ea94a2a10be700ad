"""The one check both Language clients (authoring and runtime) apply before sending credentials to a URL
the service handed back (operation-location, nextLink, result URLs): same scheme, host and port as the
configured endpoint. A same-host http:// URL would carry the key in clear text; another host would get it.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _origin(parts: SplitResult) -> tuple[str, str, int | None] | None:
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no origin at all
        return None
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def is_same_origin(url: str, endpoint: str) -> bool:
    """True when `url` may receive the credentials meant for `endpoint`."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return False
    origin = _origin(parts)
    return origin is not None and bool(origin[1]) and origin == _origin(urlsplit(endpoint))

"""api-version handling: every call must name a version this emulator serves."""

from __future__ import annotations

from collections.abc import Collection

from emulator.errors import ServiceError

AUTHORING_API_VERSIONS = ("2022-05-01", "2023-04-01")
V2022 = "2022-05-01"
V2023 = "2023-04-01"


def require_api_version(value: str | None, supported: Collection[str]) -> str:
    """The request's api-version, or the service's error when it is missing or not served."""
    if not value:
        raise ServiceError(
            "InvalidRequest",
            "The api-version query parameter is required.",
            inner_code="InvalidParameterValue",
            target="api-version",
        )
    if value not in supported:
        raise ServiceError(
            "InvalidRequest",
            f"The api-version '{value}' is not supported for this operation. "
            f"Supported versions: {', '.join(sorted(supported))}.",
            inner_code="InvalidParameterValue",
            target="api-version",
        )
    return value

"""One region: its endpoint, credential, breaker, and an SDK client tuned to reveal outages fast.

The SDK client's class is the caller's choice (`TextAnalyticsClient`, `ConversationAnalysisClient`):
both take an endpoint, a credential and azure-core's pipeline keywords, so one region type serves both.

The SDK's defaults (10 retries, back-off up to two minutes, 300 s socket timeouts) would make a
dead region look like a slow one for minutes; a failover client wants the opposite: a few quick
retries inside the region, then the next region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

from language_failover.circuit_breaker import CircuitBreaker


@dataclass(frozen=True)
class RegionEndpoint:
    """A Language resource that serves the same project and deployment names as the others."""

    name: str
    endpoint: str
    credential: AzureKeyCredential | TokenCredential

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a region needs a name")
        if not self.endpoint.startswith(("https://", "http://")):
            raise ValueError(f"region {self.name}: endpoint must be an http(s) URL, got {self.endpoint!r}")


@dataclass(frozen=True)
class RegionClientPolicy:
    """Per-region SDK client settings: short timeouts and a small retry budget."""

    retries: int = 2
    retry_backoff_factor: float = 0.2
    retry_backoff_max: float = 1.0
    max_retry_after_seconds: float = 2.0
    """A Retry-After longer than this is not waited out in the region: the next region is tried."""
    connection_timeout: float = 3.0
    read_timeout: float = 15.0
    polling_interval: float | None = None
    """Seconds between job polls when the caller gives none; None keeps the SDK's 5 s."""
    job_timeout_seconds: float | None = 300.0
    """A job still running after this long counts as a region failure and is resubmitted."""

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must not be negative")
        if self.connection_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.job_timeout_seconds is not None and self.job_timeout_seconds <= 0:
            raise ValueError("job_timeout_seconds must be positive (or None for no limit)")


class RegionRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's RetryPolicy, but a long Retry-After ends the region's turn instead of blocking."""

    def __init__(self, *, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self._max_retry_after:
            return False
        return bool(super().is_retry(settings, response))


class Region:
    """A configured region at run time."""

    def __init__(
        self,
        endpoint: RegionEndpoint,
        *,
        index: int,
        breaker: CircuitBreaker,
        client_policy: RegionClientPolicy,
        client_kwargs: dict[str, Any],
        client_type: Callable[..., Any],
    ) -> None:
        self.name = endpoint.name
        self.endpoint = endpoint.endpoint
        self.index = index
        self.breaker = breaker
        # The region's azure-core SDK client: whichever `client_type` the failover client wraps.
        self.client: Any = client_type(
            endpoint.endpoint,
            endpoint.credential,
            retry_policy=RegionRetryPolicy(
                max_retry_after=client_policy.max_retry_after_seconds,
                retry_total=client_policy.retries,
                retry_connect=client_policy.retries,
                retry_read=client_policy.retries,
                retry_status=client_policy.retries,
                retry_backoff_factor=client_policy.retry_backoff_factor,
                retry_backoff_max=client_policy.retry_backoff_max,
            ),
            connection_timeout=client_policy.connection_timeout,
            read_timeout=client_policy.read_timeout,
            **client_kwargs,
        )

    @property
    def is_primary(self) -> bool:
        return self.index == 0

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"Region({self.name!r}, {self.endpoint!r}, {self.breaker.state.value})"

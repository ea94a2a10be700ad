"""What every failover client shares: its regions, their breakers, the router, settings and lifetime.

`FailoverTextAnalyticsClient` and `FailoverConversationAnalysisClient` differ only in the SDK client
each region wraps and in the SDK methods they offer; how regions are chosen, what counts as a failure
(`classification`) and when a region leaves rotation (`circuit_breaker`) are decided once, here and
in the modules this one wires together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self

from azure.core.credentials import AzureKeyCredential, TokenCredential

from language_failover.circuit_breaker import (
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
    Clock,
    StateChangeListener,
)
from language_failover.region import Region, RegionClientPolicy, RegionEndpoint
from language_failover.router import RegionRouter
from language_failover.routing import RoutingFollower, follower_from_values
from language_failover.settings import SettingsLike, regions_from_settings, regions_from_values


class FailoverClientBase:
    """Regions in priority order, each with an SDK client of `sdk_client_type` and a breaker.

    :param primary: the region that takes traffic while it is healthy.
    :param secondaries: regions tried in order when the primary is down; each serves the same
        project and deployment names.
    :param breaker_policy: when a region is taken out of rotation and tried again.
    :param client_policy: each region's SDK client timeouts, retry budget and job time limit.
    :param on_state_change: called (outside any lock) with every `RegionStateChange`.
    :param clock: monotonic seconds, for the breakers (tests inject one).
    :param routing: follows the replicator's promotion record: while a region is the acting primary,
        it is tried first (`from_settings` builds one when ROUTING_URL is set).
    :param client_kwargs: passed to every region's SDK client (e.g. `api_version`, `logging_enable`).
    """

    sdk_client_type: ClassVar[Callable[..., Any]]
    """The SDK client class each region wraps; set by each failover client."""

    def __init__(
        self,
        primary: RegionEndpoint,
        secondaries: Sequence[RegionEndpoint],
        *,
        breaker_policy: BreakerPolicy | None = None,
        client_policy: RegionClientPolicy | None = None,
        on_state_change: StateChangeListener | None = None,
        clock: Clock | None = None,
        routing: RoutingFollower | None = None,
        **client_kwargs: Any,
    ) -> None:
        endpoints = [primary, *secondaries]
        names = [endpoint.name for endpoint in endpoints]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        self.breaker_policy = breaker_policy or BreakerPolicy()
        self.client_policy = client_policy or RegionClientPolicy()
        self._regions = [
            Region(
                endpoint,
                index=index,
                breaker=CircuitBreaker(
                    endpoint.name, self.breaker_policy, clock=clock, listener=on_state_change
                ),
                client_policy=self.client_policy,
                client_kwargs=dict(client_kwargs),
                client_type=type(self).sdk_client_type,
            )
            for index, endpoint in enumerate(endpoints)
        ]
        self._by_name = {region.name: region for region in self._regions}
        self.routing = routing
        self._router = RegionRouter(
            self._regions, preferred=routing.preferred_endpoint if routing is not None else None)

    @classmethod
    def from_settings(
        cls,
        settings: SettingsLike | Mapping[str, str] | None = None,
        *,
        credential: TokenCredential | None = None,
        **kwargs: Any,
    ) -> Self:
        """Build the client from the replicator's app settings: the primary, then every secondary.

        `settings` is the replicator's loaded settings (its `shared.settings.Settings`), or a mapping
        of raw app settings (default: the process environment) of which only the Language settings
        are read: PRIMARY_LANGUAGE_ENDPOINT and PRIMARY_LANGUAGE_KEY; the single secondary
        (SECONDARY_LANGUAGE_ENDPOINT, SECONDARY_LANGUAGE_KEY, SECONDARY_REGION); and each target listed
        in SECONDARY_TARGETS, in order (SECONDARY__<NAME>__LANGUAGE_ENDPOINT, __LANGUAGE_KEY, __REGION).
        With ROUTING_URL (the replicator's promotion record, see `language_failover.routing`) the client
        prefers the acting primary during a promotion; ROUTING_CACHE_SECONDS caches it (default 60).
        A region without a key authenticates with Microsoft Entra ID: `credential`, else
        `DefaultAzureCredential`
        (built once, only if needed). Other keywords go to the constructor.
        """
        if settings is None:
            settings = os.environ
        if isinstance(settings, Mapping):
            regions = regions_from_values(settings)
            values: Mapping[str, str] = settings
        else:
            regions = regions_from_settings(settings)
            values = getattr(settings, "values", None) or {}
        shared_credential: list[TokenCredential] = [credential] if credential is not None else []

        def credential_for(key: str | None) -> AzureKeyCredential | TokenCredential:
            if key:
                return AzureKeyCredential(key)
            if not shared_credential:
                from azure.identity import DefaultAzureCredential

                shared_credential.append(DefaultAzureCredential())
            return shared_credential[0]

        endpoints = [RegionEndpoint(region.name, region.endpoint, credential_for(region.key))
                     for region in regions]
        if "routing" not in kwargs:
            def entra_credential() -> TokenCredential:
                found = credential_for(None)
                assert not isinstance(found, AzureKeyCredential)
                return found

            kwargs["routing"] = follower_from_values(values, entra_credential)
        return cls(endpoints[0], endpoints[1:], **kwargs)

    # -- introspection and lifetime --

    @property
    def region_names(self) -> list[str]:
        return [region.name for region in self._regions]

    def region_states(self) -> dict[str, CircuitState]:
        """Each region's breaker state, primary first."""
        return {region.name: region.breaker.state for region in self._regions}

    def seconds_until_probe(self, region: str) -> float:
        """How long until `region` is tried again (0 when it is in rotation or may be probed now)."""
        try:
            return self._by_name[region].breaker.seconds_until_probe()
        except KeyError:
            raise ValueError(f"no region {region!r}; configured: {self.region_names}") from None

    def close(self) -> None:
        for region in self._regions:
            region.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._regions!r})"

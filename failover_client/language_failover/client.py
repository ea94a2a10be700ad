"""FailoverTextAnalyticsClient: the SDK's custom-model calls, answered by whichever region is healthy.

Adopting it is a one-line change: the three methods have the names and signatures of
`azure.ai.textanalytics.TextAnalyticsClient` and return pollers that behave like the SDK's, with
the SDK's own result objects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from azure.ai.textanalytics import (
    ClassifyDocumentResult,
    DocumentError,
    RecognizeCustomEntitiesResult,
    TextDocumentInput,
)
from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.paging import ItemPaged

from language_failover.circuit_breaker import (
    Admission,
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
    Clock,
    StateChangeListener,
)
from language_failover.poller import (
    ActiveJob,
    Attempt,
    Call,
    FailoverLROPoller,
    FailoverPollingMethod,
    decode_continuation_token,
)
from language_failover.region import Region, RegionClientPolicy, RegionEndpoint
from language_failover.router import RegionRouter
from language_failover.routing import RoutingFollower, follower_from_values
from language_failover.settings import SettingsLike, regions_from_settings, regions_from_values

Documents = list[str] | list[TextDocumentInput] | list[dict[str, str]]
EntitiesPoller = FailoverLROPoller[ItemPaged[RecognizeCustomEntitiesResult | DocumentError]]
ClassifyPoller = FailoverLROPoller[ItemPaged[ClassifyDocumentResult | DocumentError]]


class FailoverTextAnalyticsClient:
    """Custom NER and custom classification with failover from a primary to secondary regions.

    :param primary: the region that takes traffic while it is healthy.
    :param secondaries: regions tried in order when the primary is down; each serves the same
        project and deployment names.
    :param breaker_policy: when a region is taken out of rotation and tried again.
    :param client_policy: each region's SDK client timeouts, retry budget and job time limit.
    :param on_state_change: called (outside any lock) with every `RegionStateChange`.
    :param clock: monotonic seconds, for the breakers (tests inject one).
    :param routing: follows the replicator's promotion record: while a region is the acting primary,
        it is tried first (`from_settings` builds one when ROUTING_URL is set).
    :param client_kwargs: passed to every region's `TextAnalyticsClient` (e.g. `default_language`,
        `api_version`, `logging_enable`).
    """

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
    ) -> FailoverTextAnalyticsClient:
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

    # -- the SDK's methods --

    def begin_recognize_custom_entities(
        self,
        documents: Documents,
        project_name: str,
        deployment_name: str,
        *,
        continuation_token: str | None = None,
        disable_service_logs: bool | None = None,
        display_name: str | None = None,
        language: str | None = None,
        polling_interval: float | None = None,
        show_stats: bool | None = None,
        string_index_type: str | None = None,
        **kwargs: Any,
    ) -> EntitiesPoller:
        """`TextAnalyticsClient.begin_recognize_custom_entities`, failed over between regions."""
        return self._begin(
            "begin_recognize_custom_entities", documents, project_name, deployment_name, continuation_token,
            disable_service_logs=disable_service_logs, display_name=display_name, language=language,
            polling_interval=polling_interval, show_stats=show_stats, string_index_type=string_index_type,
            **kwargs,
        )

    def begin_single_label_classify(
        self,
        documents: Documents,
        project_name: str,
        deployment_name: str,
        *,
        continuation_token: str | None = None,
        disable_service_logs: bool | None = None,
        display_name: str | None = None,
        language: str | None = None,
        polling_interval: float | None = None,
        show_stats: bool | None = None,
        **kwargs: Any,
    ) -> ClassifyPoller:
        """`TextAnalyticsClient.begin_single_label_classify`, failed over between regions."""
        return self._begin(
            "begin_single_label_classify", documents, project_name, deployment_name, continuation_token,
            disable_service_logs=disable_service_logs, display_name=display_name, language=language,
            polling_interval=polling_interval, show_stats=show_stats, **kwargs,
        )

    def begin_multi_label_classify(
        self,
        documents: Documents,
        project_name: str,
        deployment_name: str,
        *,
        continuation_token: str | None = None,
        disable_service_logs: bool | None = None,
        display_name: str | None = None,
        language: str | None = None,
        polling_interval: float | None = None,
        show_stats: bool | None = None,
        **kwargs: Any,
    ) -> ClassifyPoller:
        """`TextAnalyticsClient.begin_multi_label_classify`, failed over between regions."""
        return self._begin(
            "begin_multi_label_classify", documents, project_name, deployment_name, continuation_token,
            disable_service_logs=disable_service_logs, display_name=display_name, language=language,
            polling_interval=polling_interval, show_stats=show_stats, **kwargs,
        )

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

    def __enter__(self) -> FailoverTextAnalyticsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FailoverTextAnalyticsClient({self._regions!r})"

    # -- internals --

    def _begin(
        self,
        method: str,
        documents: Documents,
        project_name: str,
        deployment_name: str,
        continuation_token: str | None,
        /,
        **keywords: Any,
    ) -> FailoverLROPoller[Any]:
        """The one implementation behind the SDK-shaped methods; `keywords` are the SDK's own."""
        # Unset keywords are left out, so each region's SDK client applies its own defaults.
        sdk_keywords = {name: value for name, value in keywords.items() if value is not None}
        if "polling_interval" not in sdk_keywords and self.client_policy.polling_interval is not None:
            sdk_keywords["polling_interval"] = self.client_policy.polling_interval
        call = Call(method, documents, project_name, deployment_name, sdk_keywords)
        attempts: list[Attempt] = []
        if continuation_token is not None:
            first = self._resume(call, continuation_token)
            # Resubmitting needs the documents; a caller resuming with none gets the region's error.
            resubmittable = bool(documents)
        else:
            first = self._router.submit(call, exclude=set(), attempts=attempts)
            resubmittable = True
        method_ = FailoverPollingMethod[Any](
            self._router, call, first, attempts,
            resubmittable=resubmittable, job_timeout=self.client_policy.job_timeout_seconds,
        )
        return FailoverLROPoller(method_)

    def _resume(self, call: Call, continuation_token: str) -> ActiveJob:
        region_name, operation, sdk_token = decode_continuation_token(continuation_token)
        if operation != call.method:
            raise ValueError(f"the continuation token belongs to {operation}, not {call.method}")
        region = self._by_name.get(region_name)
        if region is None:
            raise ValueError(
                f"the continuation token is bound to region {region_name!r}, which this client does not "
                f"have (configured: {self.region_names})"
            )
        # Job URLs are absolute and belong to the resource that accepted the job: poll it there.
        return ActiveJob(region, Admission.NORMAL, call.submit_to(region, continuation_token=sdk_token))


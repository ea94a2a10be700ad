"""FailoverTextAnalyticsClient: the SDK's custom-model calls, answered by whichever region is healthy.

Adopting it is a one-line change: the three methods have the names and signatures of
`azure.ai.textanalytics.TextAnalyticsClient` and return pollers that behave like the SDK's, with
the SDK's own result objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from azure.ai.textanalytics import (
    ClassifyDocumentResult,
    DocumentError,
    RecognizeCustomEntitiesResult,
    TextAnalyticsClient,
    TextDocumentInput,
)
from azure.core.paging import ItemPaged

from language_failover.base import FailoverClientBase
from language_failover.circuit_breaker import Admission
from language_failover.poller import (
    ActiveJob,
    Attempt,
    Call,
    FailoverLROPoller,
    FailoverPollingMethod,
    decode_continuation_token,
)

Documents = list[str] | list[TextDocumentInput] | list[dict[str, str]]
EntitiesPoller = FailoverLROPoller[ItemPaged[RecognizeCustomEntitiesResult | DocumentError]]
ClassifyPoller = FailoverLROPoller[ItemPaged[ClassifyDocumentResult | DocumentError]]


class FailoverTextAnalyticsClient(FailoverClientBase):
    """Custom NER and custom classification with failover from a primary to secondary regions.

    The constructor and `from_settings` are `FailoverClientBase`'s; `client_kwargs` go to every
    region's `TextAnalyticsClient` (e.g. `default_language`, `api_version`, `logging_enable`).
    """

    sdk_client_type: ClassVar[Callable[..., Any]] = TextAnalyticsClient

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


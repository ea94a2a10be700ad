"""The poller handed to callers: an azure-core LROPoller whose polling method survives a region's death.

The polling method waits on the SDK poller of the region that accepted the job. If that region
fails while the job runs, the job is submitted again to the next healthy region and polling goes on
there, so the caller's `result()` returns one result (the SDK's own result objects) and never sees
the outage. Result pages are read inside the same guard, so a region dying between pages is
handled too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, cast

from azure.core.exceptions import AzureError, ServiceResponseError
from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller, PollingMethod

from language_failover.circuit_breaker import Admission
from language_failover.classification import Classification, Phase, Verdict, classify, describe
from language_failover.region import Region

_LOGGER = logging.getLogger("language_failover")

T = TypeVar("T")

_TOKEN_PREFIX = "failover1."
# The SDK poller's `details` keys, also readable as attributes (poller.id, poller.created_on, ...).
_DETAIL_ATTRIBUTES = frozenset(
    {
        "id",
        "created_on",
        "expires_on",
        "display_name",
        "last_modified_on",
        "actions_failed_count",
        "actions_in_progress_count",
        "actions_succeeded_count",
        "total_actions_count",
    }
)


class JobTimeoutError(ServiceResponseError):
    """A region kept a job running past the configured limit."""


class NoRegionAvailableError(AzureError):
    """Every region failed or is out of rotation; `.errors` holds each region's last error."""

    def __init__(self, errors: list[tuple[str, BaseException]], *, skipped: list[str] | None = None) -> None:
        parts = [f"{region}: {describe(error)}" for region, error in errors]
        parts += [f"{region}: skipped (unusable)" for region in skipped or []]
        message = "no region could serve the request (" + "; ".join(parts or ["no regions configured"]) + ")"
        super().__init__(message, error=errors[-1][1] if errors else None)
        self.errors = list(errors)


@dataclass(frozen=True)
class Attempt:
    """One try of a request on one region (also the successful one)."""

    region: str
    phase: Phase
    outcome: str
    """"succeeded", "accepted" (job submitted), or a Verdict value."""
    reason: str = ""


@dataclass(frozen=True)
class Call:
    """What the caller asked for, kept so the request can be submitted again elsewhere."""

    method: str
    documents: Any
    project_name: str
    deployment_name: str
    keywords: Mapping[str, Any]

    def submit_to(self, region: Region, continuation_token: str | None = None) -> LROPoller[Any]:
        keywords = dict(self.keywords)
        if continuation_token is not None:
            keywords["continuation_token"] = continuation_token
        begin: Callable[..., LROPoller[Any]] = getattr(region.client, self.method)
        return begin(self.documents, self.project_name, self.deployment_name, **keywords)


@dataclass
class ActiveJob:
    """A job a region accepted, with the SDK poller that follows it there."""

    region: Region
    admission: Admission
    poller: LROPoller[Any]
    finished: int | None = field(default=None, init=False)
    """When the SDK poller finished, numbered by the region's breaker (see CircuitBreaker.observe)."""

    def __post_init__(self) -> None:
        # Numbered on the SDK's polling thread the moment the job is over, not when the caller's
        # thread gets round to the result: a success then never counts as newer than it is.
        self.poller.add_done_callback(self._on_done)

    def _on_done(self, _polling_method: Any) -> None:
        if self.finished is None:
            self.finished = self.region.breaker.observe()


class Router(Protocol):
    """The client side the polling method needs: submit elsewhere and report outcomes."""

    def submit(self, call: Call, *, exclude: set[str], attempts: list[Attempt]) -> ActiveJob: ...

    def report(self, region: Region, admission: Admission, classification: Classification) -> None: ...

    def report_success(self, region: Region, admission: Admission, *, observed: int | None) -> None: ...


class FailoverPollingMethod(PollingMethod[T]):
    """Drives the region's SDK poller; on a region failure, resubmits and drives the next one."""

    def __init__(
        self,
        router: Router,
        call: Call,
        first: ActiveJob,
        attempts: list[Attempt],
        *,
        resubmittable: bool,
        job_timeout: float | None,
    ) -> None:
        self._router = router
        self._call = call
        self._active = first
        self._attempts = attempts
        self._resubmittable = resubmittable
        self._job_timeout = job_timeout
        self._failed_regions: set[str] = set()
        self._finished = threading.Event()
        self._cancelled = False
        self._status: str | None = None
        self._resource: T | None = None

    # -- PollingMethod --

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        """Nothing to do: the job was already accepted by `first`."""

    def run(self) -> None:
        try:
            self._resource = self._run()
            self._status = "cancelled" if self._cancelled else "succeeded"
        except BaseException:
            self._status = "cancelled" if self._cancelled else "failed"
            raise
        finally:
            self._finished.set()

    def status(self) -> str:
        if self._status is not None:
            return self._status
        return str(self._active.poller.status())

    def finished(self) -> bool:
        return self._finished.is_set()

    def resource(self) -> T:
        return self._resource  # type: ignore[return-value]  # None until finished, as in the SDK

    def get_continuation_token(self) -> str:
        job = self._active
        return encode_continuation_token(job.region.name, self._call.method, job.poller.continuation_token())

    # -- what the poller exposes --

    @property
    def region(self) -> str:
        return self._active.region.name

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        return tuple(self._attempts)

    @property
    def current_poller(self) -> LROPoller[Any]:
        return self._active.poller

    def cancel(self) -> None:
        """Stop resubmitting, and cancel the job in the region that holds it."""
        self._cancelled = True
        cancel = getattr(self._active.poller, "cancel", None)
        if cancel is not None:
            cancel()

    def __getattr__(self, name: str) -> Any:
        # The SDK polling method's read-only job details (id, created_on, ...), from the live job.
        if name in _DETAIL_ATTRIBUTES:
            return getattr(self._active.poller.polling_method(), name)
        raise AttributeError(name)

    # -- internals --

    def _run(self) -> T:
        while True:
            job = self._active
            try:
                result = self._await(job)
            except Exception as error:
                if self._cancelled:
                    raise
                classification = classify(error, phase=Phase.POLL, is_primary=job.region.is_primary)
                self._attempts.append(
                    Attempt(job.region.name, Phase.POLL, classification.verdict.value, classification.reason)
                )
                give_up = self._gives_up(job, classification)
                if not give_up:
                    _LOGGER.warning(
                        "job in region %s failed (%s); submitting it again to the next region",
                        job.region.name, classification.reason,
                    )
                self._router.report(job.region, job.admission, classification)
                if give_up:
                    raise
                self._failed_regions.add(job.region.name)
                self._active = self._router.submit(
                    self._call, exclude=set(self._failed_regions), attempts=self._attempts
                )
                continue
            self._attempts.append(Attempt(job.region.name, Phase.POLL, "succeeded"))
            self._router.report_success(job.region, job.admission, observed=job.finished)
            return result

    def _gives_up(self, job: ActiveJob, classification: Classification) -> bool:
        if not self._resubmittable:
            return True
        # A probe answering with the caller's error proves nothing: the next region decides.
        return classification.verdict is Verdict.CALLER_ERROR and job.admission is not Admission.PROBE

    def _await(self, job: ActiveJob) -> T:
        poller = job.poller
        poller.wait(self._job_timeout)
        if not poller.done():
            try:
                cancel = getattr(poller, "cancel", None)
                if cancel is not None:
                    cancel()  # best effort: lets the abandoned SDK poller finish
            except Exception as error:
                _LOGGER.debug("could not cancel the stuck job in %s: %s", job.region.name, describe(error))
            raise JobTimeoutError(f"job still running after {self._job_timeout:g} s in {job.region.name}")
        result = poller.result()
        if self._cancelled:
            return cast(T, result)  # a cancelled job's result, as lazy (and as empty) as the SDK's
        return cast(T, _materialize(result))


def _materialize(result: Any) -> Any:
    """Read every page now, while failures can still be failed over, and hand back an ItemPaged."""
    if not isinstance(result, ItemPaged):
        return result
    items = list(result)
    return ItemPaged(lambda _token: items, lambda page: (None, iter(page)))


class FailoverLROPoller(LROPoller[T], Generic[T]):
    """Behaves like the SDK's `TextAnalysisLROPoller`; `region` and `attempts` tell where it ran."""

    def __init__(self, polling_method: FailoverPollingMethod[T]) -> None:
        self._failover: FailoverPollingMethod[T] = polling_method
        super().__init__(None, None, _unused_deserializer, polling_method)

    def polling_method(self) -> FailoverPollingMethod[T]:
        return self._failover

    @property
    def region(self) -> str:
        """The region that holds the job now (after completion: the one that answered)."""
        return self._failover.region

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        return self._failover.attempts

    @property
    def details(self) -> Mapping[str, Any]:
        details: dict[str, Any] = dict(getattr(self._failover.current_poller, "details", {}) or {})
        details["region"] = self.region
        return details

    def cancel(self) -> None:
        self._failover.cancel()

    def __getattr__(self, name: str) -> Any:
        if name in _DETAIL_ATTRIBUTES:
            return self.details.get(name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")


def _unused_deserializer(response: Any) -> Any:
    return response


def encode_continuation_token(region: str, method: str, token: str) -> str:
    payload = json.dumps({"region": region, "operation": method, "token": token}, separators=(",", ":"))
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")


def decode_continuation_token(token: str) -> tuple[str, str, str]:
    """(region, operation, SDK token) from a token made by `FailoverLROPoller.continuation_token()`."""
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise ValueError("not a continuation token of FailoverTextAnalyticsClient")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token[len(_TOKEN_PREFIX):].encode("ascii")))
        return str(payload["region"]), str(payload["operation"]), str(payload["token"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValueError("malformed continuation token of FailoverTextAnalyticsClient") from error

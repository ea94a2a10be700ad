"""Which region gets a request, and what its outcome does to that region's breaker."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from language_failover.circuit_breaker import Admission, CircuitState
from language_failover.classification import Classification, Phase, Verdict, classify
from language_failover.poller import ActiveJob, Attempt, Call, NoRegionAvailableError
from language_failover.region import Region
from language_failover.routing import normalize_endpoint

_LOGGER = logging.getLogger("language_failover")

T = TypeVar("T")


class RegionRouter:
    """Sends requests to regions in priority order and feeds every outcome back to the breakers."""

    def __init__(self, regions: Sequence[Region], *,
                 preferred: Callable[[], str | None] | None = None) -> None:
        self._regions = list(regions)
        # The acting primary's endpoint while a promotion lasts (language_failover.routing), else None.
        self._preferred = preferred

    def ordered(self) -> list[Region]:
        """The configured order, with the acting primary moved first while one is promoted."""
        endpoint = self._preferred() if self._preferred is not None else None
        if endpoint is None:
            return list(self._regions)
        first = [r for r in self._regions if normalize_endpoint(r.endpoint) == endpoint]
        return first + [r for r in self._regions if r not in first]

    def submit(self, call: Call, *, exclude: set[str], attempts: list[Attempt]) -> ActiveJob:
        """Submit the job `call` describes to the first region that accepts it; raise when none does."""
        region, admission, poller = self._first_to_answer(call.submit_to, exclude, attempts)
        attempts.append(Attempt(region.name, Phase.SUBMIT, "accepted"))
        return ActiveJob(region, admission, poller)

    def answer(self, request: Callable[[Region], T], *, attempts: list[Attempt]) -> tuple[Region, T]:
        """A synchronous request (no job): the first region's answer, and that region.

        The answer is the whole outcome, so a success is recorded on the region's breaker here.
        """
        region, admission, value = self._first_to_answer(request, set(), attempts)
        attempts.append(Attempt(region.name, Phase.SUBMIT, "succeeded"))
        self.report_success(region, admission, observed=None)
        return region, value

    def _first_to_answer(
        self, request: Callable[[Region], T], exclude: set[str], attempts: list[Attempt]
    ) -> tuple[Region, Admission, T]:
        """Send `request` to regions in priority order until one answers; raise when none does.

        The caller's own errors (4xx from a healthy region) are raised as the SDK raised them; region
        failures move the request on to the next region.
        """
        errors: list[tuple[str, BaseException]] = []
        for region, admission in self._candidates(exclude):
            try:
                value = request(region)
            except Exception as error:
                classification = classify(error, phase=Phase.SUBMIT, is_primary=region.is_primary)
                attempts.append(
                    Attempt(region.name, Phase.SUBMIT, classification.verdict.value, classification.reason)
                )
                # A probe answering with the caller's error proves nothing: the next region decides.
                if classification.verdict is Verdict.CALLER_ERROR and admission is not Admission.PROBE:
                    raise
                _LOGGER.warning(
                    "request to region %s failed (%s); trying the next region", region.name,
                    classification.reason,
                )
                self.report(region, admission, classification)
                errors.append((region.name, error))
                continue
            return region, admission, value
        tried = {name for name, _ in errors}
        unusable = [
            region.name for region in self.ordered()
            if region.name not in exclude and region.name not in tried
            and region.breaker.state is CircuitState.UNUSABLE
        ]
        raise NoRegionAvailableError(errors, skipped=unusable)

    def report(self, region: Region, admission: Admission, classification: Classification) -> None:
        breaker = region.breaker
        if classification.verdict is Verdict.REGION_FAILURE:
            breaker.record_failure(admission, classification.reason)
        elif classification.verdict is Verdict.REGION_UNUSABLE:
            breaker.mark_unusable(classification.reason)
        else:
            # The caller's own error says nothing about the region, except that a probe proved nothing.
            breaker.release(admission, classification.reason)

    def report_success(self, region: Region, admission: Admission, *, observed: int | None) -> None:
        region.breaker.record_success(admission, observed=observed)

    def _candidates(self, exclude: set[str]) -> Iterator[tuple[Region, Admission]]:
        """Regions to try, primary first: those in rotation, then as a last resort those cooling down.

        Admissions are taken lazily, one region at a time, so a probe slot is reserved only for a
        region that is actually tried.
        """
        cooling: list[Region] = []
        for region in self.ordered():
            if region.name in exclude:
                continue
            admission = region.breaker.acquire()
            if admission is Admission.REJECTED:
                if region.breaker.state is not CircuitState.UNUSABLE:
                    cooling.append(region)
                continue
            yield region, admission
        # Every region in rotation failed: asking one that is cooling down beats failing unasked.
        for region in cooling:
            _LOGGER.warning("no region in rotation could serve the request; trying %s anyway", region.name)
            yield region, Admission.LAST_RESORT

"""FailoverTextAnalyticsClient against two emulated regions: real processes, real outages, real faults."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from azure.ai.textanalytics import ClassifyDocumentResult, RecognizeCustomEntitiesResult, TextAnalyticsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

from language_failover import (
    BreakerPolicy,
    CircuitState,
    FailoverTextAnalyticsClient,
    NoRegionAvailableError,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
    Verdict,
)
from language_failover import poller as poller_module
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import SampleProject, ner_project, single_label_project
from localdev.services import Azurite, EmulatorRegion, free_port
from tests.conftest import Regions

DEPLOYMENT = "prod"
THRESHOLD = 3
POLL = 0.02
NER = ner_project(documents=12)
TICKETS = single_label_project(documents=12)
NER_TEXTS = list(NER.documents.values())[:3]
FAILURES = {Verdict.REGION_FAILURE.value, Verdict.REGION_UNUSABLE.value}


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def seed(azurite: Azurite, *targets: tuple[EmulatorRegion, str], project: SampleProject = NER) -> None:
    """Deploy `project` under the same names in each (region, storage account), in parallel."""
    with ThreadPoolExecutor(len(targets)) as pool:
        futures = [
            pool.submit(deploy_sample_project, region.endpoint, region.key,
                        azurite.connection_string(account), project, deployment=DEPLOYMENT)
            for region, account in targets
        ]
        for future in futures:
            future.result()


def both(regions: Regions) -> tuple[tuple[EmulatorRegion, str], tuple[EmulatorRegion, str]]:
    return (regions.primary, "primarydocs"), (regions.secondary, "secondarydocs")


def endpoint_of(region: EmulatorRegion) -> RegionEndpoint:
    return RegionEndpoint(region.region, region.endpoint, AzureKeyCredential(region.key))


def make_client(
    regions: Regions,
    changes: list[RegionStateChange] | None = None,
    *,
    clock: ManualClock | None = None,
    retries: int = 0,
    cooldown: float = 30.0,
) -> FailoverTextAnalyticsClient:
    return FailoverTextAnalyticsClient(
        endpoint_of(regions.primary),
        [endpoint_of(regions.secondary)],
        breaker_policy=BreakerPolicy(consecutive_failures=THRESHOLD, cooldown_seconds=cooldown),
        client_policy=RegionClientPolicy(retries=retries, retry_backoff_factor=0.01, polling_interval=POLL,
                                         read_timeout=5),
        on_state_change=changes.append if changes is not None else None,
        clock=clock,
    )


def entities(results: list[Any]) -> list[list[tuple[str, str]]]:
    return [[(entity.category, entity.text) for entity in document.entities] for document in results]


def recognize(client: FailoverTextAnalyticsClient) -> tuple[str, list[Any]]:
    poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
    results = list(poller.result())
    return poller.region, results


def control(region: EmulatorRegion, path: str, body: dict[str, Any]) -> None:
    region.control(path, json.dumps(body).encode())


@contextmanager
def slow_jobs(region: EmulatorRegion, seconds: float) -> Iterator[None]:
    """Runtime jobs in `region` stay running for about `seconds` of wall time."""
    control(region, "/_emulator/durations", {"runtime": seconds / region.time_scale})
    try:
        yield
    finally:
        if region.process is not None and region.process.poll() is None:
            control(region, "/_emulator/durations", {"runtime": 5.0})


def trip_the_dead_primary(client: FailoverTextAnalyticsClient, regions: Regions) -> None:
    """Kill the primary and send the requests that take it out of rotation (answered by the secondary)."""
    regions.primary.kill()
    for _ in range(THRESHOLD):
        assert recognize(client)[0] == regions.secondary.region
    assert client.region_states()[regions.primary.region] is CircuitState.OPEN


def failures_on(attempts: Any, region: str) -> int:
    """How many times a request met a failure in `region` (submitting or polling)."""
    return sum(1 for attempt in attempts if attempt.region == region and attempt.outcome in FAILURES)


# -- healthy path --------------------------------------------------------------------------------


def test_healthy_primary_answers_with_the_sdks_own_results(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    seed(azurite, *both(regions), project=TICKETS)
    sdk = TextAnalyticsClient(regions.primary.endpoint, AzureKeyCredential(regions.primary.key))
    expected = list(sdk.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT,
                                                        polling_interval=POLL).result())
    with make_client(regions) as client:
        region, results = recognize(client)
        assert region == regions.primary.region
        assert all(isinstance(result, RecognizeCustomEntitiesResult) for result in results)
        assert entities(results) == entities(expected)
        assert any(entities(results))

        poller = client.begin_single_label_classify(list(TICKETS.documents.values())[:2], TICKETS.name,
                                                    DEPLOYMENT)
        classified = list(poller.result())
        assert all(isinstance(result, ClassifyDocumentResult) for result in classified)
        assert all(len(result.classifications) == 1 for result in classified)
        assert poller.status() == "succeeded" and poller.done()
        assert poller.details["region"] == regions.primary.region
        assert poller.id  # the SDK poller's job id, read through
    assert client.region_states() == {regions.primary.region: CircuitState.CLOSED,
                                      regions.secondary.region: CircuitState.CLOSED}


# -- outages -------------------------------------------------------------------------------------


def test_primary_killed_mid_stream_no_errors_and_traffic_moves_within_threshold(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    expected = None
    changes: list[RegionStateChange] = []
    served: list[str] = []
    with make_client(regions, changes) as client:
        for _ in range(3):
            region, results = recognize(client)
            served.append(region)
            expected = entities(results)
        with slow_jobs(regions.primary, 2.0):
            # A job the primary accepted, and then the primary dies while it is being polled.
            in_flight = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
            assert in_flight.region == regions.primary.region
            regions.primary.kill()
        results = list(in_flight.result())
        assert in_flight.region == regions.secondary.region
        assert entities(results) == expected
        attempts_after_kill = list(in_flight.attempts[1:])
        for _ in range(8):
            poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
            assert entities(list(poller.result())) == expected
            served.append(poller.region)
            attempts_after_kill += poller.attempts

    primary = regions.primary.region
    assert served[:3] == [primary] * 3
    assert served[3:] == [regions.secondary.region] * 8
    # Failures met by the primary after the kill (the in-flight poll counts as one) stay within the threshold.
    assert 1 <= failures_on(attempts_after_kill, primary) <= THRESHOLD
    assert [(c.region, c.current) for c in changes] == [(primary, CircuitState.OPEN)]


def test_primary_restarted_traffic_fails_back_after_the_cooldown(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    clock = ManualClock()
    changes: list[RegionStateChange] = []
    primary, secondary = regions.primary.region, regions.secondary.region
    with make_client(regions, changes, clock=clock, cooldown=30) as client:
        regions.primary.kill()
        assert [recognize(client)[0] for _ in range(THRESHOLD + 1)] == [secondary] * (THRESHOLD + 1)
        assert client.region_states()[primary] is CircuitState.OPEN

        regions.primary.start()
        seed(azurite, (regions.primary, "primarydocs"))  # this emulator keeps no state across restarts
        clock.now += 29
        assert recognize(client)[0] == secondary  # still cooling down
        clock.now += 1
        assert recognize(client)[0] == primary  # the half-open probe succeeds
        assert [recognize(client)[0] for _ in range(3)] == [primary] * 3
    assert [c.current for c in changes if c.region == primary] == [
        CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED
    ]


def test_probe_to_a_still_dead_primary_stays_on_the_secondary(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    clock = ManualClock()
    with make_client(regions, clock=clock, cooldown=10) as client:
        trip_the_dead_primary(client, regions)
        clock.now += 10
        region, results = recognize(client)  # the probe meets the dead primary; the caller does not notice
        assert region == regions.secondary.region and any(entities(results))
        assert client.region_states()[regions.primary.region] is CircuitState.OPEN


def test_job_failing_server_side_is_resubmitted_elsewhere(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    with make_client(regions) as client:
        # Every status poll of the primary's job answers 500 (after the region's retry budget).
        control(regions.primary, "/_emulator/faults/errors",
                {"method": "GET", "path": "/language/analyze-text/jobs/", "status": 500, "count": 1})
        region, results = recognize(client)
        assert region == regions.secondary.region
        assert any(entities(results))
        assert client.region_states()[regions.primary.region] is CircuitState.CLOSED  # one failure only
        assert recognize(client)[0] == regions.primary.region


def test_job_ending_failed_with_a_server_error_is_resubmitted_but_the_callers_is_raised(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    with make_client(regions) as client:
        control(regions.primary, "/_emulator/faults/jobs",
                {"kind": "runtime", "code": "InternalServerError", "message": "Injected.", "count": 1})
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        assert any(entities(list(poller.result())))
        assert poller.region == regions.secondary.region
        assert [(a.region, a.outcome) for a in poller.attempts][:2] == [
            (regions.primary.region, "accepted"), (regions.primary.region, Verdict.REGION_FAILURE.value)
        ]
        assert "InternalServerError" in poller.attempts[1].reason

        control(regions.primary, "/_emulator/faults/jobs",
                {"kind": "runtime", "code": "InvalidDocumentBatch", "message": "Bad batch.", "count": 1})
        refused = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        with pytest.raises(HttpResponseError, match="Bad batch"):
            refused.result()
        assert [(a.region, a.outcome) for a in refused.attempts] == [
            (regions.primary.region, "accepted"), (regions.primary.region, Verdict.CALLER_ERROR.value)
        ]
        assert recognize(client)[0] == regions.primary.region


# -- what must not fail over ---------------------------------------------------------------------


def test_callers_4xx_from_a_healthy_primary_is_raised_not_failed_over(
    regions: Regions, azurite: Azurite, caplog: pytest.LogCaptureFixture
) -> None:
    seed(azurite, *both(regions))
    changes: list[RegionStateChange] = []
    with make_client(regions, changes) as client, caplog.at_level(logging.WARNING, "language_failover"):
        for _ in range(THRESHOLD + 1):
            with pytest.raises(ResourceNotFoundError):
                client.begin_recognize_custom_entities(NER_TEXTS, NER.name, "no-such-deployment")
        too_many = [f"document {i}" for i in range(26)]  # the service takes 25 per request
        with pytest.raises(HttpResponseError) as raised:
            client.begin_recognize_custom_entities(too_many, NER.name, DEPLOYMENT)
        assert raised.value.status_code == 400
        control(regions.primary, "/_emulator/faults/errors",
                {"method": "POST", "path": "/language/analyze-text/jobs", "status": 400, "count": 1})
        with pytest.raises(HttpResponseError):
            recognize(client)
        assert recognize(client)[0] == regions.primary.region
    assert changes == []
    assert not [record for record in caplog.records if "next region" in record.getMessage()]


def test_503_burst_shorter_than_the_threshold_does_not_switch_regions(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    changes: list[RegionStateChange] = []
    with make_client(regions, changes, retries=0) as client:
        control(regions.primary, "/_emulator/faults/errors",
                {"method": "POST", "path": "/language/analyze-text/jobs$", "status": 503,
                 "count": THRESHOLD - 1})
        served = [recognize(client)[0] for _ in range(6)]
    # The requests that met a 503 were answered by the secondary; the primary kept the traffic.
    burst = THRESHOLD - 1
    assert served == [regions.secondary.region] * burst + [regions.primary.region] * (6 - burst)
    assert changes == []


def test_503_burst_inside_the_retry_budget_is_absorbed_by_the_region(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    with make_client(regions, retries=2) as client:
        control(regions.primary, "/_emulator/faults/errors",
                {"method": "POST", "path": "/language/analyze-text/jobs$", "status": 503, "count": 2})
        region, _ = recognize(client)
        assert region == regions.primary.region


def test_429s_left_after_the_retry_budget_move_the_request_and_within_it_do_not(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    throttle = {"method": "POST", "path": "/language/analyze-text/jobs$", "retryAfterSeconds": 0}
    # The gateway's shortest Retry-After is one second, waited out inside the region: one retry here.
    with make_client(regions, retries=1) as client:
        control(regions.primary, "/_emulator/faults/throttle", {**throttle, "count": 1})
        assert recognize(client)[0] == regions.primary.region  # the retry absorbs the 429
        control(regions.primary, "/_emulator/faults/throttle", {**throttle, "count": 2})
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        assert any(entities(list(poller.result())))
    assert poller.region == regions.secondary.region
    assert "429" in poller.attempts[0].reason


def test_503_burst_reaching_the_threshold_does_switch(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    changes: list[RegionStateChange] = []
    with make_client(regions, changes, retries=0) as client:
        control(regions.primary, "/_emulator/faults/errors",
                {"method": "POST", "path": "/language/analyze-text/jobs$", "status": 503, "count": THRESHOLD})
        served = [recognize(client)[0] for _ in range(THRESHOLD + 2)]
    assert served == [regions.secondary.region] * (THRESHOLD + 2)
    assert [(c.region, c.current) for c in changes] == [(regions.primary.region, CircuitState.OPEN)]


def test_secondary_without_the_deployment_is_marked_unusable_loudly(
    regions: Regions, azurite: Azurite, caplog: pytest.LogCaptureFixture
) -> None:
    seed(azurite, (regions.primary, "primarydocs"))  # never replicated
    changes: list[RegionStateChange] = []
    with make_client(regions, changes) as client, caplog.at_level(logging.WARNING, "language_failover"):
        regions.primary.kill()
        with pytest.raises(NoRegionAvailableError) as raised:
            recognize(client)
    assert regions.secondary.region in str(raised.value)
    assert (regions.secondary.region, CircuitState.UNUSABLE) in [(c.region, c.current) for c in changes]
    loud = [r for r in caplog.records if r.levelno == logging.ERROR and "UNUSABLE" in r.getMessage()]
    assert loud


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrent_callers_see_no_errors_when_the_primary_dies(
    regions: Regions, azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(azurite, *both(regions))
    # Threads starved of CPU, as on a loaded machine: a result is read a while after the region gave
    # it, so successes seen before the kill are recorded after failures seen after it. They must not
    # reset the primary's failure count (that let callers meet the dead primary beyond the threshold).
    delays = random.Random(5)
    read_results = poller_module._materialize

    def read_results_slowly(result: Any) -> Any:
        items = read_results(result)
        time.sleep(delays.uniform(0, 0.15))
        return items

    monkeypatch.setattr(poller_module, "_materialize", read_results_slowly)
    changes: list[RegionStateChange] = []
    errors: list[BaseException] = []
    calls: list[tuple[bool, str, int]] = []  # (started after the kill, answered by, failures on primary)
    lock = threading.Lock()
    killed = threading.Event()
    threads, per_thread = 6, 6
    primary, secondary = regions.primary.region, regions.secondary.region

    with make_client(regions, changes) as client:
        expected = entities(recognize(client)[1])
        everyone_started = threading.Barrier(threads)

        def caller(index: int) -> None:
            everyone_started.wait()
            for call in range(per_thread):
                if index == 0 and call == 2:
                    regions.primary.kill()
                    killed.set()
                after_kill = killed.is_set()
                try:
                    poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
                    assert entities(list(poller.result())) == expected
                except BaseException as error:  # collected: the test asserts there are none
                    with lock:
                        errors.append(error)
                    continue
                failures = failures_on(poller.attempts, primary)
                with lock:
                    calls.append((after_kill, poller.region, failures))

        workers = [threading.Thread(target=caller, args=(index,)) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    assert killed.is_set()
    assert errors == []
    assert len(calls) == threads * per_thread
    after = [(region, failures) for after_kill, region, failures in calls if after_kill]
    assert len(after) >= per_thread - 2
    assert {region for region, _ in after} == {secondary}
    # Requests in flight when the primary died may each meet it once; after that it is out of rotation.
    met_the_dead_primary = sum(failures for _, _, failures in calls)
    assert met_the_dead_primary <= THRESHOLD + threads - 1, calls
    assert [(c.region, c.current) for c in changes] == [(primary, CircuitState.OPEN)]


def test_concurrent_callers_fail_back_through_a_single_probe(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    clock = ManualClock()
    changes: list[RegionStateChange] = []
    primary, secondary = regions.primary.region, regions.secondary.region
    threads, per_thread = 6, 4
    served: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with make_client(regions, changes, clock=clock, cooldown=30) as client:
        trip_the_dead_primary(client, regions)
        regions.primary.start()
        seed(azurite, (regions.primary, "primarydocs"))
        clock.now += 30
        everyone_started = threading.Barrier(threads)

        def caller() -> None:
            everyone_started.wait()
            for _ in range(per_thread):
                try:
                    region, results = recognize(client)
                    assert any(entities(results))
                except BaseException as error:  # collected: the test asserts there are none
                    with lock:
                        errors.append(error)
                    continue
                with lock:
                    served.append(region)

        workers = [threading.Thread(target=caller) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert recognize(client)[0] == primary
    assert errors == []
    assert len(served) == threads * per_thread
    assert primary in served and set(served) <= {primary, secondary}
    # One probe among all the callers, and it brought the primary back.
    assert [c.current for c in changes if c.region == primary] == [
        CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED
    ]
    assert [c for c in changes if c.region == secondary] == []


# -- continuation tokens -------------------------------------------------------------------------


def test_continuation_token_stays_bound_to_its_region(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    with make_client(regions) as client, slow_jobs(regions.primary, 0.5):
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        token = poller.continuation_token()
        poller.result()
    # Another process, another client: it polls the job where it was accepted.
    with make_client(regions) as other:
        resumed = other.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT,
                                                        continuation_token=token)
        assert any(entities(list(resumed.result())))
        assert resumed.region == regions.primary.region
        assert resumed.attempts[-1].outcome == "succeeded"
        assert [a.region for a in resumed.attempts] == [regions.primary.region]


def test_resumed_job_of_a_dead_region_is_resubmitted_when_documents_are_given(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    with make_client(regions) as client, slow_jobs(regions.primary, 2.0):
        token = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT).continuation_token()
        regions.primary.kill()
    with make_client(regions) as other:
        resumed = other.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT,
                                                        continuation_token=token)
        assert any(entities(list(resumed.result())))
        assert resumed.region == regions.secondary.region
        without_documents = other.begin_recognize_custom_entities([], NER.name, DEPLOYMENT,
                                                                  continuation_token=token)
        with pytest.raises(ServiceRequestError):  # nothing to resubmit: the region's own error
            without_documents.result()


def test_primary_back_without_its_deployment_keeps_traffic_on_the_secondary(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    clock = ManualClock()
    primary, secondary = regions.primary.region, regions.secondary.region
    with make_client(regions, clock=clock, cooldown=10) as client:
        trip_the_dead_primary(client, regions)
        regions.primary.start()  # comes back empty: the probe's 404 must not reach the caller
        clock.now += 10
        region, results = recognize(client)
        assert region == secondary and any(entities(results))
        assert client.region_states()[primary] is CircuitState.OPEN
        seed(azurite, (regions.primary, "primarydocs"))
        clock.now += 10
        assert recognize(client)[0] == primary


# -- timeouts and throttling ---------------------------------------------------------------------


def test_a_primary_too_slow_to_answer_times_out_to_the_secondary(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    client = FailoverTextAnalyticsClient(
        endpoint_of(regions.primary), [endpoint_of(regions.secondary)],
        client_policy=RegionClientPolicy(retries=0, polling_interval=POLL, read_timeout=0.5),
    )
    with client:
        control(regions.primary, "/_emulator/faults/latency",
                {"method": "POST", "path": "/language/analyze-text/jobs$", "seconds": 3, "count": 1})
        region, results = recognize(client)
    assert region == regions.secondary.region and any(entities(results))


def test_a_job_left_running_past_the_limit_is_resubmitted(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    client = FailoverTextAnalyticsClient(
        endpoint_of(regions.primary), [endpoint_of(regions.secondary)],
        client_policy=RegionClientPolicy(retries=0, polling_interval=POLL, job_timeout_seconds=0.5),
    )
    with client, slow_jobs(regions.primary, 30):
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        results = list(poller.result())
    assert poller.region == regions.secondary.region and any(entities(results))
    assert "JobTimeoutError" in poller.attempts[1].reason


def test_a_long_retry_after_is_not_waited_out(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    with make_client(regions, retries=2) as client:
        control(regions.primary, "/_emulator/faults/throttle",
                {"method": "POST", "path": "/language/analyze-text/jobs$", "retryAfterSeconds": 60,
                 "count": 1})
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        poller.result(timeout=20)
    assert poller.done() and poller.region == regions.secondary.region
    assert "429" in poller.attempts[0].reason


# -- the poller's LROPoller surface --------------------------------------------------------------


def test_poller_waits_reports_status_cancels_and_calls_back(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    with make_client(regions) as client, slow_jobs(regions.primary, 1.5):
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        poller.wait(timeout=0.1)
        assert not poller.done()
        assert poller.status().lower() in {"notstarted", "running", "inprogress"}
        finished: list[Any] = []
        poller.add_done_callback(finished.append)
        poller.cancel()
        poller.result(timeout=10)
        assert poller.done() and poller.status() == "cancelled"
        assert finished == [poller.polling_method()]
        # A poller that is done calls a new callback at once.
        late: list[Any] = []
        poller.add_done_callback(late.append)
        assert late == [poller.polling_method()]
        assert client.region_states()[regions.primary.region] is CircuitState.CLOSED


def test_when_the_serving_secondary_dies_a_cooling_primary_is_tried_anyway(
    regions: Regions, azurite: Azurite
) -> None:
    seed(azurite, *both(regions))
    clock = ManualClock()
    primary, secondary = regions.primary.region, regions.secondary.region
    with make_client(regions, clock=clock, cooldown=300) as client:
        trip_the_dead_primary(client, regions)
        regions.primary.start()
        seed(azurite, (regions.primary, "primarydocs"))
        regions.secondary.kill()  # the primary is still cooling down (no clock advance)
        region, results = recognize(client)
        assert region == primary and any(entities(results))
        assert client.region_states()[primary] is CircuitState.CLOSED
        assert client.region_states()[secondary] is CircuitState.CLOSED  # one failure, below the threshold


def test_secondaries_are_tried_in_their_configured_order(regions: Regions, azurite: Azurite) -> None:
    seed(azurite, *both(regions))
    nowhere = RegionEndpoint("centralus", f"http://127.0.0.1:{free_port()}", AzureKeyCredential("k"))
    client = FailoverTextAnalyticsClient(
        endpoint_of(regions.primary), [nowhere, endpoint_of(regions.secondary)],
        client_policy=RegionClientPolicy(retries=0, polling_interval=POLL),
    )
    with client:
        regions.primary.kill()
        poller = client.begin_recognize_custom_entities(NER_TEXTS, NER.name, DEPLOYMENT)
        assert any(entities(list(poller.result())))
    assert [(a.region, a.outcome) for a in poller.attempts] == [
        (regions.primary.region, Verdict.REGION_FAILURE.value),
        ("centralus", Verdict.REGION_FAILURE.value),
        (regions.secondary.region, "accepted"),
        (regions.secondary.region, "succeeded"),
    ]

"""The demo's last scene: the primary region dies, predictions keep coming, then traffic fails back.

With the replica in place (the same project and deployment names in both regions), it sends a few
predictions through FailoverTextAnalyticsClient, kills the primary emulator process, shows the
same predictions answered by the secondary, starts the primary again and, once the cool-down is
over, shows the traffic back on the primary. Every breaker decision is narrated as it happens.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AzureKeyCredential

from language_failover import (
    BreakerPolicy,
    FailoverTextAnalyticsClient,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
)
from localdev.services import EmulatorRegion

ENTITY_KIND = "CustomEntityRecognition"
METHOD_BY_KIND = {
    ENTITY_KIND: "begin_recognize_custom_entities",
    "CustomSingleLabelClassification": "begin_single_label_classify",
    "CustomMultiLabelClassification": "begin_multi_label_classify",
}
PHASES = ("healthy", "primary down", "fail-back")


@dataclass(frozen=True)
class ScenePrediction:
    phase: str
    region: str | None
    """The region that answered; None when the request failed."""
    summary: str


@dataclass
class FailoverSceneReport:
    predictions: list[ScenePrediction] = field(default_factory=list)
    state_changes: list[RegionStateChange] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for prediction in self.predictions if prediction.region is None)

    def served_by(self, phase: str) -> list[str | None]:
        return [prediction.region for prediction in self.predictions if prediction.phase == phase]


def failover_scene(
    primary_region: EmulatorRegion,
    secondary_region: EmulatorRegion,
    *,
    project_name: str,
    deployment_name: str,
    documents: Sequence[str],
    project_kind: str = ENTITY_KIND,
    requests_per_phase: int = 3,
    failure_threshold: int = 2,
    cooldown_seconds: float = 3.0,
    restore_primary: Callable[[], None] | None = None,
    say: Callable[[str], None] = print,
) -> FailoverSceneReport:
    """Play the scene against two running emulator regions that both serve `project_name`.

    `restore_primary` runs after the primary process is started again; pass one that redeploys
    the project when the primary emulator keeps no state across restarts (no --state-dir).
    """
    method = METHOD_BY_KIND.get(project_kind)
    if method is None:
        raise ValueError(f"project_kind must be one of {sorted(METHOD_BY_KIND)}, got {project_kind!r}")
    if not documents:
        raise ValueError("the scene needs at least one document to predict")
    report = FailoverSceneReport()

    def narrate(change: RegionStateChange) -> None:
        report.state_changes.append(change)
        move = f"{change.previous.value} -> {change.current.value}"
        say(f"    breaker {change.region}: {move} ({change.reason})")

    client = FailoverTextAnalyticsClient(
        _endpoint(primary_region),
        [_endpoint(secondary_region)],
        breaker_policy=BreakerPolicy(
            consecutive_failures=failure_threshold, cooldown_seconds=cooldown_seconds
        ),
        client_policy=RegionClientPolicy(retries=1, polling_interval=0.1, read_timeout=10),
        on_state_change=narrate,
    )

    def predict(phase: str) -> None:
        for number in range(1, requests_per_phase + 1):
            try:
                poller = getattr(client, method)(list(documents), project_name, deployment_name)
                summary = _summarize(list(poller.result()))
                prediction = ScenePrediction(phase, poller.region, summary)
                say(f"  request {number}: answered by {poller.region}: {summary}")
            except Exception as error:  # shown, counted, and the scene goes on
                prediction = ScenePrediction(phase, None, f"{type(error).__name__}: {error}")
                say(f"  request {number}: FAILED: {prediction.summary}")
            report.predictions.append(prediction)

    with client, _narrated_rerouting(say):
        say(
            f"Scene: prediction failover ({primary_region.region} primary, "
            f"{secondary_region.region} secondary)"
        )
        say(f"  {len(documents)} document(s) per request to {project_name}/{deployment_name}")
        predict(PHASES[0])

        pid = primary_region.process.pid if primary_region.process is not None else None
        say(f"Stopping the primary emulator process (pid {pid}): {primary_region.region} is down")
        primary_region.kill()
        predict(PHASES[1])

        say(f"Starting the primary emulator again: {primary_region.region} is back")
        primary_region.start()
        if restore_primary is not None:
            restore_primary()
        wait = client.seconds_until_probe(primary_region.region)
        if wait > 0:
            say(f"  waiting {wait:.1f} s for the cool-down; the next request probes {primary_region.region}")
            time.sleep(wait)
        predict(PHASES[2])

    served = ", ".join(
        f"{phase}: " + ", ".join(f"{region or 'error'} x{count}" for region, count in
                                 Counter(report.served_by(phase)).items())
        for phase in PHASES
    )
    say(f"  {len(report.predictions)} requests, {report.errors} errors ({served})")
    return report


@contextmanager
def _narrated_rerouting(say: Callable[[str], None]) -> Iterator[None]:
    """Show the client's rerouting decisions in the scene instead of on stderr."""
    logger = logging.getLogger("language_failover")

    class Narrator(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "region" in record.getMessage() and record.module != "circuit_breaker":  # breakers: narrate()
                say(f"    {record.getMessage()}")

    handler, propagate = Narrator(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _endpoint(region: EmulatorRegion) -> RegionEndpoint:
    return RegionEndpoint(region.region, region.endpoint, AzureKeyCredential(region.key))


def _summarize(results: list[Any]) -> str:
    """One line about the first document's result, in whatever shape the task produced."""
    first = results[0] if results else None
    if first is None or getattr(first, "is_error", False):
        return f"{len(results)} result(s); first: {getattr(first, 'error', 'none')}"
    entities = getattr(first, "entities", None)
    if entities is not None:
        first_per_category = {entity.category: entity for entity in reversed(list(entities))}
        shown = ", ".join(f"{e.category} {e.text!r}" for e in list(reversed(first_per_category.values()))[:3])
        return f"{len(entities)} entities in document 1 ({shown})"
    classes = [c.category for c in getattr(first, "classifications", [])]
    return f"document 1 classified as {', '.join(classes) or 'nothing'}"

"""Figure 4b: when the primary region dies, how long until traffic moves, and how many calls fail.

One caller sends custom NER predictions one after another through FailoverTextAnalyticsClient with the
product's default breaker and client policies (only the job polling interval is short, as the emulator
finishes runtime jobs at once). After a few healthy calls the primary emulator process is killed
(SIGKILL: its port refuses connections from then on). Measured: the time from the kill until a call
answered by the secondary returns, every call that raised to the caller (target: none), and how the
calls after the kill were answered.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from azure.core.credentials import AzureKeyCredential

from bench.environment import Environment
from language_failover import (
    FailoverTextAnalyticsClient,
    RegionClientPolicy,
    RegionEndpoint,
    RegionStateChange,
)
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import ner_project

DEPLOYMENT = "prod"
FAILED_CALLS_TARGET = 0


def deploy_both(env: Environment) -> tuple[str, list[str]]:
    """The same project and deployment in both regions, as a replication leaves them; runtime jobs instant."""
    project = ner_project(documents=12)
    for region, account in zip(env.regions, ("primarydocs", "secondarydocs"), strict=True):
        durations = json.dumps({"runtime": 0, "import": 0, "train": 0, "deploy": 0}).encode()
        region.control("/_emulator/durations", durations)
        deploy_sample_project(region.endpoint, region.key, env.connection_string(account), project,
                              deployment=DEPLOYMENT, poll_interval=0.01)
    return project.name, list(project.documents.values())[:5]


def measure(env: Environment, project: str, documents: list[str], *, healthy_calls: int,
            calls_after: int) -> dict[str, Any]:
    changes: list[RegionStateChange] = []
    client = FailoverTextAnalyticsClient(
        RegionEndpoint(env.primary.region, env.primary.endpoint, AzureKeyCredential(env.primary.key)),
        [RegionEndpoint(env.secondary.region, env.secondary.endpoint, AzureKeyCredential(env.secondary.key))],
        client_policy=RegionClientPolicy(polling_interval=0.01),
        on_state_change=changes.append,
    )
    calls: list[dict[str, Any]] = []
    killed_at = 0.0

    def call(phase: str) -> None:
        started = time.perf_counter()
        try:
            poller = client.begin_recognize_custom_entities(list(documents), project, DEPLOYMENT)
            answered = len(list(poller.result()))
            region: str | None = poller.region
            error = None if answered == len(documents) else f"{answered} results for {len(documents)}"
        except Exception as failure:  # counted: a call that raised is what the caller sees as an outage
            region, error = None, f"{type(failure).__name__}: {str(failure)[:200]}"
        ended = time.perf_counter()
        calls.append({"phase": phase, "region": region, "error": error, "seconds": round(ended - started, 4),
                      "endedAfterKillSeconds": round(ended - killed_at, 4) if killed_at else None})

    # The client logs each failed attempt and breaker move: they are in the result, not the printed table.
    failover_log = logging.getLogger("language_failover")
    level = failover_log.level
    failover_log.setLevel(logging.ERROR)
    try:
        with client:
            for _ in range(healthy_calls):
                call("healthy")
            killed_at = time.perf_counter()
            env.primary.kill()
            for _ in range(calls_after):
                call("primary down")
    finally:
        failover_log.setLevel(level)
    after = [c for c in calls if c["phase"] == "primary down"]
    moved = next((c for c in after if c["region"] == env.secondary.region and not c["error"]), None)
    failed_before_move = [c for c in after[: after.index(moved)] if c["error"]] if moved else after
    return {
        "healthyCalls": healthy_calls,
        "callsAfterKill": len(after),
        "secondsUntilTrafficMoved": moved["endedAfterKillSeconds"] if moved else None,
        "failedCallsUntilMoved": len(failed_before_move),
        "failedCallsTotal": sum(1 for c in calls if c["error"]),
        "failedCallsTarget": FAILED_CALLS_TARGET,
        "firstCallAfterKillSeconds": after[0]["seconds"] if after else None,
        "medianCallAfterMoveSeconds": _median([c["seconds"] for c in after[1:]]),
        "answeredAfterKill": {region: sum(1 for c in after if c["region"] == region)
                              for region in {str(c["region"]) for c in after}},
        "breakerChanges": [f"{c.region}: {c.previous.value} -> {c.current.value} ({c.reason})"
                           for c in changes],
        "errors": [c["error"] for c in calls if c["error"]][:5],
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

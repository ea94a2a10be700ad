"""Prediction failover for Azure AI Language custom models (custom NER, custom classification).

`FailoverTextAnalyticsClient` wraps one `azure.ai.textanalytics.TextAnalyticsClient` per region and
sends each request to the healthiest region, primary first. Nothing here imports Azure Functions,
so applications outside this repository can install and use it on its own.
"""

from shared.failover.circuit_breaker import (
    Admission,
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
    RegionStateChange,
)
from shared.failover.classification import Phase, Verdict
from shared.failover.client import FailoverTextAnalyticsClient
from shared.failover.poller import Attempt, FailoverLROPoller, JobTimeoutError, NoRegionAvailableError
from shared.failover.region import RegionClientPolicy, RegionEndpoint

__all__ = [
    "Admission",
    "Attempt",
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitState",
    "FailoverLROPoller",
    "FailoverTextAnalyticsClient",
    "JobTimeoutError",
    "NoRegionAvailableError",
    "Phase",
    "RegionClientPolicy",
    "RegionEndpoint",
    "RegionStateChange",
    "Verdict",
]

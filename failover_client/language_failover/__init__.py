"""Prediction failover for Azure AI Language custom models (custom NER, custom classification, CLU,
orchestration workflow).

`FailoverTextAnalyticsClient` wraps one `azure.ai.textanalytics.TextAnalyticsClient` per region and
sends each request to the healthiest region, primary first; `FailoverConversationAnalysisClient` does
the same for `azure.ai.language.conversations.ConversationAnalysisClient` (the `conversations` extra).
This is its own distribution (`language-dr-failover`): it imports nothing of the replicator and nothing
of Azure Functions.

Importing the package is cheap: each public name loads its module (and the SDK) on first use, so the
package works without the `conversations` extra until its client is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from language_failover._version import __version__

if TYPE_CHECKING:
    from language_failover.circuit_breaker import (
        Admission,
        BreakerPolicy,
        CircuitBreaker,
        CircuitState,
        RegionStateChange,
    )
    from language_failover.classification import Phase, Verdict
    from language_failover.client import FailoverTextAnalyticsClient
    from language_failover.conversations import ConversationAnswer, FailoverConversationAnalysisClient
    from language_failover.poller import Attempt, FailoverLROPoller, JobTimeoutError, NoRegionAvailableError
    from language_failover.region import RegionClientPolicy, RegionEndpoint

# Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "Admission": "circuit_breaker",
    "BreakerPolicy": "circuit_breaker",
    "CircuitBreaker": "circuit_breaker",
    "CircuitState": "circuit_breaker",
    "RegionStateChange": "circuit_breaker",
    "Phase": "classification",
    "Verdict": "classification",
    "FailoverTextAnalyticsClient": "client",
    "ConversationAnswer": "conversations",
    "FailoverConversationAnalysisClient": "conversations",
    "Attempt": "poller",
    "FailoverLROPoller": "poller",
    "JobTimeoutError": "poller",
    "NoRegionAvailableError": "poller",
    "RegionClientPolicy": "region",
    "RegionEndpoint": "region",
}

__all__ = [
    "Admission",
    "Attempt",
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitState",
    "ConversationAnswer",
    "FailoverConversationAnalysisClient",
    "FailoverLROPoller",
    "FailoverTextAnalyticsClient",
    "JobTimeoutError",
    "NoRegionAvailableError",
    "Phase",
    "RegionClientPolicy",
    "RegionEndpoint",
    "RegionStateChange",
    "Verdict",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""FailoverConversationAnalysisClient: CLU and orchestration predictions from whichever region is healthy.

A drop-in for `azure.ai.language.conversations.ConversationAnalysisClient` (1.1.x): the same
constructor keywords reach each region's SDK client, and `analyze_conversation(task, **kwargs)`
returns the SDK's own answer, unchanged (an orchestration's routed result included). The runtime is
synchronous, so there is no job to poll: one request, answered by the first region that can.

Needs the `conversations` extra (`pip install "language-dr-failover[conversations]"`); without it,
importing this module raises ModuleNotFoundError saying so, and the rest of the package still works.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import IO, Any, ClassVar

from language_failover.base import FailoverClientBase
from language_failover.poller import Attempt
from language_failover.region import Region

EXTRA_HINT = (
    "FailoverConversationAnalysisClient needs the `conversations` extra: "
    'pip install "language-dr-failover[conversations]" (azure-ai-language-conversations>=1.1,<2)'
)

try:
    from azure.ai.language.conversations import ConversationAnalysisClient
    from azure.ai.language.conversations import __version__ as SDK_VERSION
except ImportError as error:
    raise ModuleNotFoundError(EXTRA_HINT, name=error.name) from error

# 2.x changed the call's types; the drop-in is for the 1.x signatures it wraps.
if not SDK_VERSION.startswith("1."):
    raise ImportError(f"{EXTRA_HINT}; found azure-ai-language-conversations {SDK_VERSION}")

JSON = MutableMapping[str, Any]
"""The SDK's type for a task and an answer: plain JSON-like mappings."""


@dataclass(frozen=True)
class ConversationAnswer:
    """The SDK's answer, the region that gave it, and every try on the way."""

    result: Any
    """What `ConversationAnalysisClient.analyze_conversation` returned, unchanged."""
    region: str
    attempts: tuple[Attempt, ...]


class FailoverConversationAnalysisClient(FailoverClientBase):
    """Conversational language understanding and orchestration with failover between regions.

    The constructor and `from_settings` are `FailoverClientBase`'s (the same regions, breaker policy,
    routing follower and settings as `FailoverTextAnalyticsClient`); `client_kwargs` go to every
    region's `ConversationAnalysisClient` (e.g. `api_version`, `logging_enable`).
    """

    sdk_client_type: ClassVar[Callable[..., Any]] = ConversationAnalysisClient

    def analyze_conversation(self, task: JSON | IO[bytes], **kwargs: Any) -> JSON:
        """`ConversationAnalysisClient.analyze_conversation`, failed over between regions."""
        answer: JSON = self.analyze_conversation_with_region(task, **kwargs).result
        return answer

    def analyze_conversation_with_region(self, task: JSON | IO[bytes], **kwargs: Any) -> ConversationAnswer:
        """`analyze_conversation`, also telling which region answered and what was tried first.

        A 4xx caller error from a healthy region is raised as the SDK raised it; a region failure
        (connection error, timeout, 5xx, 429 left after the region's retry budget) moves the request
        to the next region and counts against the failed region's breaker.
        """
        body = _replayable(task)
        attempts: list[Attempt] = []

        def ask(region: Region) -> Any:
            return region.client.analyze_conversation(body, **kwargs)

        region, result = self._router.answer(ask, attempts=attempts)
        return ConversationAnswer(result, region.name, tuple(attempts))


def _replayable(task: JSON | IO[bytes]) -> JSON | bytes:
    """The task as something every region can be sent: a stream is read once, into bytes."""
    if isinstance(task, MutableMapping):
        return task
    if isinstance(task, bytes | bytearray):
        return bytes(task)
    data: bytes | str = task.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)

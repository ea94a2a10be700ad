"""Just enough of the prediction (runtime) APIs to verify a replica: submit one analyze-text job and
poll it, or ask analyze-conversations about one utterance (synchronous, not a job).

Own code over requests rather than azure-ai-textanalytics or azure-ai-language-conversations, to reuse
the authoring client's auth, retry rule and host guard, and to keep a verify step to one bounded submit
or poll per slice. Entity offsets are requested in one index type on both sides (UnicodeCodePoint for
text, Utf16CodeUnit for conversations), so both sides are compared in one mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from shared.api_versions import DEFAULT_CONVERSATIONS_API_VERSION, DEFAULT_TEXT_API_VERSION
from shared.errors import ReplicatorError
from shared.language.credentials import RequestAuth
from shared.language.project_kinds import ANALYZE_CONVERSATIONS, ProjectKind, kind_of
from shared.language.retry import DEFAULT_POLICY, RetryPolicy
from shared.origin import is_same_origin

RUNTIME_API_VERSION = DEFAULT_TEXT_API_VERSION.runtime_version
CONVERSATIONS_RUNTIME_API_VERSION = DEFAULT_CONVERSATIONS_API_VERSION.runtime_version
MAX_DOCUMENTS_PER_JOB = 25
# Conversation entity offsets are compared in UTF-16 code units (the unit of the exported labels).
CONVERSATION_INDEX_TYPE = "Utf16CodeUnit"


class RuntimeApiError(ReplicatorError):
    code = "RuntimeApiError"


@dataclass(frozen=True)
class SampleDocument:
    id: str
    text: str
    language: str


Prediction = tuple[tuple[Any, ...], ...]


class RuntimeClient:
    def __init__(self, endpoint: str, auth: RequestAuth, *, api_version: str = RUNTIME_API_VERSION,
                 conversations_api_version: str = CONVERSATIONS_RUNTIME_API_VERSION,
                 session: requests.Session | None = None, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (3.05, 30)) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self.conversations_api_version = conversations_api_version
        self._auth = auth
        self._session = session or requests.Session()
        self._retry = retry or DEFAULT_POLICY
        self._timeout = timeout

    def submit(self, project_kind: str, project: str, deployment: str,
               documents: Sequence[SampleDocument]) -> str:
        if not documents or len(documents) > MAX_DOCUMENTS_PER_JOB:
            raise ValueError(f"a job takes 1-{MAX_DOCUMENTS_PER_JOB} documents")
        kind = kind_of(project_kind)
        parameters: dict[str, Any] = {"projectName": project, "deploymentName": deployment,
                                      **kind.runtime_parameters}
        body = {
            "displayName": "replica verification",
            "analysisInput": {"documents": [{"id": d.id, "text": d.text, "language": d.language}
                                            for d in documents]},
            "tasks": [{"kind": project_kind, "taskName": "verify", "parameters": parameters}],
        }
        url = f"{self.endpoint}{kind.routes.runtime_path}?{urlencode({'api-version': self.api_version})}"
        response = self._send("POST", url, body)
        if response.status_code != 202:
            raise _error(response)
        location = response.headers.get("operation-location")
        response.close()
        if not location:
            raise RuntimeApiError("the runtime accepted the job but named no job to poll")
        return location

    def analyze_conversation(self, project: str, deployment: str, utterance: SampleDocument
                             ) -> dict[str, Any]:
        """`POST /language/:analyze-conversations` (kind Conversation) for one utterance: the answer's
        `result.prediction` (a CLU or an orchestration prediction, as the project is)."""
        body = {
            "kind": "Conversation",
            "analysisInput": {"conversationItem": {"id": utterance.id, "participantId": "verify",
                                                   "text": utterance.text, "language": utterance.language}},
            "parameters": {"projectName": project, "deploymentName": deployment,
                           "stringIndexType": CONVERSATION_INDEX_TYPE},
        }
        query = urlencode({"api-version": self.conversations_api_version})
        response = self._send("POST", f"{self.endpoint}{ANALYZE_CONVERSATIONS.runtime_path}?{query}", body)
        if response.status_code != 200:
            raise _error(response)
        answer: Any = response.json()
        prediction = (answer.get("result") or {}).get("prediction") if isinstance(answer, dict) else None
        if not isinstance(prediction, dict):
            raise RuntimeApiError("the runtime's answer has no prediction")
        return prediction

    def get(self, job_url: str) -> dict[str, Any]:
        if not is_same_origin(job_url, self.endpoint):
            raise RuntimeApiError("refusing to send credentials to a URL that is not the endpoint's scheme, "
                                  "host and port")
        response = self._send("GET", job_url, None)
        if response.status_code != 200:
            raise _error(response)
        body: Any = response.json()
        if not isinstance(body, dict):
            raise RuntimeApiError("the runtime's answer is not a JSON object")
        return body

    def _send(self, method: str, url: str, body: Any) -> requests.Response:
        def attempt() -> requests.Response:
            return self._session.request(method, url, json=body, headers=self._auth.headers(),
                                         timeout=self._timeout, allow_redirects=False)
        return self._retry.send(method, url, attempt)


def job_finished(body: dict[str, Any]) -> bool:
    return str(body.get("status")) in ("succeeded", "failed", "cancelled", "partiallyCompleted")


def predictions(body: dict[str, Any]) -> dict[str, Prediction]:
    """Per document id, what the model said, in a form equal across regions when the models agree."""
    if body.get("status") != "succeeded":
        errors = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in body.get("errors") or [])
        raise RuntimeApiError(f"prediction job {body.get('status')}: {errors or 'no reason given'}")
    result: dict[str, Prediction] = {}
    for item in (body.get("tasks") or {}).get("items") or []:
        for document in (item.get("results") or {}).get("documents") or []:
            if "entities" in document:
                result[str(document["id"])] = tuple(sorted(
                    (e["category"], int(e["offset"]), int(e["length"])) for e in document["entities"]))
            else:
                result[str(document["id"])] = tuple(sorted(
                    (c["category"],) for c in document.get("class") or []))
        for failed in (item.get("results") or {}).get("errors") or []:
            result[str(failed.get("id"))] = (("error", str((failed.get("error") or {}).get("code"))),)
    return result


def conversation_predictions(runtime: RuntimeClient, project: str, deployment: str,
                             sample: Sequence[SampleDocument]) -> dict[str, Prediction]:
    """Per utterance id, what a conversation deployment says about it (one synchronous call each)."""
    return {item.id: conversation_prediction(runtime.analyze_conversation(project, deployment, item))
            for item in sample}


def is_conversation_kind(project_kind: str) -> bool:
    """Predicted by :analyze-conversations (synchronous) rather than an analyze-text job."""
    return kind_of(project_kind).routes is ANALYZE_CONVERSATIONS


def conversation_prediction(prediction: dict[str, Any]) -> Prediction:
    """What a conversation prediction says, equal across regions when the models agree: the top intent
    and, for CLU, every entity (category, offset, length); for orchestration, the top intent's target
    kind. Confidence scores are left out, as for text predictions."""
    top = str(prediction.get("topIntent"))
    if prediction.get("projectKind") == ProjectKind.ORCHESTRATION:
        intents = prediction.get("intents") or {}
        target = (intents.get(top) or {}).get("targetProjectKind") if isinstance(intents, dict) else None
        return (("intent", top), ("target", str(target)))
    entities = sorted((str(e["category"]), int(e["offset"]), int(e["length"]))
                      for e in prediction.get("entities") or [])
    return (("intent", top), *(("entity", *entity) for entity in entities))


def _error(response: requests.Response) -> RuntimeApiError:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    response.close()
    return RuntimeApiError(f"HTTP {response.status_code} {error.get('code', '')}: {error.get('message', '')}")

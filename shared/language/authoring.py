"""A typed client for the Azure AI Language authoring API: both route families (analyze-text for custom
NER and text classification, analyze-conversations for CLU and orchestration workflow).

A project's family follows from its kind (shared.language.project_kinds). Callers name projects only:
the client learns each project's family from the project lists and project reads it makes, or from
`note_kind` (a run knows its project's kind), and asks the service once for a project it has not seen
(text family first). See ADR 0011.

Built on `requests`, not azure-core's pipeline: azure-core's RetryPolicy retries a POST after a 5xx
or a read error, which can submit a second billed training job; we need a stricter, per-method rule
(shared.language.retry), streamed request and response bodies (import, export result), a shared request budget
charged before every request, and a guard that never sends our credentials to another host. Those
are a few lines each over requests, and would be custom policies in azure-core anyway.

Long-running operations are not awaited here: `start_*` returns the job URL from `operation-location`
(falling back to `location`); the engine polls once per slice with `get_job`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, TypedDict, Unpack, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
import urllib3

from shared.api_versions import DEFAULT_CONVERSATIONS_API_VERSION, DEFAULT_TEXT_API_VERSION
from shared.clock import Clock, SystemClock, parse_iso
from shared.errors import ReplicatorError
from shared.language.credentials import RequestAuth
from shared.language.project_kinds import ANALYZE_CONVERSATIONS, ANALYZE_TEXT, RouteFamily
from shared.language.project_kinds import project_kind as kind_named
from shared.language.request_budget import RequestBudget
from shared.language.retry import DEFAULT_POLICY, RetryLater, RetryPolicy
from shared.origin import is_same_origin
from shared.settings import validate_endpoint, validate_project_name

# The text family's authoring path (custom NER, custom text classification).
AUTHORING_PATH = ANALYZE_TEXT.authoring_path
# The conversations family's export and import file format (the other one, Luis, is LUIS's).
CONVERSATION_FORMAT = "Conversation"
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "partiallyCompleted"})
FAILED_STATES = frozenset({"failed", "cancelled", "partiallyCompleted"})
STRING_INDEX_TYPE = "Utf16CodeUnit"
DEFAULT_PAGE_SIZE = 50


class LanguageApiError(ReplicatorError):
    """The service answered with an error: its HTTP status, code and message."""

    code = "LanguageApiError"

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        where = f" ({method} {url.split('?', 1)[0]})" if method else ""
        super().__init__(f"HTTP {status} {code}: {message}{where}")
        self.status = status
        self.service_code = code
        self.service_message = message
        self.inner_code = inner_code
        self.method = method
        self.url = url

    def to_json(self) -> dict[str, str]:
        return {"code": self.service_code, "message": self.service_message, "status": str(self.status)}


class JobFailed(ReplicatorError):
    """A job ended failed, cancelled or partiallyCompleted; carries the job's errors and warnings."""

    code = "JobFailed"

    def __init__(
        self, status: str, errors: list[dict[str, Any]], warnings: list[dict[str, Any]], job_url: str = ""
    ) -> None:
        summary = (
            "; ".join(f"{e.get('code', '?')}: {e.get('message', '')}" for e in errors) or "no reason given"
        )
        super().__init__(f"job {status}: {summary}")
        self.status = status
        self.errors = errors
        self.warnings = warnings
        self.job_url = job_url

    @property
    def retryable(self) -> bool:
        """The service's "Unspecified ... retry after some time" failure is worth one more job."""
        return self.status == "failed" and any(e.get("code") == "Unspecified" for e in self.errors)


@dataclass(frozen=True)
class JobStatus:
    """One poll of a long-running job."""

    url: str
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    result_url: str | None = None
    estimated_end: datetime | None = None
    percent_complete: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def job_id(self) -> str:
        return str(self.raw.get("jobId", ""))

    def raise_for_failure(self) -> None:
        if self.status in FAILED_STATES:
            raise JobFailed(self.status, self.errors, self.warnings, self.url)

    @classmethod
    def from_body(cls, url: str, body: dict[str, Any]) -> JobStatus:
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        assert isinstance(result, dict)
        estimated = result.get("estimatedEndDateTime")
        training = result.get("trainingStatus") if isinstance(result.get("trainingStatus"), dict) else None
        percent = training.get("percentComplete") if training else None
        return cls(
            url=url,
            status=str(body.get("status", "")),
            errors=list(body.get("errors") or []),
            warnings=list(body.get("warnings") or []),
            result_url=body.get("resultUrl"),
            estimated_end=parse_iso(estimated) if isinstance(estimated, str) else None,
            percent_complete=int(percent) if isinstance(percent, int | float) else None,
            raw=body,
        )


class _SizedStream:
    """A readable body of known length: requests then sends Content-Length instead of chunking."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


class _InterruptibleDownload:
    """A response body whose broken connection becomes `RetryLater` (download again next slice)."""

    def __init__(self, raw: Any, url: str) -> None:
        self._raw = raw
        self._url = url.split("?", 1)[0]

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._raw.read(None if size is None or size < 0 else size))
        except (OSError, requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise RetryLater(1.0, f"download of {self._url} interrupted ({type(error).__name__})") from error

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()


class _RequestBody(TypedDict, total=False):
    """What a request may carry besides its method and URL."""

    json: Any
    data: Any
    headers: Mapping[str, str] | None
    rewind: Callable[[], None] | None  # after a 429, puts a streamed body back to its start


class AuthoringClient:
    """One Language resource's authoring API."""

    def __init__(
        self,
        endpoint: str,
        auth: RequestAuth,
        api_version: str = DEFAULT_TEXT_API_VERSION,
        *,
        conversations_api_version: str = DEFAULT_CONVERSATIONS_API_VERSION,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (3.05, 30),
        budget: RequestBudget | None = None,
        budget_key: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.endpoint = validate_endpoint(endpoint, "endpoint")
        self.api_version = api_version
        self.conversations_api_version = conversations_api_version
        self._families: dict[str, RouteFamily] = {}  # project -> its route family, as learnt
        self._auth = auth
        self._session = session or requests.Session()
        self._retry = retry or DEFAULT_POLICY
        self._timeout = timeout
        self._budget = budget
        self._origin = urlsplit(self.endpoint).netloc.lower()
        self._budget_key = budget_key or self._origin
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"AuthoringClient(endpoint={self.endpoint!r}, api_version={self.api_version!r})"

    def check_credential(self) -> None:
        """Obtain the credential now (a token, for Microsoft Entra ID) without sending a request.

        Raises MissingCredential when there is none, so a command can stop before doing anything.
        """
        self._auth.headers()

    # -- route families --------------------------------------------------------------------------------

    def note_kind(self, project: str, kind: str) -> None:
        """Record a project's kind (a run's, a snapshot's), so its family needs no lookup."""
        known = kind_named(kind)
        if known is not None:
            self._families[project] = known.routes

    def family_of(self, project: str) -> RouteFamily:
        """The route family serving `project`: as learnt, else by reading it (text family first); a project
        found in neither is addressed in the text family (and answers 404 there)."""
        if project not in self._families:
            self.get_project(project)
        return self._families.get(project, ANALYZE_TEXT)

    def is_conversation_project(self, project: str) -> bool:
        return self.family_of(project) is ANALYZE_CONVERSATIONS

    def version_of(self, family: RouteFamily) -> str:
        return self.conversations_api_version if family is ANALYZE_CONVERSATIONS else self.api_version

    # -- projects ------------------------------------------------------------------------------------

    def list_projects(self, *, page_size: int = DEFAULT_PAGE_SIZE,
                      families: Sequence[RouteFamily] = (ANALYZE_TEXT, ANALYZE_CONVERSATIONS),
                      ) -> Iterator[dict[str, Any]]:
        """Every project's metadata of `families` (default both), a page per request (follows nextLink)."""
        for family in families:
            for project in self._paged(self._url("/projects", family=family), page_size):
                if isinstance(project.get("projectName"), str):
                    self._remember(project["projectName"], project.get("projectKind"), family)
                yield project

    def get_project(self, project: str) -> dict[str, Any] | None:
        known = self._families.get(project)
        for family in (known,) if known else (ANALYZE_TEXT, ANALYZE_CONVERSATIONS):
            found = self._get_or_none(self._url("/projects/" + _name(project), family=family))
            if found is not None:
                self._remember(project, found.get("projectKind"), family)
                return found
        return None

    def _remember(self, project: str, kind: object, family: RouteFamily) -> None:
        known = kind_named(kind)
        self._families[project] = known.routes if known is not None else family

    def delete_project(self, project: str) -> str:
        return self._start("DELETE", self._project_url(project))

    # -- deployments ---------------------------------------------------------------------------------

    def list_deployments(self, project: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
        return list(self._paged(self._project_url(project, "/deployments"), page_size))

    def get_deployment(self, project: str, deployment: str) -> dict[str, Any] | None:
        return self._get_or_none(self._project_url(project, "/deployments/" + _name(deployment)))

    def start_deployment(self, project: str, deployment: str, *, trained_model_label: str) -> str:
        body = {"trainedModelLabel": validate_project_name(trained_model_label, "trained_model_label")}
        return self._start("PUT", self._project_url(project, "/deployments/" + _name(deployment)), json=body)

    def delete_deployment(self, project: str, deployment: str) -> str:
        return self._start("DELETE", self._project_url(project, "/deployments/" + _name(deployment)))

    # -- trained models ------------------------------------------------------------------------------

    def list_models(self, project: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
        return list(self._paged(self._project_url(project, "/models"), page_size))

    def get_model(self, project: str, label: str) -> dict[str, Any] | None:
        return self._get_or_none(self._project_url(project, "/models/" + _name(label)))

    def delete_model(self, project: str, label: str) -> None:
        """Synchronous on the service (204); a model already gone counts as deleted."""
        url = self._project_url(project, "/models/" + _name(label))
        response = self._request("DELETE", url)
        if response.status_code not in (200, 202, 204, 404):
            raise _api_error(response, "DELETE", url)
        response.close()

    def get_evaluation_summary(self, project: str, label: str) -> dict[str, Any] | None:
        """The model's EvaluationSummary (evaluationOptions, averages, per category), None if absent."""
        url = self._project_url(project, f"/models/{_name(label)}/evaluation/summary-result")
        return self._get_or_none(url)

    def evaluation_results(self, project: str, label: str, *, page_size: int = DEFAULT_PAGE_SIZE
                           ) -> Iterator[dict[str, Any]]:
        """The model's per-document evaluation results: one per test document (UTF-16 offsets)."""
        url = self._project_url(project, f"/models/{_name(label)}/evaluation/result",
                                stringIndexType="Utf16CodeUnit")
        return self._paged(url, page_size)

    def start_load_snapshot(self, project: str, label: str) -> str:
        """Make the training data the model `label` was trained on the working copy again (2023-04-01)."""
        return self._start("POST", self._project_url(project, f"/models/{_name(label)}/:load-snapshot"))

    # -- training ------------------------------------------------------------------------------------

    def list_training_jobs(self, project: str, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
        """The project's non-expired training jobs (the service keeps them 7 days)."""
        return list(self._paged(self._project_url(project, "/train/jobs"), page_size))

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]:
        """[{trainingConfigVersion, modelExpirationDate}] offered for a project kind."""
        known = kind_named(project_kind)
        family = known.routes if known is not None else ANALYZE_TEXT
        url = self._url("/projects/global/training-config-versions", family=family, projectKind=project_kind)
        return list(self._paged(url, DEFAULT_PAGE_SIZE))

    def start_training(
        self,
        project: str,
        *,
        model_label: str,
        training_config_version: str,
        evaluation_options: Mapping[str, Any] | None = None,
        training_mode: str | None = None,
    ) -> str:
        """Train `model_label`. Conversation projects need `training_mode` (standard is free, advanced
        billed); text projects have none."""
        body: dict[str, Any] = {
            "modelLabel": validate_project_name(model_label, "model_label"),
            "trainingConfigVersion": training_config_version,
        }
        if self.is_conversation_project(project):
            if training_mode is None:
                raise ValueError("a conversation project's training needs a trainingMode")
            body["trainingMode"] = training_mode
        if evaluation_options is not None:
            body["evaluationOptions"] = dict(evaluation_options)
        return self._start("POST", self._project_url(project, "/:train"), json=body)

    def training_job_url(self, project: str, job_id: str) -> str:
        """The status URL of a training job found by `list_training_jobs` (its `jobId`)."""
        return self._project_url(project, "/train/jobs/" + quote(job_id, safe=""))

    def cancel_training(self, job_url: str) -> str:
        """Ask the service to cancel a training job; returns the URL to poll until `cancelled`."""
        parts = urlsplit(job_url)
        cancel = urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/") + "/:cancel", parts.query, "")
        )
        return self._start("POST", cancel)

    # -- export / import -----------------------------------------------------------------------------

    def start_export(self, project: str, *, trained_model_label: str | None = None) -> str:
        """Export the working copy, or with a label (versions with model-scoped export) that model's data."""
        query = {"stringIndexType": STRING_INDEX_TYPE}
        if self.is_conversation_project(project):
            query["format"] = CONVERSATION_FORMAT
        if trained_model_label is not None:
            query["trainedModelLabel"] = validate_project_name(trained_model_label, "trained_model_label")
        return self._start("POST", self._project_url(project, "/:export", **query))

    def start_import(
        self, project: str, body: bytes | IO[bytes], *, content_length: int | None = None,
        kind: str | None = None,
    ) -> str:
        """Import an exported project (replacing the target's data); a stream is sent as it is read.

        `kind` (the export's projectKind) picks the route family of a project the target may not have yet.

        A stream's length comes from `content_length`, else its `len()` (e.g. a snapshot reader),
        else seeking; the body is then sent with a Content-Length rather than chunked.
        """
        if kind is not None:
            self.note_kind(project, kind)
        query = {"format": CONVERSATION_FORMAT} if self.is_conversation_project(project) else {}
        data: bytes | IO[bytes] | _SizedStream = body
        rewind: Callable[[], None] | None = None
        if not isinstance(body, bytes | bytearray):
            start = body.tell() if body.seekable() else None
            length = content_length
            if length is None and hasattr(body, "__len__"):
                length = len(body)
            if length is not None:
                # Hide tell(): requests would subtract a non-seekable stream's position from its length.
                data = _SizedStream(body, length)
            # After a 429 the body is sent again from where it started, if the stream can go back.
            rewind = _cannot_rewind if start is None else _rewinder(body, start)
        return self._start(
            "POST",
            self._project_url(project, "/:import", **query),
            data=data,
            headers={"Content-Type": "application/json"},
            rewind=rewind,
        )

    @contextlib.contextmanager
    def open_export_result(self, result_url: str) -> Iterator[IO[bytes]]:
        """The exported project as a stream, downloaded with our auth (the service requires it)."""
        response = self._request("GET", result_url, stream=True)
        try:
            if response.status_code != 200:
                raise _api_error(response, "GET", result_url)
            response.raw.decode_content = True
            yield cast(IO[bytes], _InterruptibleDownload(response.raw, result_url))
        finally:
            response.close()

    # -- jobs ----------------------------------------------------------------------------------------

    def get_job(self, job_url: str) -> JobStatus:
        """One poll. Failure states are returned, not raised: call `raise_for_failure()`."""
        response = self._request("GET", job_url)
        if response.status_code != 200:
            raise _api_error(response, "GET", job_url)
        return JobStatus.from_body(job_url, _json(response))

    def wait(self, job_url: str, *, poll_interval: float = 5.0, deadline: float = 3600.0) -> JobStatus:
        """Poll until the job ends or `deadline` seconds pass (CLI/demo convenience; raises on timeout)."""
        started = time.monotonic()
        status: JobStatus | None = None
        while True:
            try:
                status = self.get_job(job_url)
            except RetryLater as later:
                pause = later.delay
            else:
                if status.done:
                    return status
                pause = poll_interval
            if time.monotonic() - started + pause > deadline:
                state = status.status if status else "unknown"
                raise TimeoutError(f"job still {state} after {deadline:.0f} s: {job_url.split('?', 1)[0]}")
            self._clock.sleep(pause)

    # -- plumbing ------------------------------------------------------------------------------------

    def _url(self, path: str, *, family: RouteFamily = ANALYZE_TEXT, **query: str) -> str:
        params = {"api-version": self.version_of(family), **query}
        return f"{self.endpoint}{family.authoring_path}{path}?{urlencode(params)}"

    def _project_url(self, project: str, path: str = "", **query: str) -> str:
        return self._url("/projects/" + _name(project) + path, family=self.family_of(project), **query)

    def _with_api_version(self, url: str) -> str:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "api-version" in query:
            return url
        family = (ANALYZE_CONVERSATIONS if parts.path.startswith(ANALYZE_CONVERSATIONS.authoring_path)
                  else ANALYZE_TEXT)
        query["api-version"] = self.version_of(family)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def _check_origin(self, url: str) -> None:
        if not is_same_origin(url, self.endpoint):
            # A job or result URL elsewhere, or in clear text, must not receive our key or token.
            parts = urlsplit(url)
            raise LanguageApiError(0, "UnexpectedHost", f"refusing to send credentials to {parts.scheme}://"
                                   f"{parts.hostname}: not the endpoint's scheme, host and port")

    def _charge_budget(self, method: str) -> None:
        if self._budget is None:
            return
        policy = self._retry.effective()
        for _ in range(100):
            wait = self._budget.acquire(self._budget_key, method)
            if wait <= 0:
                return
            if wait > policy.max_sleep:
                raise RetryLater(wait, f"request budget for {self._budget_key} spent ({method})")
            policy.sleep(wait)
        raise RetryLater(policy.max_sleep, f"request budget for {self._budget_key} spent ({method})")

    def _request(
        self, method: str, url: str, *, stream: bool = False, **body: Unpack[_RequestBody]
    ) -> requests.Response:
        url = self._with_api_version(url)
        self._check_origin(url)
        rewind = body.get("rewind")

        def attempt() -> requests.Response:
            self._charge_budget(method)
            return self._session.request(
                method,
                url,
                json=body.get("json"),
                data=body.get("data"),
                headers={**(body.get("headers") or {}), **self._auth.headers()},
                timeout=self._timeout,
                stream=stream,
                allow_redirects=False,
            )

        return self._retry.send(method, url, attempt, before_retry=rewind)

    def _start(self, method: str, url: str, **body: Unpack[_RequestBody]) -> str:
        response = self._request(method, url, **body)
        if response.status_code not in (200, 201, 202):
            raise _api_error(response, method, url)
        location = response.headers.get("operation-location") or response.headers.get("location")
        response.close()
        if not location:
            raise LanguageApiError(
                response.status_code,
                "MissingOperationLocation",
                "the service accepted the request but named no job to poll",
                method=method,
                url=url,
            )
        return location

    def _get_or_none(self, url: str) -> dict[str, Any] | None:
        response = self._request("GET", url)
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code != 200:
            raise _api_error(response, "GET", url)
        return _json(response)

    def _paged(self, url: str, page_size: int) -> Iterator[dict[str, Any]]:
        next_url: str | None = _add_query(url, maxpagesize=str(page_size))
        while next_url:
            response = self._request("GET", next_url)
            if response.status_code != 200:
                raise _api_error(response, "GET", next_url)
            page = _json(response)
            yield from page.get("value") or []
            next_url = page.get("nextLink") or None


def _rewinder(body: IO[bytes], start: int) -> Callable[[], None]:
    def rewind() -> None:
        body.seek(start)

    return rewind


def _cannot_rewind() -> None:
    raise RetryLater(1.0, "throttled while streaming a body that cannot be sent again; resend it later")


def _name(value: str) -> str:
    return quote(validate_project_name(value, "name"), safe="")


def _add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise LanguageApiError(
            response.status_code, "InvalidResponse", "the service's answer is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise LanguageApiError(
            response.status_code, "InvalidResponse", "the service's answer is not an object"
        )
    return body


def _api_error(response: requests.Response, method: str, url: str) -> LanguageApiError:
    """The service's error, from {"error": {"code", "message", "innererror"}} or the gateway's
    {"error": {"code": "429", "message"}} (or a bare {"statusCode", "message"})."""
    code, message, inner = f"HTTP{response.status_code}", response.reason or "", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else body
        code = str(error.get("code") or error.get("statusCode") or code)
        message = str(error.get("message") or message)
        inner_error = error.get("innererror")
        if isinstance(inner_error, dict) and inner_error.get("code"):
            inner = str(inner_error["code"])
    response.close()
    return LanguageApiError(response.status_code, code, message, inner_code=inner, method=method, url=url)

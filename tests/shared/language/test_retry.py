"""The retry rule, method by outcome: a request that may start a billed job is never sent twice blindly."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from localdev.services import free_port
from shared.language import retry
from shared.language.retry import (
    RetryLater,
    RetryPolicy,
    SubmissionOutcomeUnknown,
    request_left_machine,
    retry_after_seconds,
)

URL = "http://127.0.0.1:1/language/authoring/analyze-text/projects/p/:train?api-version=2023-04-01"
SAFE = ["GET", "HEAD"]
UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]


def response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    result = requests.Response()
    result.status_code = status
    result.headers.update(headers or {})
    result.raw = io.BytesIO(b"")
    return result


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, URL, reason))  # type: ignore[arg-type]


def reset_after_send() -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))


OUTCOMES: dict[str, Callable[[], requests.Response | Exception]] = {
    "refused": refused,
    "connect-timeout": lambda: requests.ConnectTimeout("connect timed out"),
    "read-timeout": lambda: requests.ReadTimeout("read timed out"),
    "reset-after-send": reset_after_send,
    "408": lambda: response(408),
    "429": lambda: response(429, {"Retry-After": "1"}),
    "500": lambda: response(500),
    "502": lambda: response(502),
    "503": lambda: response(503),
    "504": lambda: response(504),
    "400": lambda: response(400),
    "404": lambda: response(404),
    "409": lambda: response(409),
}

# What happens after the first outcome: "retried" (then succeeds), "returned" (kept as the answer),
# "unknown" (SubmissionOutcomeUnknown, no second attempt).
RETRIED_FOR_EVERY_METHOD = {"refused", "connect-timeout", "429"}
RETRIED_FOR_SAFE_ONLY = {"read-timeout", "reset-after-send", "408", "500", "502", "503", "504"}
UNKNOWN_FOR_UNSAFE = {"read-timeout", "reset-after-send", "500", "502", "503", "504"}


def expected_outcome(method: str, outcome: str) -> str:
    if outcome in RETRIED_FOR_EVERY_METHOD or (method in SAFE and outcome in RETRIED_FOR_SAFE_ONLY):
        return "retried"
    if method in UNSAFE and outcome in UNKNOWN_FOR_UNSAFE:
        return "unknown"
    return "returned"


class Script:
    """Plays a list of outcomes, one per attempt, and counts the attempts."""

    def __init__(self, *outcomes: requests.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> requests.Response:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def sleeps() -> Iterator[list[float]]:
    recorded: list[float] = []
    with retry.testing(attempts=3, sleep=recorded.append):
        yield recorded


@pytest.mark.parametrize("method", SAFE + UNSAFE)
@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_every_method_and_outcome(method: str, outcome: str, sleeps: list[float]) -> None:
    expected = expected_outcome(method, outcome)
    script = Script(OUTCOMES[outcome](), response(200))
    if expected == "unknown":
        with pytest.raises(SubmissionOutcomeUnknown) as caught:
            RetryPolicy().send(method, URL, script)
        assert script.calls == 1
        assert "api-version" not in str(caught.value)
        return
    result = RetryPolicy().send(method, URL, script)
    if expected == "retried":
        assert (result.status_code, script.calls, len(sleeps)) == (200, 2, 1)
    else:
        assert (result.status_code, script.calls, sleeps) == (int(outcome), 1, [])


def test_retry_after_is_honoured(sleeps: list[float]) -> None:
    script = Script(
        response(429, {"Retry-After": "2"}), response(429, {"retry-after-ms": "1500"}), response(200)
    )
    assert RetryPolicy().send("POST", URL, script).status_code == 200
    assert sleeps == [2.0, 1.5]


def test_a_long_retry_after_goes_back_to_the_scheduler(sleeps: list[float]) -> None:
    script = Script(response(429, {"Retry-After": "40"}), response(200))
    with pytest.raises(RetryLater) as caught:
        RetryPolicy(max_sleep=5).send("POST", URL, script)
    assert caught.value.delay == 40
    assert caught.value.status == 429
    assert (script.calls, sleeps) == (1, [])


def test_running_out_of_attempts_asks_to_retry_later(sleeps: list[float]) -> None:
    script = Script(response(503))
    with pytest.raises(RetryLater, match="after 3 attempts"):
        RetryPolicy().send("GET", URL, script)
    assert script.calls == 3
    assert len(sleeps) == 2


def test_backoff_grows_exponentially_and_is_capped() -> None:
    recorded: list[float] = []
    policy = RetryPolicy(attempts=6, backoff=0.5, max_backoff=3.0, jitter=0, sleep=recorded.append)
    with pytest.raises(RetryLater):
        policy.send("GET", URL, Script(requests.ReadTimeout("slow")))
    assert recorded == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_is_seeded_and_bounded() -> None:
    import random

    policy = RetryPolicy(backoff=1.0, jitter=0.2, seed=3)
    first = [policy.backoff_delay(1, random.Random(3)) for _ in range(2)]
    assert first[0] == first[1]
    assert 0.8 <= first[0] <= 1.2


def test_rewind_runs_before_each_retry(sleeps: list[float]) -> None:
    rewinds: list[int] = []
    script = Script(response(429, {"Retry-After": "0"}), response(202))
    RetryPolicy().send("POST", URL, script, before_retry=lambda: rewinds.append(script.calls))
    assert rewinds == [1]


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    assert retry_after_seconds({"x-ms-retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "100", "Retry-After": "9"}) == 0.1
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"}, now) == 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_classification_of_real_connection_failures() -> None:
    """Against real sockets: a refused connection never left; a reset after sending did."""
    port = free_port()  # nothing listens here
    with pytest.raises(requests.ConnectionError) as refused_error:
        requests.post(f"http://127.0.0.1:{port}/x", data=b"{}", timeout=2)
    assert not request_left_machine(refused_error.value)

    with ResettingServer() as server, pytest.raises(requests.ConnectionError) as reset_error:
        requests.post(f"http://127.0.0.1:{server.port}/x", data=b"{}", timeout=2)
    assert request_left_machine(reset_error.value)


def test_post_reset_after_sending_is_not_resent() -> None:
    with ResettingServer() as server, retry.testing(attempts=5, sleep=lambda _: None):
        session = requests.Session()
        url = f"http://127.0.0.1:{server.port}/train"
        with pytest.raises(SubmissionOutcomeUnknown):
            RetryPolicy().send("POST", url, lambda: session.post(url, data=b'{"modelLabel":"m"}', timeout=2))
        assert server.requests == 1


def test_post_to_a_refused_port_is_retried_then_deferred() -> None:
    url = f"http://127.0.0.1:{free_port()}/train"
    calls = 0

    def attempt() -> requests.Response:
        nonlocal calls
        calls += 1
        return requests.post(url, data=b"{}", timeout=2)

    with retry.testing(attempts=3, sleep=lambda _: None), pytest.raises(RetryLater):
        RetryPolicy().send("POST", url, attempt)
    assert calls == 3


class ResettingServer:
    """Accepts a connection, reads the request, then resets it without answering."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ResettingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests += 1
                # SO_LINGER 0: close with RST, the way a dropped connection looks to the client.
                connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )

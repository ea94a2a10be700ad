"""Serving the app: werkzeug's threaded server on the service port, an optional control port.

Outages act on sockets here: "refuse" closes the listening socket (reopened when cleared),
"reset" and reset bursts answer a request whose bytes were read with a TCP RST
(SO_LINGER 0), before or after the app processed it — the case where a client cannot know
whether its POST took effect.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from emulator.control import CONTROL_PREFIX
from emulator.faults import FaultState

log = logging.getLogger("emulator.server")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _FaultAwareHandler(WSGIRequestHandler):
    server: _Server

    def run_wsgi(self) -> None:
        path = urlsplit(self.path).path
        action = None
        if not path.startswith(CONTROL_PREFIX + "/"):
            action = self.server.faults.take_connection_fault(self.command, path)
        if action is None:
            super().run_wsgi()
            return
        if action == "reset-after":
            self._run_and_discard()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
        self._reset()

    def _run_and_discard(self) -> None:
        """Let the app process the request fully, then drop its answer on the floor."""

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
            return lambda data: None

        result = self.server.app(self.make_environ(), start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _reset(self) -> None:
        # Linger 0 turns the close into an RST instead of an orderly FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.mark_for_reset(self.connection)
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path, code)


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(
        self, host: str, port: int, app: WSGIApp, faults: FaultState, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.faults = faults
        self._resets: set[int] = set()
        self._resets_lock = threading.Lock()
        super().__init__(host, port, app, handler=_FaultAwareHandler, ssl_context=ssl_context)

    def mark_for_reset(self, connection: socket.socket) -> None:
        with self._resets_lock:
            self._resets.add(id(connection))

    def shutdown_request(self, request: Any) -> None:
        with self._resets_lock:
            reset = id(request) in self._resets
            self._resets.discard(id(request))
        if reset:
            # No shutdown(SHUT_WR) first: that would send a FIN before the RST.
            self.close_request(request)
        else:
            super().shutdown_request(request)


def _only_control(app: WSGIApp) -> WSGIApp:
    """The control port serves /_emulator/ only."""

    def control_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(CONTROL_PREFIX + "/"):
            return app(environ, start_response)
        start_response("404 NOT FOUND", [("Content-Type", "application/json")])
        return [b'{"error":{"code":"404","message":"The control port serves /_emulator/ only."}}']

    return control_app


class Listener:
    """One port: opened, closed (an outage that refuses connections) and reopened on the same port."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApp,
        faults: FaultState,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.app, self.faults, self.ssl_context = host, port, app, faults, ssl_context
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._server is not None

    def open(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            self._server = self._bind()
            self.port = self._server.server_address[1]
            server = self._server
            # A short poll interval keeps close() (an outage, a stop) quick.
            self._thread = threading.Thread(
                target=lambda: server.serve_forever(poll_interval=0.05),
                name=f"serve-{self.port}",
                daemon=True,
            )
            self._thread.start()

    def _bind(self) -> _Server:
        # Reopening right after a close can meet the old socket still in TIME_WAIT/closing: retry briefly.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                return _Server(self.host, self.port, self.app, self.faults, self.ssl_context)
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


class EmulatorServer:
    """The service port plus the optional control port, wired to the app's fault state."""

    def __init__(
        self,
        app: WSGIApp,
        faults: FaultState,
        *,
        host: str,
        port: int,
        control_port: int | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        context = None
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
        self.service = Listener(host, port, app, faults, context)
        self.control = Listener(host, control_port, _only_control(app), faults) if control_port else None
        faults.on_outage_change(self._on_outage)

    def _on_outage(self, mode: str | None) -> None:
        # Closing synchronously is safe from a request thread: serve_forever runs in its own thread and
        # handler threads are daemons that server_close() does not join. So a clear that follows at
        # once finds the port free again.
        if mode == "refuse":
            self.service.close()
        elif not self.service.is_open:
            self.service.open()

    def start(self) -> None:
        self.service.open()
        if self.control is not None:
            self.control.open()

    def stop(self) -> None:
        self.service.close()
        if self.control is not None:
            self.control.close()

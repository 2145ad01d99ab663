"""What both fake providers share: an HTTP/1.1 server in a thread that can go down.

Like the real APIs, it keeps connections alive, so clients reuse them as they would in
production. Going down closes the port and every open connection: a client then sees its
connection drop and new ones refused, as when a provider is unreachable.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, to close them all."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class FakeServer:
    """Start, go down, come up, stop; subclasses give the handler and their name."""

    name = "fake"

    def __init__(self) -> None:
        self.port = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    @property
    def url(self) -> str:
        """The base URL to point the client at."""
        return f"http://127.0.0.1:{self.port}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this fake."""
        raise NotImplementedError

    def start(self) -> None:
        """Listen (on a new random port the first time, on the same port after)."""
        self._server = _Server(("127.0.0.1", self.port), self.handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            # A short poll so that stopping (after every test) takes milliseconds.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=self.name,
            daemon=True,
        )
        self._thread.start()

    def go_down(self, seconds: float | None = None) -> None:
        """Close the port and drop connections until come_up(), or for `seconds`."""
        self._close_server()
        if seconds is not None:
            self._timer = threading.Timer(seconds, self.come_up)
            self._timer.daemon = True
            self._timer.start()

    def come_up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            self.start()

    def stop(self) -> None:
        """Stop listening, drop connections, and wake anything waiting in a handler."""
        self._stopping.set()
        self._on_stop()
        if self._timer is not None:
            self._timer.cancel()
        self._close_server()

    def _on_stop(self) -> None:
        """Wake what a subclass's handlers wait on (a long poll…)."""

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.drop_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as the real APIs (every answer has a Content-Length)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK (40 ms on Linux) once the connection is reused.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is for the tests."""

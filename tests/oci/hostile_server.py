"""A hostile registry for tests: a small threaded HTTP server on loopback whose routes misbehave.

    with HostileServer() as srv:
        srv.route("GET", "/v2/app/manifests/1", lambda h: h.trickle(b"HTTP/1.1 200 OK\\r\\n..."))
        ...

Routes are functions of the request handler; `Handler.reply` sends a normal answer and the raw
`wfile` is there for answers no honest server sends (trickled headers, endless bodies). Every
request is recorded (method, path, headers) so a test can prove what a server did NOT receive.
Misbehaviour is bounded (`MAX_MISBEHAVIOUR` seconds) so that a client without the protection
under test fails its assertions instead of hanging the suite; how long a client listened is
measured on the server side, so a loaded machine does not make the timing assertions flaky.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_MISBEHAVIOUR = 8.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _dispatch(self) -> None:
        hostile = self.server.hostile
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 64 << 20)) if length else b""
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        hostile.requests.append(seen)
        path = self.path.split("?", 1)[0]
        fn = hostile.routes.get((self.command, path)) or hostile.routes.get((self.command, "*"))
        try:
            if fn is None:
                self.reply(404, b'{"errors":[{"code":"NOT_FOUND","message":"nothing here"}]}')
            else:
                fn(self)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _dispatch

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        hdrs = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
        for key, value in hdrs.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def trickle(self, data: bytes, every: float = 0.25) -> None:
        """Send `data` one byte at a time, until MAX_MISBEHAVIOUR has passed or the client hangs up;
        records for how long the client listened (`HostileServer.trickled`)."""
        start = time.monotonic()
        try:
            for byte in data:
                if time.monotonic() - start > MAX_MISBEHAVIOUR or self.server.hostile.stopping.is_set():
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(every)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.server.hostile.trickled.append(time.monotonic() - start)
            self.close_connection = True

    def endless(self, head: bytes, chunk: bytes = b"\0" * 65536, limit: int = 1 << 31) -> None:
        """Raw status line and headers, then `chunk` again and again; counts what was sent."""
        self.wfile.write(head)
        start = time.monotonic()
        sent = 0
        try:
            while sent < limit and time.monotonic() - start < MAX_MISBEHAVIOUR:
                if self.server.hostile.stopping.is_set():
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
        finally:
            self.server.hostile.sent_bytes += sent
            self.server.hostile.endless_done.set()
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a hostile answer is the point, not an error


@dataclass
class HostileServer:
    """One hostile registry on `bind` (127.0.0.1, or another loopback address like 127.0.0.2)."""

    bind: str = "127.0.0.1"
    routes: dict[tuple[str, str], Callable[[Handler], None]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    sent_bytes: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    endless_done: threading.Event = field(default_factory=threading.Event)
    trickled: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = _Server((self.bind, 0), Handler)
        self._server.hostile = self
        self.port = self._server.server_address[1]
        self.host = f"{self.bind}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def route(self, method: str, path: str, fn: Callable[[Handler], None]) -> None:
        self.routes[(method, path)] = fn

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

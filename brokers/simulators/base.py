"""A tiny HTTP server for broker protocol simulators, run on loopback in a thread.

Each simulator subclasses `SimulatorApp`, registers routes with `@route(METHOD, pattern)`,
and answers with `Reply`. Faults can be queued for the next requests (a 5xx, a 429, a delay
longer than the client's timeout) so that tests see a broker misbehave over real HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, default=str).encode()


@dataclass
class Fault:
    """What the next matching request gets instead of its normal answer."""

    status: int | None = None
    body: Any = None
    delay: float = 0.0
    path_prefix: str = ""


Handler = Callable[[Request], Reply]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Marks a method as the handler of METHOD requests whose path matches `pattern`
    (`{name}` captures one path segment)."""

    def mark(function: Handler) -> Handler:
        function._route = (method, pattern)  # type: ignore[attr-defined]
        return function

    return mark


class SimulatorApp:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: deque[Fault] = deque()
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        # Routes are the marked methods of the class and its bases (subclass definitions win).
        marked = {name: item for cls in reversed(type(self).__mro__) for name, item in vars(cls).items()}
        for name, item in marked.items():
            spec = getattr(item, "_route", None)
            if spec:
                handler = getattr(self, name)
                method, pattern = spec
                regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
                self._routes.append((method, re.compile(regex), handler))
        # Longer patterns first, so `/orders/{variety}/{order_id}` wins over `/orders/{id}`.
        self._routes.sort(key=lambda item: -len(item[1].pattern))

    def inject(self, fault: Fault, times: int = 1) -> None:
        with self.lock:
            self.faults.extend([fault] * times)

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    self.faults.remove(fault)
                    return fault
        return None

    def fault_reply(self, fault: Fault) -> Reply:
        """How this broker answers an injected error status; simulators override it."""
        return Reply(status=fault.status or 500, body=fault.body or {"error": "simulated failure"})

    def not_found(self, request: Request) -> Reply:
        return Reply(status=404, body={"error": f"no route {request.method} {request.path}"})

    def dispatch(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                return self.fault_reply(fault)
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if method == request.method and match:
                request.params = match.groupdict()
                return handler(request)
        return self.not_found(request)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Without this, Nagle's algorithm and delayed ACKs add ~40 ms to each kept-alive request.
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        reply = self.server.app.dispatch(request)
        payload = reply.encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout fault); nothing to answer

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read app.requests
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: SimulatorApp, host: str, port: int) -> None:
        self.app = app
        super().__init__((host, port), _RequestHandler)


class SimulatorServer:
    """Serves a SimulatorApp on 127.0.0.1 in a background thread (`with` starts and stops it)."""

    def __init__(self, app: SimulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server(app, host, port)
        # A short poll interval makes stop() quick; tests start and stop servers often.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

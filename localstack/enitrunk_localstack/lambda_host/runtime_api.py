"""A Lambda Runtime API server for one execution environment (one `bootstrap` process).

Implements the runtime side of https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html:
`GET /2018-06-01/runtime/invocation/next` (long poll), `POST .../invocation/{id}/response`,
`POST .../invocation/{id}/error` and `POST .../init/error`. No LocalStack imports: the executor
feeds it invocations and gets results back through `Future`s, and tests drive it directly.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    invoked_function_arn: str
    trace_id: str
    deadline_ms: int
    result: Future = field(default_factory=Future)


@dataclass
class Result:
    payload: bytes
    is_error: bool
    error_type: str | None = None


class RuntimeApiServer:
    """Serves one runtime. `ready` is set when the runtime first asks for work (end of init), at
    `ready_at` (`time.monotonic()`)."""

    def __init__(self) -> None:
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self._in_flight: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.ready_at: float | None = None
        self.init_error: Future = Future()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="lambda-runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def shutdown(self) -> None:
        # Wake a long-polling /next so its thread can end, then stop serving.
        self._pending.put(None)
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for inv in self._in_flight.values():
                if not inv.result.done():
                    inv.result.cancel()
            self._in_flight.clear()

    def submit(self, invocation: Invocation) -> Future:
        with self._lock:
            self._in_flight[invocation.request_id] = invocation
        self._pending.put(invocation)
        return invocation.result

    def forget(self, request_id: str) -> None:
        with self._lock:
            self._in_flight.pop(request_id, None)

    # --------------------------------------------------------------------------------- handler

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keep-alive: runtime clients (e.g. the Rust lambda_runtime) reuse connections.
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # request lines carry nothing worth keeping
                LOG.debug("runtime api: " + fmt, *args)

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The runtime was killed while it waited on /next (timeout, shutdown).
                    self.close_connection = True

            def _json(self, status: int, obj: dict):
                self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._json(404, {"errorMessage": "not found", "errorType": "NotFound"})
                if server.ready_at is None:
                    server.ready_at = time.monotonic()
                server.ready.set()
                inv = server._pending.get()
                if inv is None:  # shutting down
                    server._pending.put(None)
                    return self._json(500, {"errorMessage": "runtime is shutting down", "errorType": "Shutdown"})
                self._send(
                    200,
                    inv.payload,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_function_arn,
                        "Lambda-Runtime-Trace-Id": inv.trace_id,
                    },
                )

            def do_POST(self):
                body = self._body()
                path = self.path
                if path == f"{PREFIX}/init/error":
                    if not server.init_error.done():
                        server.init_error.set_result(
                            Result(body, True, self.headers.get("Lambda-Runtime-Function-Error-Type"))
                        )
                    return self._json(202, {"status": "OK"})
                parts = path[len(PREFIX) :].strip("/").split("/") if path.startswith(PREFIX) else []
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with server._lock:
                        inv = server._in_flight.pop(parts[1], None)
                    if inv is None or inv.result.done():
                        return self._json(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
                    error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                    inv.result.set_result(Result(body, parts[2] == "error", error_type))
                    return self._json(202, {"status": "OK"})
                return self._json(404, {"errorMessage": "not found", "errorType": "NotFound"})

        return Handler


def deadline_ms(timeout_s: float) -> int:
    return int((time.time() + timeout_s) * 1000)

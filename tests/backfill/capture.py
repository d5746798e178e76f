"""A real HTTP receiver for tests: records every request, answers from a script of statuses.

Script items are `(status, headers)` or `(status, headers, delay_seconds)`; status `CLOSE`
drops the connection after reading the request, without answering. `refuse(series)` may return
a message to answer 400 with (a receiver refusing some series), or "" to accept.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import snappy
from flowkeeper.backfill import remote_pb2

CLOSE = 0


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0  # the sender's side of the connection: equal ports, one connection

    def write_request(self) -> remote_pb2.WriteRequest:
        return remote_pb2.WriteRequest.FromString(snappy.uncompress(self.body))

    def series(self) -> list[dict[str, str]]:
        return [{lb.name: lb.value for lb in ts.labels} for ts in self.write_request().timeseries]


@dataclass
class CaptureReceiver:
    """`script`: (status, headers[, delay]) answered in order; once used up, 204 for every
    request (or 400 when `refuse` finds a series it refuses)."""

    script: list[tuple] = field(default_factory=list)
    requests: list[Captured] = field(default_factory=list)
    refuse: Callable[[list[dict[str, str]]], str] | None = None
    url: str = ""

    def all_series(self) -> list[dict[str, str]]:
        return [series for request in self.requests for series in request.series()]

    def summary_value(self, name: str, **labels: str) -> float | None:
        """The value of one run-summary series (the last request is the summary)."""
        for series in self.requests[-1].write_request().timeseries:
            found = {lb.name: lb.value for lb in series.labels}
            if "shard" not in labels:  # on every run series; asserted in test_shards_run.py
                found.pop("shard", None)
            if found.pop("__name__") == name and found == labels:
                return float(series.samples[0].value)
        return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-request (what some tests do on purpose) is not news."""


@contextmanager
def capturing(receiver: CaptureReceiver) -> Iterator[CaptureReceiver]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            captured = Captured(
                "POST", self.path, dict(self.headers.items()), body, self.client_address[1]
            )
            with lock:
                receiver.requests.append(captured)
                item = receiver.script.pop(0) if receiver.script else (204, {})
            status, headers, delay = (*item, 0.0)[:3]
            if delay:
                time.sleep(delay)
            if status == CLOSE:
                self.close_connection = True
                self.connection.close()
                return
            message = receiver.refuse(captured.series()) if receiver.refuse else ""
            if message and status < 300:
                status = 400
            payload = (message or "injected").encode() if status >= 300 else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    httpd = _QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v1/write"
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()

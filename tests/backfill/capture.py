"""A real HTTP receiver for tests: records every request, answers from a script of statuses."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cramjam
from flowkeeper.backfill import remote_pb2


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def write_request(self) -> remote_pb2.WriteRequest:
        return remote_pb2.WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(self.body)))

    def series(self) -> list[dict[str, str]]:
        return [{lb.name: lb.value for lb in ts.labels} for ts in self.write_request().timeseries]


@dataclass
class CaptureReceiver:
    """`script`: (status, headers) answered in order; once used up, 204 for every request."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Captured] = field(default_factory=list)
    url: str = ""

    def all_series(self) -> list[dict[str, str]]:
        return [series for request in self.requests for series in request.series()]


@contextmanager
def capturing(receiver: CaptureReceiver) -> Iterator[CaptureReceiver]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                receiver.requests.append(
                    Captured("POST", self.path, dict(self.headers.items()), body)
                )
                status, headers = receiver.script.pop(0) if receiver.script else (204, {})
            payload = b"injected" if status >= 300 else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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

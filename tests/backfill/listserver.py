"""A paginating Kubernetes LIST server for the backfill's tests and benchmark.

Real HTTP (kmock does not paginate): honours `limit` and `continue`, answers
`PartialObjectMetadataList` when the Accept header asks for it (a full list otherwise), and can
inject a 410 Gone on a continue request and 5xx/429 answers. Objects are either given
explicitly or generated from their index on the fly, so a million of them cost no memory.

Standalone (the benchmark runs it in its own process, with the repo root on sys.path):
    python -m tests.backfill.listserver --objects pods=1000000 [--shape realistic] [--port 0]
prints the port on its first line, then serves until killed.
"""

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.backfill.podshape import realistic_pod

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Where a real API server serves each kind (written out here, not taken from the product).
API_PATHS = {
    "namespaces": ("/api/v1", False),
    "pods": ("/api/v1", True),
    "nodes": ("/api/v1", False),
    "services": ("/api/v1", True),
    "persistentvolumeclaims": ("/api/v1", True),
    "persistentvolumes": ("/api/v1", False),
    "deployments": ("/apis/apps/v1", True),
    "statefulsets": ("/apis/apps/v1", True),
    "daemonsets": ("/apis/apps/v1", True),
    "replicasets": ("/apis/apps/v1", True),
    "jobs": ("/apis/batch/v1", True),
    "cronjobs": ("/apis/batch/v1", True),
    "ingresses": ("/apis/networking.k8s.io/v1", True),
}
ROUTES = {f"{prefix}/{plural}": plural for plural, (prefix, _) in API_PATHS.items()}


def generated(plural: str, index: int) -> dict[str, Any]:
    """The metadata of object `index` of a generated kind (deterministic)."""
    singular = plural.removesuffix("es") if plural.endswith("sses") else plural.removesuffix("s")
    metadata: dict[str, Any] = {
        "name": f"{singular}-{index:07d}",
        "uid": f"00000000-0000-4000-8000-{index:012d}",
        "resourceVersion": str(1000 + index),
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "labels": {
            "app": f"app-{index % 7}",
            "app.kubernetes.io/name": "web",
            "team": ("core", "edge", "data")[index % 3],
            "pod-template-hash": f"{index % 4096:x}",
        },
        "annotations": {
            "example.com/owner": f"owner-{index % 5}",
            LAST_APPLIED: json.dumps({"kind": plural, "metadata": {"name": f"x-{index}"}}),
        },
    }
    if API_PATHS[plural][1]:
        metadata["namespace"] = f"ns-{index % 20}"
    if index % 10 == 0:
        metadata["labels"]["canary"] = ""
    return metadata


@dataclass
class Faults:
    """Answers to inject. `gone[kind] = n`: the continue request for page n (0-based) of the
    kind gets 410 Gone, once. `errors[kind]`: (status, Retry-After) answered instead of
    serving, in order, once `after[kind]` requests of the kind were served normally.
    `delays[kind]`: seconds to wait before answering each request of the kind, in order (a
    page that never answers in time)."""

    gone: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    delays: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class ListServer:
    counts: dict[str, int] = field(default_factory=dict)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    # "small": `generated()` (about 600 bytes of metadata); "realistic": `podshape`'s pods.
    shape: str = "small"
    record: bool = True
    token: str = ""  # when set, requests must carry `Authorization: Bearer <token>` (else 401)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self, plural: str) -> int:
        if plural in self.objects:
            return len(self.objects[plural])
        return self.counts.get(plural, 0)

    def item(self, plural: str, index: int) -> dict[str, Any]:
        if plural in self.objects:
            return self.objects[plural][index]
        return generated(plural, index)

    def answer(self, path: str, query: str, accept: str) -> tuple[int, dict[str, str], bytes]:
        plural = ROUTES.get(path)
        params = {k: v[0] for k, v in parse_qs(query).items()}
        with self.lock:
            if self.record:
                self.requests.append({"path": path, "params": params, "accept": accept})
            if plural is None or (plural not in self.counts and plural not in self.objects):
                return _status(404, "NotFound", f"the server could not find {path}")
            delays = self.faults.delays.get(plural)
            delay = delays.pop(0) if delays else 0.0
            served = self.faults.after.get(plural, 0)
            if served:
                self.faults.after[plural] = served - 1
            queued = None if served else self.faults.errors.get(plural)
            if queued:
                status, retry_after = queued.pop(0)
                headers = {"Retry-After": retry_after} if retry_after else {}
                return _status(status, _REASONS.get(status, "InternalError"), "injected", headers)
            offset, page = _decode(params.get("continue", ""))
            if params.get("continue") and self.faults.gone.get(plural) == page:
                del self.faults.gone[plural]
                return _status(410, "Expired", "The provided continue parameter is too old")
        if delay:
            time.sleep(delay)
        limit = int(params.get("limit", "0")) or self.total(plural)
        end = min(offset + limit, self.total(plural))
        partial = "as=PartialObjectMetadataList" in accept
        metadata: dict[str, str] = {"resourceVersion": "12345"}
        if end < self.total(plural):
            metadata["continue"] = _encode(end, page + 1)
        head = {
            "kind": "PartialObjectMetadataList" if partial else "List",
            "apiVersion": "meta.k8s.io/v1" if partial else "v1",
            "metadata": metadata,
        }
        items = b",".join(self._item_json(plural, i, partial) for i in range(offset, end))
        head_json = json.dumps(head, separators=(",", ":")).encode()
        return 200, {}, head_json[:-1] + b',"items":[' + items + b"]}"

    def _item_json(self, plural: str, index: int, partial: bool) -> bytes:
        if self.shape == "realistic" and plural not in self.objects:
            return realistic_pod(index, partial)
        item = self._wrap(self.item(plural, index), partial)
        return json.dumps(item, separators=(",", ":")).encode()

    @staticmethod
    def _wrap(metadata: dict[str, Any], partial: bool) -> dict[str, Any]:
        if partial:
            return {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
            }
        return {"metadata": metadata, "spec": {"note": "full object, not asked as metadata"}}


_REASONS = {403: "Forbidden", 429: "TooManyRequests"}


def _encode(offset: int, page: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, page]).encode()).decode()


def _decode(token: str) -> tuple[int, int]:
    if not token:
        return 0, 0
    offset, page = json.loads(base64.urlsafe_b64decode(token))
    return int(offset), int(page)


def _status(
    code: int, reason: str, message: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return code, headers or {}, json.dumps(body).encode()


def _handler(server: ListServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                status, headers, body = _status(401, "Unauthorized", "Unauthorized")
            else:
                status, headers, body = server.answer(
                    url.path, url.query, self.headers.get("Accept", "")
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests assert on what was requested, not on logs."""

    return Handler


@contextmanager
def serving(server: ListServer) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def main(argv: list[str] | None = None, ready: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(prog="listserver")
    parser.add_argument("--objects", action="append", default=[], help="KIND=COUNT (repeatable)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--shape", choices=("small", "realistic"), default="small")
    args = parser.parse_args(argv)
    counts = {k: int(v) for k, _, v in (item.partition("=") for item in args.objects)}
    server = ListServer(counts=counts, shape=args.shape, record=False)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(server))
    httpd.daemon_threads = True
    ready(str(httpd.server_address[1]))
    sys.stdout.flush()
    httpd.serve_forever()


if __name__ == "__main__":
    main()

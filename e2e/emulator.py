"""Emulated Kubernetes API for tests and the demo: one server, realistic where a controller
notices (the rules live in ``e2e/apiserver/``; e2e/README.md lists them and the gaps).

Use it with pytest (fixtures ``k8s`` and ``kubeconfig``) or without (``serve()``, the demo).
"""

import asyncio
import contextlib
import json
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest
import pytest_asyncio

from e2e.apiserver.faults import Fault
from e2e.apiserver.resources import RESOURCES
from e2e.apiserver.server import TEST_AGENT, VERBS, WRITE_VERBS, Emulator
from e2e.apiserver.services import LB_CLEANUP_FINALIZER
from e2e.local import write_kubeconfig


@contextlib.asynccontextmanager
async def serve(
    *, kubeconfig: Path | None = None, port: int | None = None, **options: Any
) -> AsyncIterator[Emulator]:
    """Run the emulator on 127.0.0.1 (a free port unless given) until the block ends.

    A kubeconfig pointing at it is written to ``kubeconfig`` (or a temporary file) and kept in
    ``emulator.kubeconfig``; set $KUBECONFIG to it before starting clients. ``options`` go to
    ``Emulator`` (``gc_delay``, ``lb_cleanup_delay``, ``crd_files``: the CRDs installed at
    start, crds/flowcollector.yaml by default, ``()`` for none).
    """
    with tempfile.TemporaryDirectory(prefix="flowkeeper-emulator-") as scratch:
        async with Emulator(**options) as emulator, kmock.Server(emulator, port=port) as server:
            emulator.url = f"http://{server.host}:{server.port}"
            emulator.kubeconfig = write_kubeconfig(
                kubeconfig or Path(scratch) / "kubeconfig", emulator.url
            )
            try:
                yield emulator
            finally:
                emulator.api.close()  # ends the watch streams, so the server stops at once


def request(url: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    """One blocking request as the tests' own client (``TEST_AGENT``), JSON in and out: the
    status and the decoded answer, errors included. ``Accept="..."`` style keywords become
    headers (``_`` -> ``-``). Call it off the emulator's event loop (``running()``)."""
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(url + path, data=data, method=method)
    sent.add_header("User-Agent", TEST_AGENT)
    sent.add_header("Content-Type", "application/json")
    for key, value in headers.items():
        sent.add_header(key.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Background:
    """An emulator served from a thread of its own, for synchronous callers (real kubectl and
    Helm run as blocking calls): ``call(coro)`` runs a coroutine on the emulator's loop."""

    def __init__(
        self, emulator: Emulator, loop: asyncio.AbstractEventLoop, stop: asyncio.Event
    ) -> None:
        self.emulator = emulator
        self.loop = loop
        self.stop = stop

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextlib.contextmanager
def running(*, kubeconfig: Path | None = None, **options: Any) -> Iterator[Background]:
    """``serve()`` on a background thread until the block ends."""
    ready: list[Background] = []
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        stop = asyncio.Event()
        try:
            async with serve(kubeconfig=kubeconfig, **options) as emulator:
                ready.append(Background(emulator, asyncio.get_running_loop(), stop))
                started.set()
                await stop.wait()
        except Exception as error:  # noqa: BLE001 - reported to the caller's thread
            failure.append(error)
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="emulator", daemon=True)
    thread.start()
    started.wait(30)
    if failure or not ready:
        raise RuntimeError("the emulator did not start") from (failure[0] if failure else None)
    background = ready[0]
    try:
        yield background
    finally:
        background.loop.call_soon_threadsafe(background.stop.set)
        thread.join(30)


@pytest_asyncio.fixture()
async def k8s(tmp_path: Path) -> AsyncIterator[Emulator]:
    """A fresh emulated API server for one test (garbage collection after 0.5 s)."""
    async with serve(
        kubeconfig=tmp_path / "kubeconfig", gc_delay=0.5, lb_cleanup_delay=0.5
    ) as emulator:
        yield emulator


@pytest.fixture
def kubeconfig(k8s: Emulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a kubeconfig for ``k8s``; also exported as $KUBECONFIG for the test."""
    assert k8s.kubeconfig is not None
    monkeypatch.setenv("KUBECONFIG", str(k8s.kubeconfig))
    return k8s.kubeconfig


__all__ = [
    "LB_CLEANUP_FINALIZER",
    "RESOURCES",
    "TEST_AGENT",
    "VERBS",
    "WRITE_VERBS",
    "Background",
    "Emulator",
    "Fault",
    "k8s",
    "kubeconfig",
    "request",
    "running",
    "serve",
]

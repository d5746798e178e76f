"""Fixtures of the operator tests: an API client on the emulator, and the running operator.

``operator`` resyncs every second; a test wanting another period parametrizes it
indirectly: ``@pytest.mark.parametrize("operator", [300.0], indirect=True)``.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import Api, connect
from e2e.emulator import Emulator
from tests.operator.harness import RESYNC_SECONDS, Operator, Request
from tests.operator.replicas import LEASE_NAMESPACE


@pytest.fixture
async def api(k8s: Emulator) -> AsyncIterator[Api]:
    assert k8s.kubeconfig is not None
    async with connect(k8s.kubeconfig) as client:
        yield client


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """(User-Agent, method, path, query) of every request the emulator serves."""
    seen: list[Request] = []
    handle = Emulator._handle

    async def spy(self: Emulator, request: Any) -> Any:
        agent = request.headers.get("User-Agent", "")
        seen.append((agent, str(request.method), request.url.path, dict(request.params)))
        return await handle(self, request)

    monkeypatch.setattr(Emulator, "_handle", spy)
    return seen


@pytest.fixture
async def namespaces(api: Api) -> None:
    """The FlowCollectors' namespace, and the one of the leader Lease."""
    for name in ("netflow", LEASE_NAMESPACE):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        await api.create("/api/v1/namespaces", body)


@pytest.fixture
async def operator(kubeconfig: Path, request: pytest.FixtureRequest) -> AsyncIterator[Operator]:
    running = Operator(getattr(request, "param", RESYNC_SECONDS))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()

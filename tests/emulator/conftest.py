"""A raw HTTP client for the emulator's own tests: every answer, errors included."""

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from e2e import cluster
from e2e.emulator import TEST_AGENT, Emulator

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
DS = cluster.DAEMONSETS.format(ns="ns")
SVC = cluster.SERVICES.format(ns="ns")
CM = cluster.CONFIGMAPS.format(ns="ns")
FC = cluster.FC.format(ns="ns")
LEASES = "/apis/coordination.k8s.io/v1/namespaces/ns/leases"


class Http:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type}
        async with self.session.request(method, path, data=data, headers=headers) as response:
            text = await response.text()
            self.headers = response.headers
            return response.status, json.loads(text) if text else None

    async def ok(self, method: str, path: str, body: Any = None, content_type: str = MERGE) -> Any:
        status, answer = await self.call(method, path, body, content_type)
        assert 200 <= status < 300, (status, answer)
        return answer

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.ok("POST", path, body, "application/json"))

    async def get(self, path: str) -> dict[str, Any]:
        return dict(await self.ok("GET", path))

    async def patch(self, path: str, body: Any, content_type: str = MERGE) -> dict[str, Any]:
        return dict(await self.ok("PATCH", path, body, content_type))


@pytest.fixture
async def http(k8s: Emulator) -> AsyncIterator[Http]:
    headers = {"User-Agent": TEST_AGENT}
    async with aiohttp.ClientSession(k8s.url, headers=headers) as session:
        yield Http(session)


def daemonset(name: str = "d", **pod_spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "registry.example.com/collector:1.0"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **pod_spec},
            },
        },
    }


def service(name: str = "s", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "x"}, "ports": [{"name": "p", "port": 2055}], **spec},
    }


def flowcollector(name: str = "fc", **spec: Any) -> dict[str, Any]:
    """The smallest FlowCollector its CRD's schema accepts (plus ``spec`` fields)."""
    return {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1",
        "kind": "FlowCollector",
        "metadata": {"name": name},
        "spec": {
            "image": "registry.example.com/collector:1.0",
            "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
            "nats": {"url": "nats://nats:4222"},
            **spec,
        },
    }

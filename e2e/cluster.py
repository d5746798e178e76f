"""What a cluster does that the emulated API server does not, for the demo and e2e tests.

A real cluster has a DaemonSet controller (pods scheduled and ready, status written back) and a
cloud load-balancer controller (Service ingress addresses). Against the emulator, the harness
plays both parts; against a real cluster (``E2E_KUBECONFIG``), it leaves them to the cluster.
"""

import asyncio
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from e2e.apiserver import resources
from e2e.local import free_port

FC = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/{ns}/flowcollectors"
NAMESPACES = "/api/v1/namespaces"
NODES = "/api/v1/nodes"
PODS = "/api/v1/namespaces/{ns}/pods"
SERVICES = "/api/v1/namespaces/{ns}/services"
CONFIGMAPS = "/api/v1/namespaces/{ns}/configmaps"
DAEMONSETS = "/apis/apps/v1/namespaces/{ns}/daemonsets"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"
ALL_DAEMONSETS = "/apis/apps/v1/daemonsets"
ALL_SERVICES = "/api/v1/services"
# Documentation range (RFC 5737): never a real load balancer.
LOAD_BALANCER_IP = "203.0.113.10"
HARNESS_AGENT = "flowkeeper-tests"


class Api:
    """A small async client over the emulator's (or a cluster's) HTTP API."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def get(self, path: str) -> dict[str, Any] | None:
        async with self.session.get(path) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return dict(await response.json())

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(path, json=body) as response:
            if response.status >= 400:
                raise RuntimeError(f"POST {path}: {response.status} {await response.text()}")
            return dict(await response.json())

    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/merge-patch+json"}
        async with self.session.patch(path, json=body, headers=headers) as response:
            response.raise_for_status()
            return dict(await response.json())

    async def delete(self, path: str) -> None:
        async with self.session.delete(path) as response:
            if response.status != 404:
                response.raise_for_status()

    async def items(self, path: str) -> list[dict[str, Any]]:
        listed = await self.get(path)
        return list(listed["items"]) if listed else []


@asynccontextmanager
async def connect(kubeconfig: Path) -> AsyncIterator[Api]:
    """An Api for the cluster a kubeconfig points at (the emulator's, or a real one's)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    headers = {"User-Agent": HARNESS_AGENT}
    headers |= {v["key"]: v["value"] for v in configuration.auth_settings().values() if v["value"]}
    tls: ssl.SSLContext | bool = False
    if configuration.host.startswith("https"):
        tls = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            tls.load_cert_chain(configuration.cert_file, configuration.key_file)
        if not configuration.verify_ssl:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
    connector = aiohttp.TCPConnector(ssl=tls)
    async with aiohttp.ClientSession(
        configuration.host, headers=headers, connector=connector
    ) as session:
        yield Api(session)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Retry ``check`` until it stops failing its assertions, or re-raise its last failure."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


@asynccontextmanager
async def operator_process(
    kubeconfig: Path, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The real `flowkeeper-operator` watching all namespaces, stopped with SIGTERM."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            Path(sys.executable).parent / "flowkeeper-operator",
            "--all-namespaces",
            f"--liveness-port={free_port()}",
            f"--metrics-port={free_port()}",
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def run_backfill(
    kubeconfig: Path, *args: str, on_line: Callable[[str], None] = lambda _: None
) -> tuple[int, list[str]]:
    """Run the real `flowkeeper-backfill`; returns its exit code and output lines."""
    process = await asyncio.create_subprocess_exec(
        Path(sys.executable).parent / "flowkeeper-backfill",
        f"--kubeconfig={kubeconfig}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines = []
    async for raw in process.stdout:
        lines.append(raw.decode().rstrip())
        on_line(lines[-1])
    return await process.wait(), lines


def rolled_out_status(
    daemonset: dict[str, Any], nodes: int, ready: int | None = None
) -> dict[str, Any]:
    """The status the DaemonSet controller writes once every pod runs the current template
    (``ready`` of them ready; all by default)."""
    ready = nodes if ready is None else ready
    return {
        "observedGeneration": daemonset["metadata"].get("generation", 1),
        "desiredNumberScheduled": nodes,
        "currentNumberScheduled": nodes,
        "updatedNumberScheduled": nodes,
        "numberReady": ready,
        "numberAvailable": ready,
        "numberMisscheduled": 0,
    }


async def play_controllers(api: Api, *, interval: float = 0.2) -> None:
    """Act as the DaemonSet and load-balancer controllers until cancelled."""
    while True:
        nodes = len(await api.items(NODES)) or 1
        for daemonset in await api.items(ALL_DAEMONSETS):
            status = rolled_out_status(daemonset, nodes)
            if any(daemonset.get("status", {}).get(k) != v for k, v in status.items()):
                meta = daemonset["metadata"]
                path = f"{DAEMONSETS.format(ns=meta['namespace'])}/{meta['name']}/status"
                await api.patch(path, {"status": status})
        for service in await api.items(ALL_SERVICES):
            lb = service.get("status", {}).get("loadBalancer", {})
            if service.get("spec", {}).get("type") == "LoadBalancer" and not lb.get("ingress"):
                meta = service["metadata"]
                path = f"{SERVICES.format(ns=meta['namespace'])}/{meta['name']}/status"
                ingress = {"loadBalancer": {"ingress": [{"ip": LOAD_BALANCER_IP}]}}
                await api.patch(path, {"status": ingress})
        await asyncio.sleep(interval)


def collection_path(obj: dict[str, Any]) -> str:
    """The URL an object is created at (``/api/v1/...``, ``/apis/<group>/<version>/...``), for
    the kinds the emulator serves (apiserver/resources.py; a real cluster serves them too)."""
    resource = resources.of_api_version(obj["apiVersion"], obj["kind"])
    if resource is None:
        raise LookupError(f"{obj['apiVersion']} {obj['kind']} is not served")
    root = "/api" if not resource.group else "/apis"
    namespace = obj["metadata"].get("namespace") if resource.namespaced else None
    middle = f"/namespaces/{namespace}" if namespace else ""
    return f"{root}/{resource.api_version}{middle}/{resource.plural}"


async def apply_all(api: Api, objects: list[dict[str, Any]]) -> None:
    """Create each object unless it exists (re-runs against a real cluster are harmless)."""
    for obj in objects:
        path = f"{collection_path(obj)}/{obj['metadata']['name']}"
        if await api.get(path) is None:
            await api.create(collection_path(obj), obj)

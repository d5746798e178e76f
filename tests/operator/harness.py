"""The real operator (kopf, in-process) against the emulated API server: shared harness.

The tests play the parts a cluster would: the DaemonSet controller (they write the DaemonSet
status), the cloud load balancer (the Service status), and a careless human (deletes and
edits). Waiting is always polling with a deadline; nothing is asserted after a fixed sleep.
"""

import asyncio
import contextlib
import copy
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from flowkeeper.operator import cli
from prometheus_client import REGISTRY

from e2e.cluster import Api, eventually, rolled_out_status
from e2e.emulator import Emulator

SAMPLES = Path(__file__).parent / "samples" / "good"
FC = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/{ns}/flowcollectors"
CM = "/api/v1/namespaces/{ns}/configmaps"
SVC = "/api/v1/namespaces/{ns}/services"
DS = "/apis/apps/v1/namespaces/{ns}/daemonsets"
DEPLOY = "/apis/apps/v1/namespaces/{ns}/deployments"
EVENTS = "/api/v1/namespaces/{ns}/events"
OPERATOR_AGENTS = ("kopf", "flowkeeper-operator")
RESYNC_SECONDS = 1.0
TIMEOUT = 20.0
Request = tuple[str, str, str, dict[str, str]]  # User-Agent, method, path, query (a spy's)


class Operator:
    """`flowkeeper-operator` minus the HTTP ports, in a thread with its own event loop.

    Its own loop, because kopf cancels every task of its loop that it did not start when it
    stops; the emulator and the test keep running in the test's loop.
    """

    def __init__(self, resync_seconds: float = RESYNC_SECONDS, scope: tuple[str, ...] = ("-A",)):
        self.thread: threading.Thread | None = None
        self.stop_flag = threading.Event()
        self.resync_seconds = resync_seconds
        self.scope = scope  # -A, or -n NS ...

    async def start(self) -> None:
        options = cli.parse_args(
            [*self.scope, "--liveness-port", "0", "--metrics-port", "0"],
            {"FLOWKEEPER_OPERATOR_RESYNC_SECONDS": str(self.resync_seconds)},
        )
        ready = threading.Event()
        self.stop_flag = threading.Event()
        main = cli.serve(options, stop_flag=self.stop_flag, ready_flag=ready)
        self.thread = threading.Thread(target=asyncio.run, args=(main,), name="operator")
        self.thread.start()
        assert await asyncio.to_thread(ready.wait, TIMEOUT)

    async def stop(self) -> None:
        if self.thread is not None:
            self.stop_flag.set()
            await asyncio.to_thread(self.thread.join, TIMEOUT)
            assert not self.thread.is_alive()
            self.thread = None


def sample(name: str = "full.yaml") -> dict[str, Any]:
    return dict(yaml.safe_load((SAMPLES / name).read_text()))


async def create_fc(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return await api.create(FC.format(ns=body["metadata"]["namespace"]), body)


async def fc_status(api: Api, ns: str, name: str) -> dict[str, Any]:
    fc = await api.get(f"{FC.format(ns=ns)}/{name}")
    assert fc is not None
    return dict(fc.get("status") or {})


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in status.get("conditions", []) if c["type"] == kind]
    assert found, status
    return dict(found[0])


async def children_of(api: Api, ns: str, name: str) -> dict[str, dict[str, Any] | None]:
    return {
        "configmap": await api.get(f"{CM.format(ns=ns)}/{name}-config"),
        "daemonset": await api.get(f"{DS.format(ns=ns)}/{name}"),
        "service": await api.get(f"{SVC.format(ns=ns)}/{name}"),
        "metrics": await api.get(f"{SVC.format(ns=ns)}/{name}-metrics"),
    }


async def settled(
    api: Api, ns: str, name: str, generation: int = 1, *, metrics: bool = True
) -> dict[str, Any]:
    """Wait until the operator has applied ``generation`` and written its status."""

    async def check() -> dict[str, Any]:
        status = await fc_status(api, ns, name)
        assert status.get("observedGeneration") == generation, status
        kids = await children_of(api, ns, name)
        if not metrics:
            assert kids.pop("metrics") is None, kids
        assert all(kids.values()), kids
        return status

    return dict(await eventually(check))


async def running(api: Api, k8s: Emulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a FlowCollector (the full sample by default), wait until its children and status
    are there and the operator has gone quiet; the FlowCollector as created."""
    body = body or sample()
    created = await create_fc(api, body)
    await settled(api, body["metadata"]["namespace"], body["metadata"]["name"])
    await quiet(k8s)
    return created


async def observed(api: Api, ns: str, name: str, generation: int) -> dict[str, Any]:
    """Wait until the operator has handled ``generation`` (applied or refused it)."""

    async def check() -> dict[str, Any]:
        status = await fc_status(api, ns, name)
        assert status.get("observedGeneration") == generation, status
        return status

    return dict(await eventually(check))


async def roll_out(api: Api, ns: str, name: str, *, nodes: int, ready: int) -> None:
    """Act as the DaemonSet controller: report the current template as rolled out."""
    daemonset = await api.get(f"{DS.format(ns=ns)}/{name}")
    assert daemonset is not None
    status = rolled_out_status(daemonset, nodes, ready)
    await api.patch(f"{DS.format(ns=ns)}/{name}/status", {"status": status})


async def events(api: Api, ns: str, reason: str) -> list[str]:
    return [e["message"] for e in await api.items(EVENTS.format(ns=ns)) if e["reason"] == reason]


async def expect_events(api: Api, reason: str, messages: list[str]) -> None:
    """kopf posts Events from a queue in the background, so they may land a moment later."""

    async def posted() -> None:
        assert sorted(await events(api, "netflow", reason)) == sorted(messages)

    await eventually(posted)


async def quiet(k8s: Emulator, seconds: float = 1.0) -> None:
    """Wait until the operator has made no write for ``seconds`` (the end of a burst)."""

    async def check() -> None:
        mark = k8s.mark()
        await asyncio.sleep(seconds)
        assert not k8s.calls(since=mark, writes=True), k8s.calls(since=mark, writes=True)

    await eventually(check)


def pod(daemonset: dict[str, Any] | None) -> dict[str, Any]:
    assert daemonset is not None
    return dict(daemonset["spec"]["template"]["spec"])


def container(daemonset: dict[str, Any] | None) -> dict[str, Any]:
    return dict(pod(daemonset)["containers"][0])


async def patch_spec(api: Api, ns: str, name: str, spec: dict[str, Any]) -> int:
    """Merge-patch a FlowCollector's spec (``None`` removes a field); its new generation."""
    patched = await api.patch(f"{FC.format(ns=ns)}/{name}", {"spec": spec})
    return int(patched["metadata"]["generation"])


def resyncs(result: str | None = None) -> float:
    """Resync reconciles made so far by the in-process operator (with ``result``, or all)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "flowkeeper_operator_reconciles"
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels.get("trigger") == "resync"
        and (result is None or sample.labels.get("result") == result)
    )


async def silently_delete(k8s: Emulator, *objects: tuple[str, str, str]) -> None:
    """Delete ``(plural, namespace, name)`` objects in the emulator's store without any watch
    event, as when a watch connection was down: only a resync can notice. All at once (no
    await in between), so no resync pass sees some deleted and others not."""
    store = k8s.api.store
    wanted = set(objects)
    found = [key for key in list(store.objects) if (key[0].plural, key[1], key[2]) in wanted]
    assert len(found) == len(wanted), (found, wanted)
    for key in found:
        gone = store.objects.pop(key)  # the store's own remove() would emit DELETED
        store.by_uid.pop(gone["metadata"]["uid"], None)


CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/flowcollectors.flows.flowkeeper.dev"


@contextlib.asynccontextmanager
async def crd_without(api: Api, *path: str) -> AsyncIterator[None]:
    """The FlowCollector CRD without the schema keyword at ``path`` (e.g. ``"spec",
    "listeners", "minItems"``) inside the block, as an older CRD might have lacked a rule: a
    FlowCollector written meanwhile stays stored, invalid, as on a real cluster (the API server
    validates writes only). The operator must still refuse it."""
    crd = await api.get(CRD)
    assert crd is not None
    versions = copy.deepcopy(crd["spec"]["versions"])
    node = versions[0]["schema"]["openAPIV3Schema"]
    for key in path[:-1]:
        node = node["properties"][key]
    removed = node.pop(path[-1])
    await api.patch(CRD, {"spec": {"versions": versions}})
    try:
        yield
    finally:
        node[path[-1]] = removed
        await api.patch(CRD, {"spec": {"versions": versions}})

"""Defect 3: an object under a child's name that the FlowCollector does not control is never
written, adopted or deleted; the FlowCollector reports NameConflict instead."""

import asyncio
import copy
from typing import Any

import pytest

from e2e.cluster import eventually
from tests.operator.harness import (
    CM,
    DS,
    EVENTS,
    FC,
    SVC,
    children_of,
    condition,
    create_fc,
    fc_status,
    quiet,
    sample,
    settled,
)

FOREIGN_LABELS = {"app": "someone-else"}
GC_DELAY = 0.5  # the k8s fixture's

# kind -> (collection, name taken, a foreign object's body)
FOREIGN: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ConfigMap": (CM, "core-config", {"data": {"mine": "yes"}}),
    "Service": (SVC, "core", {"spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}),
    "metrics Service": (SVC, "core-metrics", {"spec": {"ports": [{"port": 81}]}}),
    "DaemonSet": (
        DS,
        "core",
        {
            "spec": {
                "selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}},
            }
        },
    ),
}


def foreign_body(kind: str) -> tuple[str, dict[str, Any]]:
    path, name, extra = FOREIGN[kind]
    api_version = "apps/v1" if kind == "DaemonSet" else "v1"
    body = {
        "apiVersion": api_version,
        "kind": kind.rsplit(maxsplit=1)[-1],
        "metadata": {"name": name, "namespace": "netflow", "labels": FOREIGN_LABELS},
        **copy.deepcopy(extra),
    }
    return path.format(ns="netflow"), body


async def conflict(api, name: str = "core") -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        ready = condition(await fc_status(api, "netflow", name), "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "NameConflict"), ready
        return ready

    return dict(await eventually(check))


@pytest.mark.parametrize("kind", list(FOREIGN))
async def test_foreign_object_is_never_written_and_reported(api, k8s, operator, kind):
    path, body = foreign_body(kind)
    before = await api.create(path, body)
    await create_fc(api, sample())

    ready = await conflict(api)
    taken = f"{body['kind']} {body['metadata']['name']}"
    assert taken in ready["message"], ready

    async def warned() -> None:  # posted right after the status
        warnings = [
            e
            for e in await api.items(EVENTS.format(ns="netflow"))
            if e["reason"] == "NameConflict" and e["type"] == "Warning"
        ]
        assert [e["message"] for e in warnings] == [ready["message"]]

    await eventually(warned)
    await quiet(k8s)
    after = await api.get(f"{path}/{body['metadata']['name']}")
    assert after == before  # not one write: no patch, no ownerReference, no label
    # Nothing else was created either: a conflict writes nothing at all.
    assert [k for k, v in (await children_of(api, "netflow", "core")).items() if v] == [
        {"ConfigMap": "configmap", "Service": "service", "metrics Service": "metrics"}.get(
            kind, "daemonset"
        )
    ]

    # Once the owner of the name removes it, the FlowCollector gets its child (next resync).
    await api.delete(f"{path}/{body['metadata']['name']}")
    await settled(api, "netflow", "core")

    async def resolved() -> None:
        ready = condition(await fc_status(api, "netflow", "core"), "Ready")
        assert ready["reason"] != "NameConflict", ready

    await eventually(resolved)


async def test_colliding_flowcollectors_do_not_fight(api, k8s, operator):
    edge = sample("minimal.yaml")  # its metrics Service is edge-metrics
    await create_fc(api, edge)
    await settled(api, "netflow", "edge")
    service = await api.get(f"{SVC.format(ns='netflow')}/edge-metrics")
    assert service is not None

    other = sample("minimal.yaml")
    other["metadata"]["name"] = "edge-metrics"  # wants a flow Service named edge-metrics
    await create_fc(api, other)
    ready = await conflict(api, "edge-metrics")
    assert "Service edge-metrics (controlled by FlowCollector edge)" in ready["message"]

    await quiet(k8s, seconds=2.5)  # several resyncs: nobody writes, nobody takes over
    assert await api.get(f"{SVC.format(ns='netflow')}/edge-metrics") == service
    assert condition(await fc_status(api, "netflow", "edge"), "Ready")["reason"] != "NameConflict"
    assert await api.get(f"{DS.format(ns='netflow')}/edge-metrics") is None
    edge_fc = await api.get(f"{FC.format(ns='netflow')}/edge")
    assert edge_fc is not None


async def test_deleting_the_flowcollector_leaves_the_foreign_object(api, k8s, operator):
    path, body = foreign_body("ConfigMap")
    before = await api.create(path, body)
    await create_fc(api, sample())
    await conflict(api)
    await api.delete(f"{FC.format(ns='netflow')}/core")

    async def gone() -> None:
        assert await api.get(f"{FC.format(ns='netflow')}/core") is None

    await eventually(gone)
    await asyncio.sleep(3 * GC_DELAY)  # the garbage collector had its chance
    assert await api.get(f"{path}/{body['metadata']['name']}") == before

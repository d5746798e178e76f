"""The operator watches its children with a server-side label selector (defect: kopf's
``labels=`` filter is client-side, so every ConfigMap, Service and DaemonSet of the cluster
streamed into the operator). The resync is set far away: only the watches can restore here.
"""

from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import eventually
from tests.operator.harness import CM, FC, Operator, Request, sample, settled

SELECTOR = "app.kubernetes.io/managed-by=flowkeeper"
CHILD_COLLECTIONS = ("configmaps", "services", "daemonsets")


def collection_reads(requests: list[Request]) -> list[Any]:
    """The operator's LIST and WATCH requests of child kinds (collections, not single GETs)."""
    return [
        (agent, path, query)
        for agent, method, path, query in requests
        if method.endswith("GET")
        and path.rsplit("/", 1)[-1] in CHILD_COLLECTIONS
        and not agent.startswith("flowkeeper-tests")
    ]


@pytest.mark.parametrize(
    ("flags", "scope"),
    [
        (("-A",), "/api/v1/configmaps"),
        (("-n", "netflow"), "/api/v1/namespaces/netflow/configmaps"),
    ],
    ids=["all-namespaces", "one-namespace"],
)
async def test_children_are_watched_by_label_and_a_deleted_one_is_restored(
    api, k8s, kubeconfig: Path, requests, flags, scope
):
    # kopf serves a namespace it has seen listed.
    await api.create("/api/v1/namespaces", {"metadata": {"name": "netflow"}})
    for index in range(20):  # not ours: must never be asked for
        body = {"metadata": {"name": f"theirs-{index}", "namespace": "netflow"}, "data": {}}
        await api.create(CM.format(ns="netflow"), body)
    operator = Operator(3600.0, scope=flags)
    await operator.start()
    try:
        await api.create(FC.format(ns="netflow"), sample())
        await settled(api, "netflow", "core")
        old = await api.get(f"{CM.format(ns='netflow')}/core-config")
        assert old is not None
        await api.delete(f"{CM.format(ns='netflow')}/core-config")

        async def restored() -> None:
            new = await api.get(f"{CM.format(ns='netflow')}/core-config")
            assert new is not None
            assert new["metadata"]["uid"] != old["metadata"]["uid"]
            assert new["data"] == old["data"]

        await eventually(restored, timeout=20)
    finally:
        await operator.stop()
    reads = collection_reads(requests)
    assert {path for _, path, _ in reads if path.endswith("configmaps")} == {scope}
    assert {query.get("watch") for *_, query in reads} == {None, "true"}  # lists and watches
    assert [r for r in reads if r[2].get("labelSelector") != SELECTOR] == []
    # kopf itself watches FlowCollectors only.
    assert [r for r in reads if r[0].startswith("kopf")] == []

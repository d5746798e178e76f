"""The real operator (kopf, in-process) against the emulated API server.

The test plays the parts a cluster would: the DaemonSet controller (it writes the DaemonSet
status), the cloud load balancer (the Service status), and a careless human (deletes and edits).
Waiting is always polling with a deadline; nothing is asserted after a fixed sleep.
"""

import copy
from typing import Any

from flowkeeper.operator.constants import CONFIG_HASH_ANNOTATION
from prometheus_client import REGISTRY

from e2e.cluster import Api, eventually
from tests.operator.harness import (
    CM,
    DEPLOY,
    DS,
    EVENTS,
    FC,
    SVC,
    children_of,
    condition,
    crd_without,
    create_fc,
    expect_events,
    fc_status,
    quiet,
    roll_out,
    sample,
    settled,
)


async def test_creation_makes_owned_labelled_children_and_a_status(api, k8s, operator):
    fc = await create_fc(api, sample())
    status = await settled(api, "netflow", "core")
    kids = await children_of(api, "netflow", "core")
    for child in kids.values():
        assert child is not None
        assert child["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "flows.flowkeeper.dev/v1alpha1",
                "kind": "FlowCollector",
                "name": "core",
                "uid": fc["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert child["metadata"]["labels"] == {
            "app.kubernetes.io/name": "flow-collector",
            "app.kubernetes.io/instance": "core",
            "app.kubernetes.io/managed-by": "flowkeeper",
            "app.kubernetes.io/part-of": "flowkeeper",
        }
        assert "flows.flowkeeper.dev/desired-hash" in child["metadata"]["annotations"]
    daemonset = kids["daemonset"]
    assert daemonset is not None
    template = daemonset["spec"]["template"]["metadata"]["annotations"]
    assert status["configHash"] == template[CONFIG_HASH_ANNOTATION]
    assert (status["nodes"], condition(status, "Ready")["status"]) == ("0/0", "False")
    await expect_events(
        api,
        "Created",
        [
            "Created ConfigMap core-config",
            "Created DaemonSet core",
            "Created Service core",
            "Created Service core-metrics",
        ],
    )
    owner = await api.get(f"{FC.format(ns='netflow')}/core")
    assert owner is not None
    assert not owner["metadata"].get("finalizers")


async def test_ready_follows_the_daemonset_rollout_and_the_load_balancer(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await roll_out(api, "netflow", "core", nodes=3, ready=3)

    async def ready() -> dict[str, Any]:
        status = await fc_status(api, "netflow", "core")
        assert condition(status, "Ready")["status"] == "True", status
        return status

    status = await eventually(ready)
    assert (status["nodes"], status["desiredNumberScheduled"], status["numberReady"]) == (
        "3/3",
        3,
        3,
    )

    await roll_out(api, "netflow", "core", nodes=3, ready=2)

    async def degraded() -> None:
        status = await fc_status(api, "netflow", "core")
        assert condition(status, "Degraded")["status"] == "True", status
        assert condition(status, "Ready")["reason"] == "PodsNotReady"
        assert status["nodes"] == "2/3"

    await eventually(degraded)

    ingress = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
    await api.patch(f"{SVC.format(ns='netflow')}/core/status", {"status": ingress})

    async def addressed() -> None:
        status = await fc_status(api, "netflow", "core")
        assert status["serviceAddresses"] == ["203.0.113.10"]

    await eventually(addressed)


async def test_spec_change_rolls_the_pods(api, k8s, operator):
    await create_fc(api, sample())
    before = await settled(api, "netflow", "core")
    await roll_out(api, "netflow", "core", nodes=2, ready=2)
    await eventually(
        lambda: _assert_ready(api, "True"),
    )
    old = await children_of(api, "netflow", "core")

    await api.patch(f"{FC.format(ns='netflow')}/core", {"spec": {"nats": {"subject": "flows.new"}}})
    after = await settled(api, "netflow", "core", generation=2)
    new = await children_of(api, "netflow", "core")
    assert new["configmap"] is not None
    assert old["configmap"] is not None
    assert '"subject": "flows.new.raw.netflow"' in new["configmap"]["data"]["config.json"]
    assert new["daemonset"] is not None
    assert old["daemonset"] is not None
    old_hash = old["daemonset"]["spec"]["template"]["metadata"]["annotations"][
        CONFIG_HASH_ANNOTATION
    ]
    new_hash = new["daemonset"]["spec"]["template"]["metadata"]["annotations"][
        CONFIG_HASH_ANNOTATION
    ]
    assert old_hash == before["configHash"]
    assert new_hash == after["configHash"] != old_hash
    assert (
        new["daemonset"]["metadata"]["generation"] == old["daemonset"]["metadata"]["generation"] + 1
    )
    assert new["service"] == old["service"]  # untouched: nothing of it changed
    await eventually(lambda: _assert_ready(api, "False", reason="RollingOut"))
    assert condition(after, "Ready")["observedGeneration"] == 2

    await roll_out(api, "netflow", "core", nodes=2, ready=2)
    await eventually(lambda: _assert_ready(api, "True"))
    await expect_events(
        api,
        "Updated",
        [
            "Updated ConfigMap core-config",
            "Updated DaemonSet core",
        ],
    )


async def _assert_ready(api: Api, truth: str, reason: str | None = None) -> None:
    status = await fc_status(api, "netflow", "core")
    ready = condition(status, "Ready")
    assert ready["status"] == truth, status
    if reason is not None:
        assert ready["reason"] == reason, status


async def test_deleted_children_are_restored(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    old = await children_of(api, "netflow", "core")
    await api.delete(f"{SVC.format(ns='netflow')}/core")
    await api.delete(f"{CM.format(ns='netflow')}/core-config")

    async def restored() -> None:
        new = await children_of(api, "netflow", "core")
        for kind in ("service", "configmap"):
            assert new[kind] is not None, kind
            assert old[kind] is not None, kind
            assert new[kind]["metadata"]["uid"] != old[kind]["metadata"]["uid"]
            field = "spec" if kind == "service" else "data"
            assert _unallocated(new[kind][field]) == _unallocated(old[kind][field])

    await eventually(restored)
    await expect_events(
        api,
        "Restored",
        [
            "Restored ConfigMap core-config",
            "Restored Service core",
        ],
    )


def _unallocated(spec: dict[str, Any]) -> dict[str, Any]:
    """A Service spec without what the server allocates anew on each creation."""
    kept = {k: v for k, v in spec.items() if k not in ("clusterIP", "clusterIPs")}
    kept.pop("healthCheckNodePort", None)
    if "ports" in kept:
        kept["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in kept["ports"]]
    return kept


async def test_hand_edited_children_are_restored(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    old = await children_of(api, "netflow", "core")
    assert old["daemonset"] is not None
    assert old["configmap"] is not None
    hacked = copy.deepcopy(old["daemonset"]["spec"]["template"]["spec"]["containers"])
    hacked[0]["image"] = "evil:latest"
    await api.patch(
        f"{DS.format(ns='netflow')}/core",
        {"spec": {"template": {"spec": {"containers": hacked, "nodeSelector": {"extra": "x"}}}}},
    )
    await api.patch(f"{CM.format(ns='netflow')}/core-config", {"data": {"config.json": "{}"}})
    await api.patch(
        f"{SVC.format(ns='netflow')}/core", {"metadata": {"labels": {"team": "netops"}}}
    )

    async def restored() -> None:
        new = await children_of(api, "netflow", "core")
        assert new["daemonset"] is not None
        assert old["daemonset"] is not None
        assert new["daemonset"]["spec"] == old["daemonset"]["spec"]
        assert new["configmap"] is not None
        assert new["configmap"]["data"] == old["configmap"]["data"]

    await eventually(restored)
    service = await api.get(f"{SVC.format(ns='netflow')}/core")
    assert service is not None
    assert service["metadata"]["labels"]["team"] == "netops"  # not ours to remove
    await expect_events(
        api,
        "Restored",
        [
            "Restored ConfigMap core-config",
            "Restored DaemonSet core",
        ],
    )


async def test_idle_operator_makes_no_writes(api, k8s, operator):
    await create_fc(api, sample())
    await create_fc(api, sample("minimal.yaml"))
    await settled(api, "netflow", "core")
    await settled(api, "netflow", "edge")
    await roll_out(api, "netflow", "core", nodes=2, ready=2)
    await eventually(lambda: _assert_ready(api, "True"))
    await quiet(k8s)

    mark = k8s.mark()

    async def resynced_twice() -> None:
        reads = k8s.calls(since=mark, agents=["flowkeeper-operator"])
        # Each reconcile reads its FlowCollector: two FlowCollectors, two resyncs each.
        assert reads["get flowcollectors"] >= 4, reads

    await eventually(resynced_twice)
    assert k8s.calls(since=mark, writes=True) == {}


async def test_invalid_spec_is_reported_and_changes_nothing(api, k8s, operator):
    bad = sample("minimal.yaml")
    bad["spec"]["templateStore"] = {"kvBucket": "templates", "kvHistory": 65}
    async with crd_without(api, "spec", "templateStore", "kvHistory", "maximum"):
        await create_fc(api, bad)

    async def refused() -> dict[str, Any]:
        status = await fc_status(api, "netflow", "edge")
        ready = condition(status, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec"), status
        return ready

    ready = await eventually(refused)
    assert "spec.templateStore.kvHistory" in ready["message"]
    assert "between 1 and 64" in ready["message"]
    assert await children_of(api, "netflow", "edge") == dict.fromkeys(
        ("configmap", "daemonset", "service", "metrics"), None
    )
    await expect_events(api, "InvalidSpec", [ready["message"]])
    warnings = [
        e for e in await api.items(EVENTS.format(ns="netflow")) if e["reason"] == "InvalidSpec"
    ]
    assert [e["type"] for e in warnings] == ["Warning"]

    await quiet(k8s)
    mark = k8s.mark()
    resyncs = _resync_count("invalid")

    async def resynced_twice() -> None:
        assert _resync_count("invalid") >= resyncs + 2

    # No endless retry: resyncs come and go without writing or re-posting the Event.
    await eventually(resynced_twice)
    assert k8s.calls(since=mark, writes=True) == {}


def _resync_count(result: str) -> float:
    labels = {"trigger": "resync", "result": result}
    return REGISTRY.get_sample_value("flowkeeper_operator_reconciles_total", labels) or 0.0


async def test_valid_spec_turned_invalid_leaves_the_children_alone(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    before = await children_of(api, "netflow", "core")
    async with crd_without(api, "spec", "listeners", "minItems"):
        await api.patch(f"{FC.format(ns='netflow')}/core", {"spec": {"listeners": []}})

    async def refused() -> None:
        status = await fc_status(api, "netflow", "core")
        assert condition(status, "Ready")["reason"] == "InvalidSpec", status
        assert status["observedGeneration"] == 2
        assert "spec.listeners" in condition(status, "Ready")["message"]

    await eventually(refused)
    await quiet(k8s)
    assert await children_of(api, "netflow", "core") == before


async def test_restart_makes_no_duplicates_and_no_writes(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await roll_out(api, "netflow", "core", nodes=1, ready=1)
    await eventually(lambda: _assert_ready(api, "True"))
    await quiet(k8s)
    await operator.stop()

    mark = k8s.mark()
    await operator.start()

    async def resumed() -> None:
        # The resumed reconcile reads the FlowCollector, and the children through the child
        # watches (listed at start-up).
        calls = k8s.calls(since=mark, agents=["flowkeeper-operator"])
        assert calls["get flowcollectors"] >= 1, calls
        assert calls["list daemonsets"] >= 1, calls
        assert calls["list services"] >= 1, calls

    await eventually(resumed)
    await quiet(k8s)
    assert k8s.calls(since=mark, writes=True) == {}
    for path in (CM, SVC, DS):
        names = [o["metadata"]["name"] for o in await api.items(path.format(ns="netflow"))]
        assert len(names) == len(set(names))
    assert len(await api.items(SVC.format(ns="netflow"))) == 2


async def test_only_the_deployment_named_for_replacement_is_deleted(api, k8s, operator):
    labels = {"app.kubernetes.io/name": "flow-collector", "app.kubernetes.io/instance": "core"}
    named = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "core-collector", "namespace": "netflow", "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}},
    }
    # Same labels (another release of the old chart, say), but not named: it stays.
    unnamed = copy.deepcopy(named)
    unnamed["metadata"]["name"] = "core"
    await api.create(DEPLOY.format(ns="netflow"), named)
    await api.create(DEPLOY.format(ns="netflow"), unnamed)
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await quiet(k8s)
    names = {d["metadata"]["name"] for d in await api.items(DEPLOY.format(ns="netflow"))}
    assert names == {"core-collector", "core"}

    await api.patch(
        f"{FC.format(ns='netflow')}/core",
        {"spec": {"migration": {"replaceDeployment": "core-collector"}}},
    )

    async def removed() -> None:
        names = [d["metadata"]["name"] for d in await api.items(DEPLOY.format(ns="netflow"))]
        assert names == ["core"]

    await eventually(removed)
    assert await api.get(f"{DS.format(ns='netflow')}/core") is not None
    await expect_events(
        api,
        "DeploymentReplaced",
        [
            "Deleted Deployment core-collector (spec.migration.replaceDeployment): "
            "replaced by DaemonSet core"
        ],
    )


async def test_metrics_service_is_removed_when_metrics_are_turned_off(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "edge-metrics", "namespace": "netflow"},
        "spec": {"ports": [{"port": 9100}]},
    }
    await api.create(SVC.format(ns="netflow"), foreign)  # same pattern, not ours: stays

    fc = await api.patch(
        f"{FC.format(ns='netflow')}/core", {"spec": {"metrics": {"enabled": False}}}
    )

    async def removed() -> None:
        status = await fc_status(api, "netflow", "core")
        assert status.get("observedGeneration") == fc["metadata"]["generation"]
        assert await api.get(f"{SVC.format(ns='netflow')}/core-metrics") is None

    await eventually(removed)
    kids = await children_of(api, "netflow", "core")
    assert kids["metrics"] is None
    assert all(kids[kind] for kind in ("configmap", "daemonset", "service"))
    assert await api.get(f"{SVC.format(ns='netflow')}/edge-metrics") is not None
    await expect_events(api, "Removed", ["Removed Service core-metrics: metrics are disabled"])

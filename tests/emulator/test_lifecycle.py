"""Garbage collection, finalizers, and the cloud load balancer's cleanup finalizer."""

import asyncio

from e2e.cluster import eventually
from e2e.emulator import LB_CLEANUP_FINALIZER
from tests.emulator.conftest import CM, FC, SVC, flowcollector, service


def owned_by(owner, **extra):
    ref = {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1",
        "kind": "FlowCollector",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {**ref, **extra}


async def gone(http, path):
    async def check():
        status, _ = await http.call("GET", path)
        assert status == 404

    await eventually(check, timeout=5)


async def test_dependents_are_collected_after_their_owner_goes(http, k8s):
    k8s.gc_delay = 0.3
    assert k8s.api.gc_delay == 0.3  # a test may set it at any time
    owner = await http.create(FC, flowcollector("fc"))
    other = await http.create(FC, flowcollector("other"))
    refs = [owned_by(owner)]
    await http.create(CM, {"metadata": {"name": "child", "ownerReferences": refs}})
    both = [owned_by(owner), owned_by(other, controller=False)]
    await http.create(CM, {"metadata": {"name": "shared", "ownerReferences": both}})
    await http.create(CM, {"metadata": {"name": "free"}})
    await http.ok("DELETE", f"{FC}/fc")
    # Not at once: the collector works after a delay, like a real one.
    assert (await http.call("GET", f"{CM}/child"))[0] == 200
    await gone(http, f"{CM}/child")
    shared = await http.get(f"{CM}/shared")
    assert [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["other"]
    assert (await http.call("GET", f"{CM}/free"))[0] == 200


async def test_a_dependent_re_owned_within_the_delay_stays(http, k8s):
    k8s.gc_delay = 0.3
    owner = await http.create(FC, flowcollector("fc"))
    await http.create(CM, {"metadata": {"name": "child", "ownerReferences": [owned_by(owner)]}})
    await http.ok("DELETE", f"{FC}/fc")
    again = await http.create(FC, flowcollector("fc"))
    assert again["metadata"]["uid"] != owner["metadata"]["uid"]
    await http.patch(f"{CM}/child", {"metadata": {"ownerReferences": [owned_by(again)]}})
    await asyncio.sleep(0.6)
    assert (await http.call("GET", f"{CM}/child"))[0] == 200


async def test_an_orphan_from_the_start_is_collected(http, k8s):
    k8s.gc_delay = 0.3
    ghost = {"metadata": {"name": "ghost", "uid": "0000-gone"}}
    await http.create(CM, {"metadata": {"name": "child", "ownerReferences": [owned_by(ghost)]}})
    await gone(http, f"{CM}/child")


async def test_finalizers_hold_a_deletion(http):
    await http.create(CM, {"metadata": {"name": "c", "finalizers": ["example.com/hold"]}})
    deleting = await http.ok("DELETE", f"{CM}/c")
    assert deleting["metadata"]["deletionTimestamp"]
    assert (await http.call("GET", f"{CM}/c"))[0] == 200
    status, answer = await http.call(
        "PATCH",
        f"{CM}/c",
        {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}},
        "application/merge-patch+json",
    )
    assert (status, answer["reason"]) == (422, "Invalid")
    await http.patch(f"{CM}/c", {"metadata": {"finalizers": None}})
    assert (await http.call("GET", f"{CM}/c"))[0] == 404


async def test_a_load_balancer_service_waits_for_its_cloud_finalizer(http, k8s):
    k8s.lb_cleanup_delay = 0.3
    await http.create(SVC, service(type="LoadBalancer"))

    async def finalized():
        found = await http.get(f"{SVC}/s")
        assert found["metadata"].get("finalizers") == [LB_CLEANUP_FINALIZER]

    await eventually(finalized, timeout=5)
    await http.ok("DELETE", f"{SVC}/s")
    held = await http.get(f"{SVC}/s")
    assert held["metadata"]["deletionTimestamp"]
    await gone(http, f"{SVC}/s")
    # Its node port is free again once it is gone.
    assert not k8s.api.allocator.ports


async def test_a_cluster_ip_service_has_no_cloud_finalizer(http):
    await http.create(SVC, service())
    await asyncio.sleep(0.05)
    assert "finalizers" not in (await http.get(f"{SVC}/s"))["metadata"]


async def test_delete_answers_as_kube_apiserver(http):
    created = await http.create(CM, {"metadata": {"name": "c"}})
    status, answer = await http.call("DELETE", f"{CM}/c")
    assert (status, answer["kind"], answer["status"]) == (200, "Status", "Success")
    assert answer["details"] == {
        "name": "c",
        "kind": "configmaps",
        "uid": created["metadata"]["uid"],
    }
    await http.create(CM, {"metadata": {"name": "held", "finalizers": ["example.com/x"]}})
    status, answer = await http.call("DELETE", f"{CM}/held")
    assert (status, answer["kind"]) == (202, "ConfigMap")
    await http.create(FC, flowcollector("fc"))
    status, answer = await http.call("DELETE", f"{FC}/fc")
    assert (status, answer["kind"]) == (200, "FlowCollector")
    status, answer = await http.call("DELETE", f"{FC}/fc")
    assert (status, answer["reason"], answer["message"]) == (
        404,
        "NotFound",
        'flowcollectors.flows.flowkeeper.dev "fc" not found',
    )


async def test_deleting_a_namespace_deletes_what_is_in_it(http):
    await http.create("/api/v1/namespaces", {"metadata": {"name": "ns"}})
    await http.create(CM, {"metadata": {"name": "c"}})
    await http.create(CM.replace("/ns/", "/other/"), {"metadata": {"name": "c"}})
    await http.ok("DELETE", "/api/v1/namespaces/ns")
    assert (await http.call("GET", f"{CM}/c"))[0] == 404
    assert (await http.call("GET", CM.replace("/ns/", "/other/") + "/c"))[0] == 200

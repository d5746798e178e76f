"""Defect 6: state is keyed by uid. A FlowCollector deleted and re-created under the same name
gets its own status; if its old children are still there (the garbage collector has not
removed them yet), they are re-owned by the new uid instead of being left to be collected."""

from e2e.cluster import eventually
from tests.operator.harness import (
    FC,
    children_of,
    condition,
    create_fc,
    expect_events,
    fc_status,
    quiet,
    running,
    sample,
    settled,
)


async def test_recreated_flowcollector_gets_a_status_and_its_children(api, k8s, operator):
    old = await running(api, k8s)
    await api.delete(f"{FC.format(ns='netflow')}/core")
    new = await create_fc(api, sample())  # before any garbage collection
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert not new.get("status")

    status = await settled(api, "netflow", "core")
    assert status["configHash"]
    assert condition(status, "Ready")["observedGeneration"] == 1

    async def reowned() -> None:
        for kind, child in (await children_of(api, "netflow", "core")).items():
            assert child is not None, kind
            refs = child["metadata"]["ownerReferences"]
            assert [r["uid"] for r in refs if r.get("controller")] == [new["metadata"]["uid"]]

    await eventually(reowned)
    await expect_events(
        api,
        "Adopted",
        [
            f"Adopted {kind} {name} left by a previous FlowCollector core"
            for kind, name in (
                ("ConfigMap", "core-config"),
                ("DaemonSet", "core"),
                ("Service", "core"),
                ("Service", "core-metrics"),
            )
        ],
    )
    await quiet(k8s)
    assert (await fc_status(api, "netflow", "core"))["observedGeneration"] == 1

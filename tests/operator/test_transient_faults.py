"""Defect 5: transient faults (500, 409 Conflict, 503 with Retry-After) on any path are retried
at once with backoff, not at the next resync: the resync is 300 s in these tests, so each
converges only through the retries."""

import pytest

from e2e.cluster import eventually
from tests.operator.harness import (
    CM,
    DS,
    SVC,
    children_of,
    condition,
    container,
    fc_status,
    roll_out,
    running,
)

LONG_RESYNC = 300.0
TIMEOUT = 15.0  # far below the resync


def by_operator(call) -> bool:
    return call.agent.startswith("flowkeeper-operator")


@pytest.mark.parametrize("operator", [LONG_RESYNC], indirect=True)
async def test_500_while_restoring_a_deleted_child_is_retried(api, k8s, operator):
    await running(api, k8s)
    fault = k8s.inject_fault(verb="create", resource="configmaps", status=500, times=3)
    await api.delete(f"{CM.format(ns='netflow')}/core-config")

    async def restored() -> None:
        assert (await children_of(api, "netflow", "core"))["configmap"] is not None

    await eventually(restored, timeout=TIMEOUT)
    assert fault.hits == 3


@pytest.mark.parametrize("operator", [LONG_RESYNC], indirect=True)
async def test_409_on_a_patch_is_reread_and_retried(api, k8s, operator):
    await running(api, k8s)
    fault = k8s.inject_fault(
        verb="patch",
        resource="daemonsets",
        subresource="",
        status=409,
        times=2,
        message="Operation cannot be fulfilled: the object has been modified",
        predicate=by_operator,
    )
    daemonset = await api.get(f"{DS.format(ns='netflow')}/core")
    hacked = daemonset["spec"]["template"]["spec"]["containers"]
    hacked[0]["image"] = "evil:latest"
    await api.patch(
        f"{DS.format(ns='netflow')}/core", {"spec": {"template": {"spec": {"containers": hacked}}}}
    )

    async def restored() -> None:
        live = await api.get(f"{DS.format(ns='netflow')}/core")
        assert container(live)["image"] == "registry.example.com/flow-collector:1.4.2"

    await eventually(restored, timeout=TIMEOUT)
    assert fault.hits == 2


@pytest.mark.parametrize("operator", [LONG_RESYNC], indirect=True)
async def test_503_on_the_status_patch_honours_retry_after(api, k8s, operator):
    await running(api, k8s)
    fault = k8s.inject_fault(
        verb="patch",
        resource="flowcollectors",
        subresource="status",
        status=503,
        retry_after=1,
        times=2,
        predicate=by_operator,
    )
    await roll_out(api, "netflow", "core", nodes=2, ready=2)  # a child event: status follows

    async def ready() -> None:
        status = await fc_status(api, "netflow", "core")
        assert condition(status, "Ready")["status"] == "True", status

    await eventually(ready, timeout=TIMEOUT)
    assert fault.hits == 2


@pytest.mark.parametrize("operator", [LONG_RESYNC], indirect=True)
async def test_faults_beyond_the_call_retries_are_retried_by_the_reconcile(api, k8s, operator):
    await running(api, k8s)
    # More failures than one call's retries: the child path schedules a whole reconcile.
    old = (await children_of(api, "netflow", "core"))["metrics"]
    fault = k8s.inject_fault(verb="create", resource="services", status=500, times=8)
    await api.delete(f"{SVC.format(ns='netflow')}/core-metrics")

    async def restored() -> None:
        new = (await children_of(api, "netflow", "core"))["metrics"]
        assert new is not None
        assert new["metadata"]["uid"] != old["metadata"]["uid"]

    await eventually(restored, timeout=30.0)
    assert fault.hits == 8

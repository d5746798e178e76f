"""The chart's RBAC grants every request the operator really makes.

tests/chart/test_rbac.py pins the operator's roles to the contract in docs/operator.md; this
reads the other side: the requests the running operator sends to the emulator through a
FlowCollector's life (create, roll-out, spec change, a child deleted by hand and restored,
resyncs, deletion), each of which must be allowed by a rule of the rendered chart. A verb
dropped from the chart that the operator still uses fails here.
"""

import pytest

from e2e.cluster import eventually
from e2e.emulator import Emulator
from tests.chart.helpers import of_kind, render, rules
from tests.operator.harness import (
    OPERATOR_AGENTS,
    children_of,
    observed,
    patch_spec,
    roll_out,
    running,
)

pytestmark = pytest.mark.usefixtures("namespaces")


def granted() -> set[tuple[str, str]]:
    """(resource, verb) pairs that the operator's rendered roles allow, any API group."""
    manifests = render({"replicaCount": 2})
    roles = [
        role
        for kind in ("ClusterRole", "Role")
        for role in of_kind(manifests, kind)
        if role["metadata"]["labels"].get("app.kubernetes.io/component") != "backfill"
    ]
    return {(resource, verb) for role in roles for _, resource, verb in rules(role)}


async def test_every_request_of_the_operator_is_granted_by_the_chart(api, k8s: Emulator, operator):
    fc = await running(api, k8s)
    ns, name = fc["metadata"]["namespace"], fc["metadata"]["name"]
    await roll_out(api, ns, name, nodes=2, ready=2)
    generation = await patch_spec(api, ns, name, {"hostNetwork": True})
    await observed(api, ns, name, generation)
    await api.delete(f"/api/v1/namespaces/{ns}/configmaps/{name}-config")

    async def restored() -> None:
        assert (await children_of(api, ns, name))["configmap"] is not None

    await eventually(restored)
    await api.delete(f"/apis/flows.flowkeeper.dev/v1alpha1/namespaces/{ns}/flowcollectors/{name}")

    # "verb resource" as RBAC sees it: a LIST with ?watch is the verb "watch".
    used = {tuple(call.split(" ", 1)) for call in k8s.calls(agents=OPERATOR_AGENTS)}
    allowed = granted()
    missing = sorted(
        f"{verb} {resource}" for verb, resource in used if (resource, verb) not in allowed
    )
    assert used, "the operator made no request at all"
    assert not missing, f"requests the chart's RBAC would forbid: {missing}"

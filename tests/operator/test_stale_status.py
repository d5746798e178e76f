"""Issue 15, defect 2: a status computed for a deleted FlowCollector never lands on the one
re-created under its name, and a wrong status is corrected whatever the operator remembers.

The old FlowCollector's status write (``Ready=False NameConflict``) is answered ``503
Retry-After: 3``; meanwhile it is deleted and re-created without the conflict. The new one
must get, and keep, its own status: the write is bound to the uid it was computed for, and the
status is compared with the live one, not with a record of what was written before.
"""

import asyncio
import json

from e2e.apiserver.faults import Call
from e2e.cluster import eventually
from tests.operator.harness import FC, SVC, condition, create_fc, fc_status, sample, settled

WATCH_SECONDS = 8.0  # the old write's Retry-After (3 s) and several resyncs (1 s)


def stale_conflict(call: Call) -> bool:
    return call.agent.startswith("flowkeeper-operator") and "NameConflict" in json.dumps(call.body)


async def test_a_status_for_a_deleted_flowcollector_never_lands_on_its_successor(
    api, k8s, operator
):
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "core-metrics", "namespace": "netflow"},
        "spec": {"ports": [{"name": "metrics", "port": 9090}]},
    }
    await api.create(SVC.format(ns="netflow"), foreign)
    fault = k8s.inject_fault(
        verb="patch",
        resource="flowcollectors",
        subresource="status",
        status=503,
        retry_after=3,
        times=1,
        predicate=stale_conflict,
    )
    old = await create_fc(api, sample())

    async def paused() -> None:
        assert fault.hits == 1

    await eventually(paused)
    await api.delete(f"{FC.format(ns='netflow')}/core")
    await api.delete(f"{SVC.format(ns='netflow')}/core-metrics")
    new = await create_fc(api, sample())
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    await settled(api, "netflow", "core")

    deadline = asyncio.get_running_loop().time() + WATCH_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
    status = await fc_status(api, "netflow", "core")
    assert condition(status, "Ready")["reason"] != "NameConflict", status
    assert status["observedGeneration"] == 1, status

"""Defect 8: the resync loop, on its own, restores every deleted child in one pass and posts
a Restored Event for each (Events are posted with the operator's own client, from any task)."""

import pytest
from prometheus_client import REGISTRY

from e2e.cluster import eventually
from tests.operator.harness import (
    EVENTS,
    children_of,
    create_fc,
    expect_events,
    resyncs,
    running,
    sample,
    settled,
    silently_delete,
)


@pytest.mark.parametrize("operator", [2.0], indirect=True)
async def test_one_resync_pass_restores_all_children_deleted_unseen(api, k8s, operator):
    await running(api, k8s)
    before = await children_of(api, "netflow", "core")
    changed, errors = resyncs("changed"), resyncs("error")

    await silently_delete(
        k8s,
        ("configmaps", "netflow", "core-config"),
        ("daemonsets", "netflow", "core"),
        ("services", "netflow", "core"),
        ("services", "netflow", "core-metrics"),
    )
    assert not any((await children_of(api, "netflow", "core")).values())

    async def restored() -> None:
        after = await children_of(api, "netflow", "core")
        for kind, child in after.items():
            assert child is not None, kind
            assert child["metadata"]["uid"] != before[kind]["metadata"]["uid"]

    await eventually(restored)
    await expect_events(
        api,
        "Restored",
        [
            "Restored ConfigMap core-config",
            "Restored DaemonSet core",
            "Restored Service core",
            "Restored Service core-metrics",
        ],
    )
    assert resyncs("changed") == changed + 1  # one pass did it all
    assert resyncs("error") == errors


async def test_event_failures_never_abort_a_reconcile(api, k8s, operator):
    failures = REGISTRY.get_sample_value("flowkeeper_operator_event_failures_total") or 0.0
    k8s.inject_fault(verb="create", resource="events", status=403, times=None)
    await create_fc(api, sample())
    status = await settled(api, "netflow", "core")  # children and status all the same
    assert status["configHash"]
    posted = REGISTRY.get_sample_value("flowkeeper_operator_event_failures_total") or 0.0
    assert posted - failures >= 4  # one per child created, each counted
    assert await api.items(EVENTS.format(ns="netflow")) == []

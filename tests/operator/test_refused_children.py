"""Defect 4: a child the API refuses (422) ends in Ready=False with the API's own message and a
Warning Event, not in an empty status and log lines; the next reconcile after the cause is gone
clears it."""

import copy

from e2e.cluster import eventually
from tests.operator.harness import (
    EVENTS,
    condition,
    create_fc,
    fc_status,
    sample,
    settled,
)

OPERATOR = "flowkeeper-operator"


async def refused(api, text: str) -> dict:
    async def check() -> dict:
        ready = condition(await fc_status(api, "netflow", "core"), "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "ApplyFailed"), ready
        assert text in ready["message"], ready
        return ready

    return dict(await eventually(check))


async def test_immutable_selector_is_reported_with_the_api_message(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    # A DaemonSet left by an older release, with another selector (written straight into the
    # store: the API itself would refuse this change, which is the point).
    store = k8s.api.store
    key = next(k for k in store.objects if k[0].plural == "daemonsets" and k[2] == "core")
    old = copy.deepcopy(store.objects[key])
    old["spec"]["selector"]["matchLabels"]["release"] = "v0"
    old["spec"]["template"]["metadata"]["labels"]["release"] = "v0"
    store.objects[key] = old

    ready = await refused(api, "field is immutable")  # found by the next resync
    assert "spec.selector" in ready["message"]

    async def warned() -> None:  # posted right after the status
        warnings = [
            e for e in await api.items(EVENTS.format(ns="netflow")) if e["reason"] == "ApplyFailed"
        ]
        assert [(e["type"], e["message"]) for e in warnings] == [("Warning", ready["message"])]

    await eventually(warned)


async def test_refused_create_is_reported_then_cleared(api, k8s, operator):
    message = 'ConfigMap "core-config" is invalid: data: Too long: must have at most 1048576 bytes'
    fault = k8s.inject_fault(
        verb="create", resource="configmaps", status=422, message=message, times=None
    )
    await create_fc(api, sample())
    ready = await refused(api, message)
    assert "HTTP 422" in ready["message"]

    fault.times = fault.hits  # the cause is gone: the next resync applies the spec
    status = await settled(api, "netflow", "core")

    async def cleared() -> None:
        ready = condition(await fc_status(api, "netflow", "core"), "Ready")
        assert ready["reason"] != "ApplyFailed", ready

    await eventually(cleared)
    assert status["observedGeneration"] == 1

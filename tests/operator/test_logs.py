"""Issue 16 item 9: the operator's log says what it did, one key=value line per action and per
problem (children created, patched, restored; conflicts; an invalid spec; the namespaces
watched at start-up), and no stack trace for an expected API error."""

import logging

import pytest

from e2e.cluster import eventually
from tests.operator.harness import CM, SVC, crd_without, create_fc, running, sample


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


async def logged(caplog: pytest.LogCaptureFixture, *expected: str) -> None:
    async def check() -> None:
        for text in expected:
            assert any(text in line for line in lines(caplog)), (text, lines(caplog)[-20:])

    await eventually(check)


async def test_each_action_and_problem_is_one_key_value_line(api, k8s, operator, caplog):
    caplog.set_level(logging.INFO)
    await running(api, k8s)  # the full sample, netflow/core
    await logged(
        caplog,
        "child created flowcollector=netflow/core kind=ConfigMap name=core-config verb=create",
        "child created flowcollector=netflow/core kind=DaemonSet name=core verb=create",
        "child created flowcollector=netflow/core kind=Service name=core verb=create",
        "child created flowcollector=netflow/core kind=Service name=core-metrics verb=create",
        "status written flowcollector=netflow/core generation=1 ready=False",
    )

    await api.delete(f"{CM.format(ns='netflow')}/core-config")
    await logged(caplog, "child restored flowcollector=netflow/core kind=ConfigMap")

    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "edge", "namespace": "netflow"},
        "spec": {"ports": [{"port": 80}]},
    }
    await api.create(SVC.format(ns="netflow"), foreign)
    await create_fc(api, sample("minimal.yaml"))  # netflow/edge: its Service name is taken
    await logged(
        caplog, "flowcollector refused flowcollector=netflow/edge generation=1 reason=NameConflict"
    )

    bad = sample("minimal.yaml")
    bad["metadata"]["name"] = "bad"
    bad["spec"]["templateStore"] = {"kvBucket": "templates", "kvHistory": 65}
    async with crd_without(api, "spec", "templateStore", "kvHistory", "maximum"):
        await create_fc(api, bad)  # as with an older CRD without that rule
    await logged(
        caplog,
        "flowcollector refused flowcollector=netflow/bad generation=1 reason=InvalidSpec"
        ' message="spec.templateStore.kvHistory must be between 1 and 64, got 65"',
    )
    # Expected API answers (409, 422) are lines, never stack traces.
    assert not [r for r in caplog.records if r.exc_info], "a stack trace was logged"


async def test_the_namespaces_watched_are_logged_at_start_up(caplog, kubeconfig):
    from tests.operator.harness import Operator

    caplog.set_level(logging.INFO)
    running_operator = Operator(scope=("-n", "netflow,other"))
    await running_operator.start()
    try:
        await logged(
            caplog, "operator started namespaces=netflow,other child_watches=netflow,other"
        )
    finally:
        await running_operator.stop()

"""Injected faults: any verb of any resource, subresources included, counted."""

import asyncio

import kubernetes
import pytest

from tests.emulator.conftest import DS, FC, daemonset, flowcollector


async def test_a_fault_answers_the_next_matching_requests(http, k8s):
    await http.create(DS, daemonset())
    fault = k8s.inject_fault(
        verb="patch",
        resource="daemonsets",
        subresource="status",
        status=503,
        retry_after=1,
        times=2,
    )
    for _ in range(2):
        status, answer = await http.call(
            "PATCH",
            f"{DS}/d/status",
            {"status": {"numberReady": 1}},
            "application/merge-patch+json",
        )
        assert (status, answer["kind"], answer["reason"]) == (503, "Status", "ServiceUnavailable")
        assert http.headers["Retry-After"] == "1"
    # The object's own endpoint and other verbs were never affected.
    await http.patch(f"{DS}/d", {"metadata": {"labels": {"x": "1"}}})
    assert (await http.patch(f"{DS}/d/status", {"status": {"numberReady": 1}}))["status"] == {
        "numberReady": 1
    }
    assert fault.hits == 2


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (500, "InternalError"),
        (429, "TooManyRequests"),
        (409, "Conflict"),
        (503, "ServiceUnavailable"),
    ],
)
async def test_each_status(http, k8s, status, reason):
    k8s.inject_fault(verb="create", resource="flowcollectors", status=status)
    code, answer = await http.call("POST", FC, flowcollector())
    assert (code, answer["code"], answer["reason"]) == (status, status, reason)
    assert (await http.call("POST", FC, flowcollector()))[0] == 201


async def test_a_predicate_chooses_requests(http, k8s):
    fault = k8s.inject_fault(status=500, times=None, predicate=lambda call: call.name == "b")
    await http.create(DS, daemonset("a"))
    await http.create(DS, daemonset("b"))
    assert (await http.call("GET", f"{DS}/a"))[0] == 200
    assert (await http.call("GET", f"{DS}/b"))[0] == 500
    assert (await http.call("GET", f"{DS}/b"))[0] == 500
    assert (fault.hits, [c.verb for c in fault.seen]) == (2, ["get", "get"])


async def test_the_kubernetes_client_honours_retry_after(k8s, kubeconfig):
    fault = k8s.inject_fault(verb="list", resource="daemonsets", status=429, retry_after=1)
    client = kubernetes.config.new_client_from_config(str(kubeconfig))
    apps = kubernetes.client.AppsV1Api(client)
    # In a thread: the sync client must not block the emulator's event loop.
    listed = await asyncio.to_thread(apps.list_namespaced_daemon_set, "ns")
    assert listed.items == []
    assert fault.hits == 1
    assert k8s.calls()["list daemonsets"] == 2  # urllib3 waited and asked again


async def test_a_fault_that_outlasts_the_retries_reaches_the_caller(k8s, kubeconfig):
    k8s.inject_fault(verb="get", resource="daemonsets", status=500, times=None)
    client = kubernetes.config.new_client_from_config(str(kubeconfig))
    apps = kubernetes.client.AppsV1Api(client)
    with pytest.raises(kubernetes.client.ApiException) as raised:
        await asyncio.to_thread(apps.read_namespaced_daemon_set, "d", "ns")
    assert raised.value.status == 500

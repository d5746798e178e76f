"""Writes as kube-apiserver answers them: no-ops, generation, 409, 422, PUT, /status, leases."""

import asyncio

from tests.emulator.conftest import CM, DS, FC, JSON_PATCH, LEASES, daemonset, flowcollector


async def test_a_write_that_changes_nothing_is_a_no_op(http, k8s):
    created = await http.create(DS, daemonset(tolerations=[{"key": "k", "operator": "Exists"}]))
    events = await _watch_events(http, DS, created["metadata"]["resourceVersion"])
    # The same values, spelled as the server would not store them.
    same = {
        "spec": {
            "template": {"spec": {"tolerations": [{"key": "k", "operator": "Exists", "value": ""}]}}
        }
    }
    patched = await http.patch(f"{DS}/d", same)
    assert patched == created
    assert await events() == []


async def test_generation_counts_spec_changes_only(http):
    created = await http.create(DS, daemonset())
    assert created["metadata"]["generation"] == 1
    labelled = await http.patch(f"{DS}/d", {"metadata": {"labels": {"extra": "x"}}})
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    changed = await http.patch(f"{DS}/d", {"spec": {"minReadySeconds": 5}})
    assert changed["metadata"]["generation"] == 2
    status = await http.patch(f"{DS}/d/status", {"status": {"numberReady": 1}})
    assert status["metadata"]["generation"] == 2


async def test_status_is_written_only_through_its_subresource(http):
    await http.create(FC, {**flowcollector(image="x"), "status": {"nodes": "0/1"}})
    main = await http.patch(f"{FC}/fc", {"spec": {"image": "y"}, "status": {"nodes": "1/1"}})
    assert "status" not in main
    status = await http.patch(
        f"{FC}/fc/status", {"spec": {"image": "z"}, "status": {"nodes": "1/1"}}
    )
    assert (status["spec"]["image"], status["status"]) == ("y", {"nodes": "1/1"})


async def test_a_stale_resource_version_is_a_conflict(http):
    created = await http.create(CM, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    stale = created["metadata"]["resourceVersion"]
    await http.patch(f"{CM}/c", {"data": {"a": "2"}})
    for method, body, content_type in [
        (
            "PATCH",
            {"metadata": {"resourceVersion": stale}, "data": {"a": "3"}},
            "application/merge-patch+json",
        ),
        (
            "PATCH",
            [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale}],
            JSON_PATCH,
        ),
        ("PUT", {**created, "data": {"a": "3"}}, "application/json"),
    ]:
        status, answer = await http.call(method, f"{CM}/c", body, content_type)
        assert (status, answer["kind"], answer["reason"]) == (409, "Status", "Conflict")
        assert answer["message"] == (
            'Operation cannot be fulfilled on configmaps "c": the object has been modified;'
            " please apply your changes to the latest version and try again"
        )
    assert (await http.get(f"{CM}/c"))["data"] == {"a": "2"}


async def test_daemonset_selector_is_immutable(http):
    await http.create(DS, daemonset())
    change = {
        "spec": {
            "selector": {"matchLabels": {"app": "other"}},
            "template": {"metadata": {"labels": {"app": "other"}}},
        }
    }
    status, answer = await http.call("PATCH", f"{DS}/d", change, "application/merge-patch+json")
    assert (status, answer["reason"]) == (422, "Invalid")
    assert answer["message"].startswith(
        'DaemonSet.apps "d" is invalid: spec.selector: Invalid value: '
    )
    assert answer["message"].endswith(": field is immutable")
    assert answer["details"]["causes"][0]["field"] == "spec.selector"


async def test_a_selector_that_misses_the_template_is_invalid(http):
    body = daemonset()
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    status, answer = await http.call("POST", DS, body)
    assert status == 422
    assert "`selector` does not match template `labels`" in answer["message"]


async def test_put_replaces_with_optimistic_concurrency(http):
    created = await http.create(
        CM, {"metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"a": "1"}}
    )
    replaced = await http.ok(
        "PUT",
        f"{CM}/c",
        {**created, "data": {"b": "2"}, "metadata": {**created["metadata"], "labels": None}},
        "application/json",
    )
    assert replaced["data"] == {"b": "2"}
    assert "labels" not in replaced["metadata"]
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    status, _ = await http.call(
        "PUT", f"{CM}/missing", {**created, "metadata": {"name": "missing"}}
    )
    assert status == 404


async def test_leases_for_leader_election(http):
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "flowkeeper-operator"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }
    created = await http.create(LEASES, lease)
    taken = {**created, "spec": {**created["spec"], "holderIdentity": "b"}}
    renewed = await http.ok("PUT", f"{LEASES}/flowkeeper-operator", taken, "application/json")
    assert renewed["spec"]["holderIdentity"] == "b"
    # A second candidate with the old version loses the race.
    late = {**created, "spec": {**created["spec"], "holderIdentity": "c"}}
    status, answer = await http.call("PUT", f"{LEASES}/flowkeeper-operator", late)
    assert (status, answer["reason"]) == (409, "Conflict")
    discovery = await http.get("/apis/coordination.k8s.io/v1")
    assert [r["name"] for r in discovery["resources"]] == ["leases"]


async def test_create_answers_201_and_fills_server_fields(http):
    status, created = await http.call("POST", CM, {"metadata": {"generateName": "c-"}})
    assert status == 201
    metadata = created["metadata"]
    assert metadata["name"].startswith("c-")
    assert metadata["namespace"] == "ns"
    assert all(metadata[k] for k in ("uid", "resourceVersion", "creationTimestamp"))
    status, answer = await http.call("POST", CM, {"metadata": {"name": metadata["name"]}})
    assert (status, answer["reason"]) == (409, "AlreadyExists")


async def _watch_events(http, path, since):
    """Start watching ``path`` from ``since``; the returned function stops and gives the events."""
    response = await http.session.get(path, params={"watch": "true", "resourceVersion": since})
    lines = []

    async def read():
        async for line in response.content:
            lines.append(line)

    reader = asyncio.create_task(read())

    async def stop():
        await asyncio.sleep(0.2)
        reader.cancel()
        response.close()
        return lines

    return stop

"""Server-side apply as kube-apiserver answers it: ownership, pruning, conflicts, list types,
managedFields in the real fieldsV1 format, and Update operations recorded too."""

import json
from typing import Any

import yaml

from tests.emulator.conftest import CM, DS, FC, MERGE, daemonset
from tests.emulator.test_writes import _watch_events

APPLY = "application/apply-patch+yaml"


async def apply(
    http, path: str, body: Any, manager: str | None = "alice", *, force: bool = False, **query
) -> tuple[int, Any]:
    params = {**query}
    if manager is not None:
        params["fieldManager"] = manager
    if force:
        params["force"] = "true"
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {"Content-Type": APPLY}
    async with http.session.patch(path, data=text, params=params, headers=headers) as response:
        return response.status, await response.json()


def configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


def fields(obj: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    """managedFields by (manager, operation, subresource) -> fieldsV1."""
    return {
        (e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
        for e in obj["metadata"].get("managedFields", [])
    }


async def test_apply_creates_the_object_and_records_the_applier(http):
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {app: x}}\ndata: {a: '1'}\n"
    )
    status, created = await apply(http, f"{CM}/c", text)
    assert status == 201
    assert created["data"] == {"a": "1"}
    [entry] = created["metadata"]["managedFields"]
    assert set(entry) == {"manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"}
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("alice", "Apply", "v1")
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
    assert (await http.get(f"{CM}/c"))["metadata"]["managedFields"] == [entry]


async def test_apply_needs_a_field_manager_and_the_endpoint_s_kind(http):
    status, answer = await apply(http, f"{CM}/c", configmap(a="1"), manager=None)
    assert (status, answer["reason"]) == (422, "Invalid")
    assert answer["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for'
        " apply patch"
    )
    wrong = {**configmap(), "apiVersion": "apps/v1"}
    status, answer = await apply(http, f"{CM}/c", wrong)
    assert (status, answer["message"]) == (400, "invalid object type: apps/v1, Kind=ConfigMap")
    status, answer = await apply(http, f"{CM}/other", configmap())
    assert status == 400
    assert "does not match the name on the URL" in answer["message"]
    status, answer = await http.call("PATCH", f"{CM}/c?force=true", {"data": {}}, MERGE)
    assert (status, answer["reason"]) == (422, "Invalid")
    assert (await http.call("GET", f"{CM}/c"))[0] == 404  # nothing was created


async def test_a_field_its_only_applier_stops_applying_is_removed(http):
    await apply(http, f"{CM}/c", configmap(a="1", b="2"))
    await apply(http, f"{CM}/c", configmap(a="1", b="2"), manager="bob")
    # b is shared with bob: it stays when alice drops it, and goes when bob drops it too.
    shared = (await apply(http, f"{CM}/c", configmap(a="1")))[1]
    assert shared["data"] == {"a": "1", "b": "2"}
    assert fields(shared)["alice", "Apply", ""] == {"f:data": {"f:a": {}}}
    dropped = (await apply(http, f"{CM}/c", configmap(a="1"), manager="bob"))[1]
    assert dropped["data"] == {"a": "1"}


async def test_changing_another_manager_s_field_is_a_conflict_unless_forced(http):
    await apply(http, f"{CM}/c", configmap(a="1", b="1"))
    status, answer = await apply(http, f"{CM}/c", configmap(a="2"), manager="bob")
    assert (status, answer["reason"]) == (409, "Conflict")
    assert answer["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.a'
    assert answer["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".data.a"}
    ]
    status, answer = await apply(http, f"{CM}/c", configmap(a="2", b="2"), manager="bob")
    assert answer["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .data.a\n- .data.b'
    )
    status, forced = await apply(http, f"{CM}/c", configmap(a="2"), manager="bob", force=True)
    assert status == 200
    assert forced["data"] == {"a": "2", "b": "1"}
    assert fields(forced) == {
        ("alice", "Apply", ""): {"f:data": {"f:b": {}}},
        ("bob", "Apply", ""): {"f:data": {"f:a": {}}},
    }


async def test_updates_are_recorded_and_take_the_fields_they_change(http, k8s):
    created = await http.create(CM, {"metadata": {"name": "c"}, "data": {"a": "1", "b": "1"}})
    assert fields(created) == {
        ("flowkeeper-tests", "Update", ""): {"f:data": {".": {}, "f:a": {}, "f:b": {}}}
    }
    patched = await http.patch(f"{CM}/c?fieldManager=editor", {"data": {"a": "2"}})
    assert fields(patched) == {
        ("editor", "Update", ""): {"f:data": {"f:a": {}}},
        ("flowkeeper-tests", "Update", ""): {"f:data": {".": {}, "f:b": {}}},
    }
    _status, answer = await apply(http, f"{CM}/c", configmap(a="3"))
    assert answer["message"] == (
        'Apply failed with 1 conflict: conflict with "editor" using v1: .data.a'
    )
    # A patch that changes nothing changes no owner, no time and no resourceVersion.
    again = await http.patch(f"{CM}/c?fieldManager=other", {"data": {"a": "2"}})
    assert again == patched


async def test_list_maps_merge_by_key_and_sets_by_value(http):
    body = daemonset()
    body["metadata"]["finalizers"] = ["example.com/a"]
    pod = body["spec"]["template"]["spec"]
    pod["containers"][0]["ports"] = [{"containerPort": 2055, "name": "netflow"}]
    await apply(http, f"{DS}/d", body)
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "d", "finalizers": ["example.com/b"]},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:1"}]}}},
    }
    status, merged = await apply(http, f"{DS}/d", sidecar, manager="bob")
    assert status == 200, merged
    containers = merged["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["c", "side"]
    assert containers[0]["ports"] == [{"containerPort": 2055, "name": "netflow", "protocol": "TCP"}]
    assert merged["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    alice = fields(merged)["alice", "Apply", ""]
    container = alice["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["."] == {}
    assert container["f:image"] == {}
    port = 'k:{"containerPort":2055,"protocol":"TCP"}'
    assert container["f:ports"][port] == {".": {}, "f:containerPort": {}, "f:name": {}}
    assert alice["f:metadata"]["f:finalizers"] == {'v:"example.com/a"': {}}
    assert alice["f:spec"]["f:selector"] == {}  # an atomic struct is one leaf
    # alice drops her container: only bob's stays; defaults come back on what remains.
    body["spec"]["template"]["spec"]["containers"] = [{"name": "side", "image": "side:1"}]
    status, pruned = await apply(http, f"{DS}/d", body)
    assert [c["name"] for c in pruned["spec"]["template"]["spec"]["containers"]] == ["side"]


async def test_atomic_lists_are_owned_whole(http):
    await apply(http, f"{DS}/d", daemonset(tolerations=[{"operator": "Exists"}]))
    other = daemonset(tolerations=[{"key": "k", "operator": "Exists"}])
    status, answer = await apply(http, f"{DS}/d", other, manager="bob")
    assert status == 409
    assert ".spec.template.spec.tolerations" in answer["message"]


async def test_an_unchanged_apply_is_a_no_op(http, k8s):
    body = daemonset()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "0.5"}}
    _, created = await apply(http, f"{DS}/d", body)
    limits = created["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "500m"}
    assert created["metadata"]["generation"] == 1
    events = await _watch_events(http, DS, created["metadata"]["resourceVersion"])
    _status, again = await apply(http, f"{DS}/d", body)
    assert again == created
    assert await events() == []
    body["metadata"]["labels"]["extra"] = "x"
    labelled = (await apply(http, f"{DS}/d", body))[1]
    assert labelled["metadata"]["generation"] == 1
    body["spec"]["minReadySeconds"] = 5
    assert (await apply(http, f"{DS}/d", body))[1]["metadata"]["generation"] == 2


async def test_dry_run_apply_stores_nothing(http, k8s):
    status, answer = await apply(http, f"{CM}/c", configmap(a="1"), dryRun="All")
    assert status == 201
    assert answer["data"] == {"a": "1"}
    assert k8s.object("configmaps", "ns", "c") is None


def flowcollector(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1",
        "kind": "FlowCollector",
        "metadata": {"name": "fc"},
        "spec": {
            "image": "registry.example.com/collector:1.0",
            "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
            "nats": {"url": "nats://nats:4222"},
            **spec,
        },
    }


async def test_an_applied_custom_resource_and_its_status_writer_coexist(http):
    await apply(http, f"{FC}/fc", flowcollector(), manager="kubectl")
    now = "2026-01-02T03:04:05Z"
    condition = {"type": "Ready", "status": "True", "reason": "Ready", "message": "ok"}
    condition["lastTransitionTime"] = now
    status = {"status": {"observedGeneration": 1, "conditions": [condition]}}
    written = await http.patch(f"{FC}/fc/status?fieldManager=flowkeeper", status)
    assert fields(written)["flowkeeper", "Update", "status"] == {
        "f:status": {
            ".": {},
            "f:conditions": {".": {}, 'k:{"type":"Ready"}': {
                ".": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {},
                "f:status": {}, "f:type": {}}},
            "f:observedGeneration": {},
        }
    }  # fmt: skip
    code, applied = await apply(
        http, f"{FC}/fc", {**flowcollector(nodeSelector={"a": "b"}), "status": {}}, "kubectl"
    )
    assert code == 200, applied
    assert applied["status"] == status["status"]
    assert applied["metadata"]["generation"] == 2
    kubectl = fields(applied)["kubectl", "Apply", ""]
    assert kubectl == {
        "f:spec": {
            "f:image": {},
            "f:listeners": {},
            "f:nats": {"f:url": {}},
            "f:nodeSelector": {"f:a": {}},
        }
    }  # the listeners list has no list type in the CRD: atomic
    # Status apply: its own entry, and the condition list merges by type.
    other = {"type": "Degraded", "status": "False", "reason": "Fine", "message": "ok"}
    other["lastTransitionTime"] = now
    body = {**flowcollector(), "status": {"conditions": [other]}}
    del body["spec"]
    code, applied = await apply(http, f"{FC}/fc/status", body, "checker")
    assert code == 200, applied
    assert [c["type"] for c in applied["status"]["conditions"]] == ["Ready", "Degraded"]
    assert ("checker", "Apply", "status") in fields(applied)


async def test_kubectl_server_side_apply_keeps_the_last_applied_annotation_current(http):
    last = "kubectl.kubernetes.io/last-applied-configuration"
    old = {**configmap(a="1"), "metadata": {"name": "c", "annotations": {last: "{}"}}}
    await http.create(CM, {**old, "metadata": {**old["metadata"]}})
    status, applied = await apply(http, f"{CM}/c", configmap(a="2"), manager="kubectl")
    assert status == 409  # "a" is the client-side create's, and not in its annotation
    await http.patch(
        f"{CM}/c", {"metadata": {"annotations": {last: json.dumps(configmap(a="1", b="1"))}}}
    )
    # b was changed since by another writer: its live value is not the annotation's, so
    # changing it is still a conflict (and only it is reported).
    await http.patch(f"{CM}/c?fieldManager=editor", {"data": {"b": "2"}})
    status, applied = await apply(http, f"{CM}/c", configmap(a="2", b="3"), manager="kubectl")
    assert applied["message"] == (
        'Apply failed with 1 conflict: conflict with "editor" using v1: .data.b'
    )
    status, applied = await apply(http, f"{CM}/c", configmap(a="2", b="2"), manager="kubectl")
    assert status == 200, applied
    assert yaml.safe_load(applied["metadata"]["annotations"][last]) == configmap(a="2", b="2")


async def test_a_create_owns_what_go_s_empty_object_lacks(http):
    """kubectl create's entry on a real cluster: no "." for struct fields Go always holds
    (spec, template) nor for the required containers list; "." for the labels map."""
    created = await http.create(DS, daemonset())
    owned = fields(created)["flowkeeper-tests", "Update", ""]
    assert owned["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert "." not in owned["f:spec"]
    assert "." not in owned["f:spec"]["f:template"]
    pod = owned["f:spec"]["f:template"]["f:spec"]
    assert list(pod["f:containers"]) == ['k:{"name":"c"}']
    assert pod["f:containers"]['k:{"name":"c"}']["f:resources"] == {}
    assert owned["f:spec"]["f:updateStrategy"]["f:rollingUpdate"]["."] == {}


async def test_a_conflict_names_list_items_by_their_keys(http):
    await apply(http, f"{DS}/d", daemonset())
    other = daemonset()
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/x:2"
    status, answer = await apply(http, f"{DS}/d", other, manager="ci")
    assert status == 409
    assert answer["message"] == (
        'Apply failed with 1 conflict: conflict with "alice":'
        ' .spec.template.spec.containers[name="c"].image'
    )


async def test_past_ten_updaters_the_oldest_become_ancient_changes(http):
    await apply(http, f"{CM}/c", configmap(a="1"))
    for n in range(11):
        await http.patch(f"{CM}/c?fieldManager=m{n:02}", {"data": {f"k{n:02}": "x"}})
    owners = fields(await http.get(f"{CM}/c"))
    updaters = sorted(m for m, operation, _ in owners if operation == "Update")
    assert updaters == ["ancient-changes"] + [f"m{n:02}" for n in range(2, 11)]
    assert owners["ancient-changes", "Update", ""] == {"f:data": {"f:k00": {}, "f:k01": {}}}
    assert ("alice", "Apply", "") in owners  # appliers are never merged

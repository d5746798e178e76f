"""Patch formats: JSON merge (lists replaced), JSON patch, strategic merge (lists by key)."""

from tests.emulator.conftest import CM, DS, FC, JSON_PATCH, daemonset, flowcollector

STRATEGIC = "application/strategic-merge-patch+json"


async def test_strategic_merge_merges_lists_by_their_key(http):
    body = daemonset()
    pod = body["spec"]["template"]["spec"]
    pod["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    pod["containers"].append({"name": "sidecar", "image": "sidecar:1"})
    await http.create(DS, body)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
                        },
                        {"name": "sidecar", "$patch": "delete"},
                    ],
                    "tolerations": [{"operator": "Exists"}],
                }
            }
        }
    }
    patched = await http.patch(f"{DS}/d", patch, STRATEGIC)
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["c"]
    assert containers[0]["image"] == "registry.example.com/collector:1.0"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    assert patched["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]


async def test_strategic_merge_adds_finalizers_as_a_set(http):
    await http.create(CM, {"metadata": {"name": "c", "finalizers": ["a"]}})
    patched = await http.patch(f"{CM}/c", {"metadata": {"finalizers": ["b", "a"]}}, STRATEGIC)
    assert patched["metadata"]["finalizers"] == ["a", "b"]
    merged = await http.patch(f"{CM}/c", {"metadata": {"finalizers": ["c"]}})
    assert merged["metadata"]["finalizers"] == ["c"]  # a JSON merge patch replaces the list


async def test_custom_resources_refuse_strategic_merge(http):
    await http.create(FC, flowcollector("fc"))
    status, answer = await http.call("PATCH", f"{FC}/fc", {"spec": {"a": 1}}, STRATEGIC)
    assert (status, answer["reason"]) == (415, "UnsupportedMediaType")


async def test_json_patch_needs_a_list(http):
    await http.create(CM, {"metadata": {"name": "c"}})
    status, _ = await http.call("PATCH", f"{CM}/c", {"data": {"a": "1"}}, JSON_PATCH)
    assert status == 400
    patched = await http.patch(
        f"{CM}/c", [{"op": "add", "path": "/data", "value": {"a": "1"}}], JSON_PATCH
    )
    assert patched["data"] == {"a": "1"}


async def test_a_json_patch_test_guards_a_status_write_by_uid(http):
    """The operator binds each status write to the FlowCollector's uid with a ``test`` op; a
    failed test is 422 and writes nothing, as kube-apiserver answers a JSON patch that does
    not apply (k8s.io/apiserver .../handlers/patch.go: jsonpatch Apply error ->
    StatusUnprocessableEntity)."""
    created = await http.create(FC, flowcollector("fc"))
    status = "/status"
    stale = [
        {"op": "test", "path": "/metadata/uid", "value": "another-uid"},
        {"op": "add", "path": "/status", "value": {"observedGeneration": 7}},
    ]
    code, _ = await http.call("PATCH", f"{FC}/fc{status}", stale, JSON_PATCH)
    assert code == 422
    assert "status" not in await http.get(f"{FC}/fc")
    bound = [{**stale[0], "value": created["metadata"]["uid"]}, stale[1]]
    patched = await http.patch(f"{FC}/fc{status}", bound, JSON_PATCH)
    assert patched["status"] == {"observedGeneration": 7}

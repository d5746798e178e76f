"""?dryRun=All: the answer is what would be stored (normalised, defaulted), and nothing is."""

from tests.emulator.conftest import CM, DS, SVC, daemonset, service


async def test_a_dry_run_create_shows_the_stored_form_and_stores_nothing(http, k8s):
    body = daemonset()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 0.5}}
    mark = k8s.api.store.version
    status, shown = await http.call("POST", f"{DS}?dryRun=All", body)
    assert status == 201
    container = shown["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "500m"}}
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert "resourceVersion" not in shown["metadata"]
    assert (await http.call("GET", f"{DS}/d"))[0] == 404
    assert k8s.api.store.version == mark


async def test_a_dry_run_patch_changes_nothing(http, k8s):
    created = await http.create(SVC, service(type="NodePort"))
    ports = set(k8s.api.allocator.ports)
    status, shown = await http.call(
        "PATCH",
        f"{SVC}/s?dryRun=All",
        {"spec": {"ports": [{"name": "p", "port": 2055}, {"name": "q", "port": 6343}]}},
        "application/merge-patch+json",
    )
    assert status == 200
    assert shown["spec"]["ports"][1]["nodePort"]
    assert await http.get(f"{SVC}/s") == created
    assert k8s.api.allocator.ports == ports  # the dry run's node port was not kept


async def test_a_dry_run_delete_keeps_the_object(http):
    await http.create(CM, {"metadata": {"name": "c"}})
    status, answer = await http.call("DELETE", f"{CM}/c?dryRun=All")
    assert (status, answer["status"]) == (200, "Success")
    assert (await http.call("GET", f"{CM}/c"))[0] == 200
    status, _ = await http.call("DELETE", f"{CM}/c?dryRun=Some")
    assert status == 400

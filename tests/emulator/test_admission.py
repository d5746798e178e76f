"""OwnerReferencesPermissionEnforcement, as OpenShift enables it by default."""

from tests.emulator.conftest import CM, FC, flowcollector

OPERATOR = "flowkeeper-operator/0.1"
OWNS_CHILDREN = {
    "apiGroups": [""],
    "resources": ["configmaps"],
    "verbs": ["create", "delete", "patch"],
}
FINALIZERS = {
    "apiGroups": ["flows.flowkeeper.dev"],
    "resources": ["flowcollectors/finalizers"],
    "verbs": ["update"],
}


async def _as_operator(http, body):
    async with http.session.post(CM, json=body, headers={"User-Agent": OPERATOR}) as response:
        return response.status, await response.json()


def child(owner, block=True):
    ref = {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1",
        "kind": "FlowCollector",
        "name": "fc",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }
    return {"metadata": {"name": "child", "ownerReferences": [ref]}}


async def test_block_owner_deletion_needs_update_on_the_owners_finalizers(http, k8s):
    owner = await http.create(FC, flowcollector("fc"))
    k8s.enforce_owner_references([OWNS_CHILDREN])
    status, answer = await _as_operator(http, child(owner))
    assert (status, answer["reason"]) == (403, "Forbidden")
    assert (
        "cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set"
        " finalizers on" in answer["message"]
    )
    assert '"flowcollectors/finalizers" in API group "flows.flowkeeper.dev"' in answer["message"]
    # Without blockOwnerDeletion the same ownerReference is fine.
    assert (await _as_operator(http, child(owner, block=False)))[0] == 201


async def test_granted_finalizers_allow_it(http, k8s):
    owner = await http.create(FC, flowcollector("fc"))
    k8s.enforce_owner_references([OWNS_CHILDREN, FINALIZERS])
    assert (await _as_operator(http, child(owner)))[0] == 201


async def test_off_by_default_and_the_tests_own_client_is_exempt(http, k8s):
    owner = await http.create(FC, flowcollector("fc"))
    assert (await _as_operator(http, child(owner)))[0] == 201
    k8s.enforce_owner_references([])
    await http.ok("DELETE", f"{CM}/child")
    assert (await http.call("POST", CM, child(owner)))[0] == 201


async def test_changing_owner_references_later_needs_delete_on_the_object(http, k8s):
    owner = await http.create(FC, flowcollector("fc"))
    await http.create(CM, {"metadata": {"name": "child"}})
    k8s.enforce_owner_references([{**OWNS_CHILDREN, "verbs": ["create", "patch"]}, FINALIZERS])
    patch = {"metadata": child(owner)["metadata"]}
    headers = {"User-Agent": OPERATOR, "Content-Type": "application/merge-patch+json"}
    async with http.session.patch(f"{CM}/child", json=patch, headers=headers) as response:
        answer = await response.json()
    assert (response.status, answer["reason"]) == (403, "Forbidden")
    assert "cannot set an ownerRef on a resource you can't delete" in answer["message"]

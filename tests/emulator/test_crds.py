"""CustomResourceDefinitions as API objects: what they define is served and validated."""

import copy
from pathlib import Path

import pytest
import yaml

from e2e.apiserver import crd_validation
from e2e.emulator import serve
from tests.emulator.kubectl_cli import Kubectl, versions

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/ns/widgets"
MERGE = "application/merge-patch+json"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wg"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-validations": [
                            {
                                "rule": "self.metadata.name != 'forbidden'",
                                "message": "this name is taken",
                                "reason": "FieldValueForbidden",
                            }
                        ],
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {
                                        "type": "integer",
                                        "x-kubernetes-validations": [
                                            {
                                                "rule": "self >= oldSelf",
                                                "messageExpression": (
                                                    "'size may not shrink from ' + string(oldSelf)"
                                                ),
                                            }
                                        ],
                                    },
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


async def established(http, name):
    crd = await http.get(f"{CRDS}/{name}")
    return {c["type"]: c["status"] for c in crd["status"]["conditions"]}


async def test_the_flowcollector_crd_is_installed_and_established(http):
    listed = await http.get(CRDS)
    assert [i["metadata"]["name"] for i in listed["items"]] == [
        "flowcollectors.flows.flowkeeper.dev"
    ]
    assert await established(http, "flowcollectors.flows.flowkeeper.dev") == {
        "NamesAccepted": "True",
        "Established": "True",
    }


async def test_a_created_crd_is_served_and_validates(http):
    created = await http.create(CRDS, WIDGET_CRD)
    assert created["metadata"]["generation"] == 1
    assert await established(http, "widgets.example.com") == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    crd = await http.get(f"{CRDS}/widgets.example.com")
    assert crd["status"]["acceptedNames"]["listKind"] == "WidgetList"
    assert crd["status"]["storedVersions"] == ["v1"]
    discovery = await http.get("/apis/example.com/v1")
    [widgets] = [r for r in discovery["resources"] if r["name"] == "widgets"]
    assert (widgets["kind"], widgets["shortNames"]) == ("Widget", ["wg"])
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    widget = await http.create(WIDGETS, {**body, "spec": {"size": 2, "port": "http", "note": None}})
    assert widget["spec"] == {"size": 2, "port": "http", "note": None}
    assert widget["metadata"]["generation"] == 1
    # A transition rule (oldSelf) holds on update, with its messageExpression.
    status, answer = await http.call("PATCH", f"{WIDGETS}/w", {"spec": {"size": 1}}, MERGE)
    assert status == 422, answer
    assert answer["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "integer": size may not shrink from 2',
            "field": "spec.size",
        }
    ]
    status, answer = await http.call(
        "POST",
        WIDGETS,
        {**body, "metadata": {"name": "v"}, "spec": {"tags": ["a", "a"], "port": 1.5}},
    )
    assert status == 422
    assert {(c["field"], c["message"]) for c in answer["details"]["causes"]} == {
        ("spec.tags[1]", 'Duplicate value: "a"'),
        (
            "spec.port",
            'Invalid value: "number": spec.port in body must be of type integer,string: "number"',
        ),
    }


async def test_a_root_rule_sees_the_name(http):
    await http.create(CRDS, WIDGET_CRD)
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "forbidden"}}
    status, answer = await http.call("POST", WIDGETS, body)
    assert status == 422
    assert answer["message"] == (
        'Widget.example.com "forbidden" is invalid: <nil>: Forbidden: this name is taken'
    )
    assert answer["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: this name is taken",
            "field": "<nil>",
        }
    ]


async def test_a_crd_update_changes_what_is_served(http):
    await http.create(CRDS, WIDGET_CRD)
    body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, "note": "n"},
    }
    await http.create(WIDGETS, body)
    changed = copy.deepcopy(WIDGET_CRD["spec"])
    changed["versions"][0]["subresources"] = {}  # the same objects, without /status now
    properties = changed["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]
    properties["color"] = {"type": "string", "default": "blue", "enum": ["blue", "red"]}
    del properties["note"]
    patched = await http.patch(f"{CRDS}/widgets.example.com", {"spec": changed})
    assert patched["metadata"]["generation"] == 2
    # Defaults apply to what is stored (kube-apiserver defaults on read) and to new writes.
    # Pruning too: a field the schema dropped is gone when read.
    assert (await http.get(f"{WIDGETS}/w"))["spec"] == {"size": 1, "color": "blue"}
    status, _ = await http.call("GET", f"{WIDGETS}/w/status")
    assert status == 404
    status, answer = await http.call("PATCH", f"{WIDGETS}/w", {"spec": {"color": "green"}}, MERGE)
    assert status == 422, answer


async def test_deleting_a_crd_deletes_its_resources_and_stops_serving_them(http, k8s):
    await http.create(CRDS, WIDGET_CRD)
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    await http.create(WIDGETS, {**body, "metadata": {"name": "w", "finalizers": ["x/y"]}})
    await http.create(WIDGETS, {**body, "metadata": {"name": "plain"}})
    await http.ok("DELETE", f"{CRDS}/widgets.example.com")
    # The CRD waits, terminating, for the widget its finalizer holds; the other one is gone.
    crd = await http.get(f"{CRDS}/widgets.example.com")
    assert crd["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    terminating = next(c for c in crd["status"]["conditions"] if c["type"] == "Terminating")
    assert (terminating["status"], terminating["reason"]) == ("True", "InstanceDeletionInProgress")
    assert k8s.object("widgets", "ns", "plain") is None
    held = await http.get(f"{WIDGETS}/w")
    assert held["metadata"]["deletionTimestamp"]
    status, answer = await http.call("POST", WIDGETS, {**body, "metadata": {"name": "new"}})
    assert (status, answer["message"]) == (
        405,
        "create not allowed while custom resource definition is terminating",
    )
    # Its finalizer removed, the widget goes, and the CRD with it.
    await http.patch(f"{WIDGETS}/w", {"metadata": {"finalizers": None}})
    assert k8s.object("widgets", "ns", "w") is None
    status, _ = await http.call("GET", f"{CRDS}/widgets.example.com")
    assert status == 404
    status, _ = await http.call("GET", f"{WIDGETS}/w")
    assert status == 404


async def test_a_crd_named_unlike_its_resource_is_refused(http):
    bad = copy.deepcopy(WIDGET_CRD)
    bad["metadata"]["name"] = "gadgets.example.com"
    status, answer = await http.call("POST", CRDS, bad)
    assert status == 422
    assert answer["details"]["causes"][0]["field"] == "metadata.name"


@pytest.fixture(params=versions())
def kubectl(request, k8s, tmp_path):
    assert k8s.kubeconfig is not None
    return Kubectl(request.param, k8s.kubeconfig, tmp_path / "home")


async def test_kubectl_waits_for_established_and_uses_a_new_kind(kubectl):
    waited = await kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=10s",
        "customresourcedefinitions/flowcollectors.flows.flowkeeper.dev",
    )
    assert waited.code == 0, waited.err

    applied = await kubectl("apply", "-f", "-", stdin=yaml.safe_dump(WIDGET_CRD))
    assert applied.code == 0, applied.err
    widget = (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: ns}\n"
        "spec: {size: 3, unknown: 1}\n"
    )
    refused = await kubectl("apply", "-f", "-", stdin=widget)
    assert 'unknown field "spec.unknown"' in refused.err
    created = await kubectl("apply", "-f", "-", stdin=widget.replace(", unknown: 1", ""))
    assert created.code == 0, created.err
    got = await kubectl("get", "wg", "w", "-n", "ns", "-o", "jsonpath={.spec.size}")
    assert (got.code, got.out) == (0, "3")
    deleted = await kubectl("delete", "customresourcedefinitions", "widgets.example.com")
    assert deleted.code == 0, deleted.err
    assert "widgets.example.com" in deleted.out
    assert (await kubectl("get", "wg", "w", "-n", "ns")).code == 1


async def test_an_emulator_may_start_without_crds(tmp_path):
    async with serve(kubeconfig=tmp_path / "kubeconfig", crd_files=()) as bare:
        assert bare.api.crds.served == {}
        assert bare.api.crds.lookup("flows.flowkeeper.dev", "v1alpha1", "flowcollectors") is None
        assert not [k for k in bare.api.store.objects if k[0].plural == "customresourcedefinitions"]


async def test_a_crd_schema_a_real_server_refuses_is_refused(http):
    bad = copy.deepcopy(WIDGET_CRD)
    schema = bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]["properties"]
    spec["size"]["default"] = "big"  # not an integer
    spec["tags"]["uniqueItems"] = True
    spec["untyped"] = {"description": "no type"}
    spec["shape"] = {"type": "object", "default": {"x": 1}, "properties": {"y": {"type": "string"}}}
    spec["check"] = {"type": "string", "x-kubernetes-validations": [{"rule": "self ==="}]}
    status, answer = await http.call("POST", CRDS, bad)
    assert status == 422, answer
    base = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties"
    causes = {c["field"]: c["message"] for c in answer["details"]["causes"]}
    assert causes[f"{base}[size].default"] == (
        f'Invalid value: "string": {base}[size].default in body must be of type integer: "string"'
    )
    assert causes[f"{base}[tags].uniqueItems"].startswith("Forbidden: uniqueItems cannot be")
    assert causes[f"{base}[untyped].type"] == (
        "Required value: must not be empty for specified object fields"
    )
    assert causes[f"{base}[shape].default"] == (
        'Invalid value: map[string]interface {}{"x":1}: must not have unknown fields'
    )
    assert causes[f"{base}[check].x-kubernetes-validations[0].rule"].startswith(
        'Invalid value: "self ===": compilation failed: '
    )
    assert len(causes) == 5


def test_the_projects_crds_pass_the_servers_checks():
    root = Path(__file__).resolve().parents[2]
    for path in [root / "crds" / "flowcollector.yaml", *root.glob("charts/*/crds/*.yaml")]:
        assert crd_validation.validate_schemas(yaml.safe_load(path.read_text())) == [], path

"""FlowCollectors validated, pruned and defaulted from crds/flowcollector.yaml as kube-apiserver
does (the 422's causes carry the real server's field paths and wording)."""

from pathlib import Path

import pytest
import yaml

from e2e.apiserver import cel
from tests.emulator.conftest import FC, flowcollector

CRD = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "crds" / "flowcollector.yaml").read_text()
)
SCHEMA = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


async def refused(http, body, path=FC, method="POST", content_type="application/json"):
    status, answer = await http.call(method, path, body, content_type)
    assert (status, answer["reason"]) == (422, "Invalid"), answer
    return {(c["field"], c["message"]) for c in answer["details"]["causes"]}, answer


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            {"listeners": [{"name": "a", "protocol": "netflow", "port": 70000}]},
            "spec.listeners[0].port",
            "Invalid value: 70000: spec.listeners[0].port in body should be less than or equal"
            " to 65535",
        ),
        (
            {"listeners": [{"name": "a", "protocol": "netflow", "port": 0}]},
            "spec.listeners[0].port",
            "Invalid value: 0: spec.listeners[0].port in body should be greater than or equal to 1",
        ),
        (
            {"listeners": [{"name": "a", "protocol": "netflow", "port": "2055"}]},
            "spec.listeners[0].port",
            'Invalid value: "string": spec.listeners[0].port in body must be of type integer:'
            ' "string"',
        ),
        (
            {"imagePullPolicy": "Sometimes"},
            "spec.imagePullPolicy",
            'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
        ),
        ({"image": "x" * 513}, "spec.image", "Too long: may not be longer than 512"),
        (
            {"image": ""},
            "spec.image",
            'Invalid value: "": spec.image in body should be at least 1 chars long',
        ),
        (
            {"nats": {"url": "http://nats:4222"}},
            "spec.nats.url",
            'Invalid value: "http://nats:4222": spec.nats.url in body should match'
            " '^(nats|tls|ws|wss)://[^\\s]+$'",
        ),
        ({"nats": {}}, "spec.nats.url", "Required value"),
        (
            {"listeners": []},
            "spec.listeners",
            "Invalid value: 0: spec.listeners in body should have at least 1 items",
        ),
        (
            {
                "listeners": [
                    {"name": f"l{i}", "protocol": "sflow", "port": 1000 + i} for i in range(17)
                ]
            },
            "spec.listeners",
            "Too many: 17: must have at most 16 items",
        ),
        (
            {"resources": {"limits": {"cpu": "lots"}}},
            "spec.resources.limits.cpu",
            'Invalid value: "lots": spec.resources.limits.cpu in body should match'
            " '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?"
            "(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'",
        ),
        (
            {"resources": {"limits": {"cpu": True}}},
            "spec.resources.limits.cpu",
            'Invalid value: "boolean": spec.resources.limits.cpu in body must be of type'
            ' integer,string: "boolean"',
        ),
    ],
)
async def test_structural_schema(http, spec, field, message):
    causes, answer = await refused(http, flowcollector(**spec))
    assert (field, message) in causes
    assert answer["message"].startswith('FlowCollector.flows.flowkeeper.dev "fc" is invalid: ')
    assert f"{field}: {message}" in answer["message"]


async def test_int_or_string_with_any_of_reports_as_kube_openapi(http):
    causes, _ = await refused(http, flowcollector(resources={"limits": {"cpu": True}}))
    path = "spec.resources.limits.cpu"
    assert causes == {
        ("", f'Invalid value: "": "{path}" must validate at least one schema (anyOf)'),
        (
            path,
            f'Invalid value: "boolean": {path} in body must be of type integer,string: "boolean"',
        ),
        (path, f'Invalid value: "boolean": {path} in body must be of type integer: "boolean"'),
    }


async def test_required_fields_and_metadata_name(http):
    body = flowcollector("x" * 56)
    del body["spec"]["image"]
    causes, _ = await refused(http, body)
    assert ("spec.image", "Required value") in causes
    assert ("metadata.name", "Too long: may not be longer than 55") in causes
    causes, _ = await refused(http, {"metadata": {"name": "fc"}})
    assert causes == {("spec", "Required value")}


# One FlowCollector breaking each CEL rule of the CRD: (spec, field, cause message).
CEL_CASES = [
    (
        {"metrics": {"port": 2055}},
        "spec.metrics.port",
        'Invalid value: "object": spec.metrics.port must differ from every listener port',
    ),
    (
        {"listeners": [{"name": "a", "protocol": "netflow", "port": 1}] * 2},
        "spec.listeners",
        'Invalid value: "array": listener names must be unique',
    ),
    (
        {
            "listeners": [
                {"name": "a", "protocol": "netflow", "port": 1},
                {"name": "b", "protocol": "netflow", "port": 1},
            ]
        },
        "spec.listeners",
        'Invalid value: "array": listener ports must be unique',
    ),
    (
        {"listeners": [{"name": "123", "protocol": "netflow", "port": 1}]},
        "spec.listeners[0].name",
        'Invalid value: "string": listener name must contain at least one letter',
    ),
    (
        {"listeners": [{"name": "metrics", "protocol": "netflow", "port": 1}]},
        "spec.listeners[0].name",
        "Invalid value: \"string\": listener name 'metrics' is reserved for the metrics port",
    ),
    (
        {"service": {"type": "NodePort", "loadBalancerIP": "10.0.0.1"}},
        "spec.service.loadBalancerIP",
        'Invalid value: "object": spec.service.loadBalancerIP needs spec.service.type LoadBalancer',
    ),
    (
        {"nats": {"url": "tls://nats:4222", "tls": {"secretName": "s", "certKey": ""}}},
        "spec.nats.tls.keyKey",
        'Invalid value: "object": spec.nats.tls.certKey and keyKey must both be set or both'
        " be empty",
    ),
    (
        {
            "nats": {
                "url": "tls://nats:4222",
                "tls": {"secretName": "s", "caKey": "", "certKey": "", "keyKey": ""},
            }
        },
        "spec.nats.tls.caKey",
        'Invalid value: "object": spec.nats.tls needs caKey, or certKey and keyKey',
    ),
]


@pytest.mark.parametrize(("spec", "field", "message"), CEL_CASES)
async def test_every_cel_rule_of_the_crd(http, spec, field, message):
    causes, _ = await refused(http, flowcollector(**spec))
    assert (field, message) in causes


def rules(node):
    for rule in node.get("x-kubernetes-validations") or []:
        yield rule["rule"]
    for child in (node.get("properties") or {}).values():
        yield from rules(child)
    if isinstance(node.get("items"), dict):
        yield from rules(node["items"])


def messages(node):
    for rule in node.get("x-kubernetes-validations") or []:
        yield rule["message"]
    for child in (node.get("properties") or {}).values():
        yield from messages(child)
    if isinstance(node.get("items"), dict):
        yield from messages(node["items"])


def test_cel_python_compiles_every_rule_of_the_crd():
    """cel-python evaluates each rule the CRD uses (none needs a Kubernetes CEL library), and
    CEL_CASES breaks each one (a new rule needs its case there)."""
    for rule in rules(SCHEMA):
        cel.program(rule)
    covered = {message for _, _, message in CEL_CASES}
    for message in messages(SCHEMA):
        assert any(case.endswith(message) for case in covered), f"no case breaks: {message}"


def test_a_kubernetes_cel_library_function_is_a_runtime_error_here():
    """Not supported by cel-python: the Kubernetes CEL libraries (isSorted, url, quantity...).
    The emulator answers the cause kube-apiserver gives a rule that fails at run time."""
    schema = {
        "type": "array",
        "items": {"type": "integer"},
        "x-kubernetes-validations": [{"rule": "self.isSorted()"}],
    }
    [(field, reason, message)] = cel.check(schema, [2, 1], path="spec.x")
    assert (field, reason) == ("spec.x", "FieldValueInvalid")
    assert message.startswith('Invalid value: "array": failed rule: self.isSorted(): ')


async def test_cel_runs_after_defaults_and_not_on_type_errors(http):
    # metrics defaults to {enabled: true, port: 50046}: a listener on 50046 breaks the rule.
    causes, _ = await refused(
        http, flowcollector(listeners=[{"name": "a", "protocol": "netflow", "port": 50046}])
    )
    assert any(field == "spec.metrics.port" for field, _ in causes)
    causes, _ = await refused(
        http, flowcollector(listeners=[{"name": "metrics", "protocol": "netflow", "port": "x"}])
    )
    assert all("reserved" not in message for _, message in causes)  # hasBlockingErr


async def test_defaults_on_create_and_on_every_write(http):
    created = await http.create(FC, flowcollector())
    spec = created["spec"]
    assert spec["imagePullPolicy"] == "IfNotPresent"
    assert spec["metrics"] == {"enabled": True, "port": 50046}
    assert spec["service"] == {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}
    assert (spec["nats"]["subject"], spec["hostNetwork"]) == ("flows", False)
    patched = await http.patch(f"{FC}/fc", {"spec": {"metrics": None, "imagePullPolicy": None}})
    assert patched["spec"]["metrics"] == {"enabled": True, "port": 50046}
    assert patched["spec"]["imagePullPolicy"] == "IfNotPresent"
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    templated = await http.patch(f"{FC}/fc", {"spec": {"templateStore": {"kvBucket": "b"}}})
    assert templated["spec"]["templateStore"] == {
        "kvBucket": "b",
        "kvHistory": 1,
        "kvTtlSeconds": 0,
    }


async def test_unknown_fields_strict_warn_ignore(http):
    body = flowcollector(bogus=1)
    body["metadata"]["bogus"] = 2
    status, answer = await http.call("POST", f"{FC}?fieldValidation=Strict", body)
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == (
        'FlowCollector in version "v1alpha1" cannot be handled as a FlowCollector: strict'
        ' decoding error: unknown field "metadata.bogus", unknown field "spec.bogus"'
    )
    created = await http.create(FC, body)  # Warn, the default
    assert http.headers.getall("Warning") == [
        '299 - "unknown field \\"metadata.bogus\\""',
        '299 - "unknown field \\"spec.bogus\\""',
    ]
    assert "bogus" not in created["spec"]
    status, answer = await http.call(
        "PATCH",
        f"{FC}/fc?fieldValidation=Strict",
        {"spec": {"more": 1}},
        "application/merge-patch+json",
    )
    assert (status, answer["reason"]) == (422, "Invalid")
    [cause] = answer["details"]["causes"]
    assert cause["field"] == "patch"
    assert cause["message"].endswith('strict decoding error: unknown field "spec.more"')
    await http.patch(f"{FC}/fc?fieldValidation=Ignore", {"spec": {"more": 1}})
    assert "Warning" not in http.headers
    await http.patch(f"{FC}/fc/status", {"status": {"nodes": "1/1", "x": 1}})
    assert http.headers.getall("Warning") == ['299 - "unknown field \\"status.x\\""']


async def test_status_conditions_are_a_list_map(http):
    await http.create(FC, flowcollector())
    condition = {
        "type": "Ready",
        "status": "True",
        "reason": "Ready",
        "message": "",
        "lastTransitionTime": "2026-01-02T03:04:05Z",
    }
    causes, _ = await refused(
        http,
        {"status": {"conditions": [condition, condition]}},
        f"{FC}/fc/status",
        "PATCH",
        "application/merge-patch+json",
    )
    assert causes == {
        ("status.conditions[1]", 'Duplicate value: map[string]interface {}{"type":"Ready"}')
    }
    bad_time = {**condition, "lastTransitionTime": "yesterday"}
    causes, _ = await refused(
        http,
        {"status": {"conditions": [bad_time]}},
        f"{FC}/fc/status",
        "PATCH",
        "application/merge-patch+json",
    )
    assert (
        "status.conditions[0].lastTransitionTime",
        'Invalid value: "yesterday": status.conditions[0].lastTransitionTime in body must be of'
        ' type date-time: "yesterday"',
    ) in causes


async def test_preserved_and_null_fields(http):
    created = await http.create(
        FC, flowcollector(config={"any": {"thing": [1]}}, affinity={"x": 1}, priorityClassName=None)
    )
    assert created["spec"]["config"] == {"any": {"thing": [1]}}
    assert created["spec"]["affinity"] == {"x": 1}
    assert "priorityClassName" not in created["spec"]  # a non-nullable null is dropped


async def test_an_unchanged_invalid_value_ratchets(http, k8s):
    """CRDValidationRatcheting: an update may keep a value that is invalid under a schema
    tightened since it was stored, as long as it does not change it."""
    created = await http.create(FC, flowcollector())
    key = next(k for k in k8s.api.store.objects if k[0].plural == "flowcollectors")
    stored = {**created, "spec": {**created["spec"], "image": "x" * 600}}
    k8s.api.store.objects[key] = stored
    await http.patch(f"{FC}/fc", {"metadata": {"labels": {"a": "b"}}})
    causes, _ = await refused(
        http, {"spec": {"image": "y" * 601}}, f"{FC}/fc", "PATCH", "application/merge-patch+json"
    )
    assert causes == {("spec.image", "Too long: may not be longer than 512")}

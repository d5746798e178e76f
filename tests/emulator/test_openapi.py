"""OpenAPI v2/v3 as real kubectl reads them: client-side apply validates without
--validate=false, unknown fields are refused or warned about, explain prints field docs."""

from pathlib import Path

import pytest

from e2e.apiserver import crds, openapi, swagger_pb
from tests.emulator.kubectl_cli import Kubectl, versions

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "flowcollector.yaml"
SAMPLE = ROOT / "e2e" / "samples" / "flowcollector.yaml"


@pytest.fixture(params=versions())
def kubectl(request, k8s, tmp_path):
    assert k8s.kubeconfig is not None
    return Kubectl(request.param, k8s.kubeconfig, tmp_path / "home")


def with_spec(line: str) -> str:
    """The sample with one more line under ``spec:``."""
    return SAMPLE.read_text().replace("spec:\n", f"spec:\n  {line}\n", 1)


async def test_apply_validates_against_the_served_openapi(kubectl, k8s):
    applied = await kubectl("apply", "-f", str(CRD))
    assert applied.code == 0, applied.err
    # (The emulator does not check that the namespace exists: none is created.)
    applied = await kubectl("apply", "-f", str(SAMPLE))
    assert applied.code == 0, applied.err
    assert "flowcollector.flows.flowkeeper.dev/edge created" in applied.out
    stored = k8s.object("flowcollectors", "netflow", "edge")
    assert stored is not None
    assert stored["spec"]["metrics"] == {"enabled": True, "port": 50046}  # CRD defaults


async def test_an_unknown_field_is_refused_by_default_and_warned_about_on_request(kubectl, k8s):
    refused = await kubectl("apply", "-f", "-", stdin=with_spec("bogus: 1"))
    assert refused.code == 1
    assert (
        'FlowCollector in version "v1alpha1" cannot be handled as a FlowCollector: strict'
        ' decoding error: unknown field "spec.bogus"' in refused.err
    )
    assert k8s.object("flowcollectors", "netflow", "edge") is None
    warned = await kubectl("apply", "--validate=warn", "-f", "-", stdin=with_spec("bogus: 1"))
    assert warned.code == 0, warned.err
    assert 'Warning: unknown field "spec.bogus"' in warned.err
    stored = k8s.object("flowcollectors", "netflow", "edge")
    assert stored is not None
    assert "bogus" not in stored["spec"]  # pruned
    # An update that adds an unknown field: a merge patch, refused as patch.go refuses it.
    patched = await kubectl("apply", "-f", "-", stdin=with_spec("other: 2"))
    assert patched.code == 1
    assert 'strict decoding error: unknown field "spec.other"' in patched.err


async def test_a_schema_error_reads_as_the_real_servers(kubectl):
    sample = SAMPLE.read_text().replace("port: 2055", "port: 70000")
    refused = await kubectl("apply", "-f", "-", stdin=sample)
    assert refused.code == 1
    assert refused.err.strip() == (
        'The FlowCollector "edge" is invalid: spec.listeners[0].port: Invalid value: 70000:'
        " spec.listeners[0].port in body should be less than or equal to 65535"
    )


async def test_explain_reads_the_crd_and_builtin_docs(kubectl):
    explained = await kubectl("explain", "flowcollectors.spec")
    assert explained.code == 0, explained.err
    assert "KIND:       FlowCollector" in explained.out
    assert "Desired state of the collector." in explained.out
    assert "listeners\t<[]Object> -required-" in explained.out
    assert "imagePullPolicy\t<string>" in explained.out
    nested = await kubectl("explain", "flowcollectors.spec.listeners.port")
    assert "UDP port the collector listens on" in nested.out
    pods = await kubectl("explain", "pods.spec")
    assert pods.code == 0, pods.err
    assert "containers\t<[]Container> -required-" in pods.out


def test_v2_protobuf_decodes_as_gnostic_document():
    """The protobuf answer decodes with the protobuf library, field for field."""
    descriptor = pytest.importorskip("google.protobuf.descriptor_pb2")
    from google.protobuf import descriptor_pool, message_factory

    # A hand-built subset of gnostic's openapi.v2 messages (numbers from OpenAPIv2.proto).
    file = descriptor.FileDescriptorProto(
        name="subset.proto", package="openapi.v2", syntax="proto3"
    )

    def message(name, *fields):
        msg = file.message_type.add(name=name)
        for number, field_name, kind, type_name, repeated in fields:
            field = msg.field.add(name=field_name, number=number)
            field.type = kind
            field.label = 3 if repeated else 1
            if type_name:
                field.type_name = f".openapi.v2.{type_name}"

    string, msg, boolean = 9, 11, 8
    message("Info", (1, "title", string, "", False), (2, "version", string, "", False))
    message("TypeItem", (1, "value", string, "", True))
    message("NamedSchema", (1, "name", string, "", False), (2, "value", msg, "Schema", False))
    message("Properties", (1, "additional_properties", msg, "NamedSchema", True))
    message("Definitions", (1, "additional_properties", msg, "NamedSchema", True))
    message(
        "Schema",
        (1, "_ref", string, "", False),
        (4, "description", string, "", False),
        (19, "required", string, "", True),
        (22, "type", msg, "TypeItem", False),
        (25, "properties", msg, "Properties", False),
        (16, "unique_items", boolean, "", False),
    )
    message(
        "Document",
        (1, "swagger", string, "", False),
        (2, "info", msg, "Info", False),
        (9, "definitions", msg, "Definitions", False),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    document = message_factory.GetMessageClass(pool.FindMessageTypeByName("openapi.v2.Document"))
    decoded = document.FromString(swagger_pb.document(openapi.v2(crds.Registry())))
    assert (decoded.swagger, decoded.info.title) == ("2.0", "Kubernetes")
    by_name = {d.name: d.value for d in decoded.definitions.additional_properties}
    spec = by_name["io.k8s.api.core.v1.PodSpec"]
    assert list(spec.required) == ["containers"]
    fields = {p.name: p.value for p in spec.properties.additional_properties}
    assert fields["containers"].type.value == ["array"]
    assert fields["affinity"]._ref == "#/definitions/io.k8s.api.core.v1.Affinity"


async def test_v3_follows_the_crds_in_force(http):
    """A CRD update changes its group-version's document, and so its hash in the index (kubectl
    caches documents by that URL); a deleted CRD's group-version leaves the index."""
    gv = "apis/flows.flowkeeper.dev/v1alpha1"
    before = (await http.get("/openapi/v3"))["paths"][gv]["serverRelativeURL"]
    crds_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crd_path = f"{crds_path}/flowcollectors.flows.flowkeeper.dev"
    crd = await http.get(crd_path)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "Changed."
    await http.ok("PUT", crd_path, crd, "application/json")
    after = (await http.get("/openapi/v3"))["paths"][gv]["serverRelativeURL"]
    assert after != before
    document = await http.get(after)
    schema = document["components"]["schemas"]["dev.flowkeeper.flows.v1alpha1.FlowCollector"]
    assert schema["description"] == "Changed."
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "flows.flowkeeper.dev", "kind": "FlowCollector", "version": "v1alpha1"}
    ]
    item = "/apis/flows.flowkeeper.dev/v1alpha1/namespaces/{namespace}/flowcollectors/{name}"
    patch = document["paths"][item]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    await http.ok("DELETE", crd_path)
    assert gv not in (await http.get("/openapi/v3"))["paths"]

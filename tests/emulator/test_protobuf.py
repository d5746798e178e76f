"""protobuf.py against bodies encoded field by field from k8s.io/api's generated.proto numbers."""

import pytest

from e2e.apiserver import protobuf


def varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return (
        protobuf.MAGIC
        + field(1, type_meta)
        + field(2, raw)
        + field(4, "application/vnd.kubernetes.protobuf")
    )


META = (
    field(1, "sh.helm.release.v1.fk.v1")
    + field(3, "flowkeeper")
    + entry(11, "owner", "helm")
    + entry(11, "status", "deployed")
    + entry(12, "note", "x")
    + field(
        13,
        field(1, "Deployment")
        + field(3, "web")
        + field(4, "u-1")
        + field(5, "apps/v1")
        + field(6, 1),
    )
    + field(14, "example.com/hold")
)


def test_secret() -> None:
    body = envelope(
        "v1",
        "Secret",
        field(1, META)
        + entry(2, "release", b"\x00\xffgz")
        + field(3, "helm.sh/release.v1")
        + field(5, 1),
    )
    assert protobuf.decode(body) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "sh.helm.release.v1.fk.v1",
            "namespace": "flowkeeper",
            "labels": {"owner": "helm", "status": "deployed"},
            "annotations": {"note": "x"},
            "ownerReferences": [
                {
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "u-1",
                    "apiVersion": "apps/v1",
                    "controller": True,
                }
            ],
            "finalizers": ["example.com/hold"],
        },
        "data": {"release": "AP9neg=="},
        "type": "helm.sh/release.v1",
        "immutable": True,
    }


def test_configmap_and_namespace() -> None:
    configmap = envelope(
        "v1", "ConfigMap", field(1, field(1, "c")) + entry(2, "a", "b") + entry(3, "bin", b"\x01")
    )
    assert protobuf.decode(configmap)["data"] == {"a": "b"}
    assert protobuf.decode(configmap)["binaryData"] == {"bin": "AQ=="}
    namespace = envelope(
        "v1", "Namespace", field(1, field(1, "flowkeeper")) + field(2, field(1, "kubernetes"))
    )
    assert protobuf.decode(namespace)["spec"] == {"finalizers": ["kubernetes"]}


def test_delete_options_of_any_group_version() -> None:
    options = field(2, field(1, "u-1")) + field(4, "Foreground") + field(5, "All")
    assert protobuf.decode(envelope("apps/v1", "DeleteOptions", options)) == {
        "apiVersion": "apps/v1",
        "kind": "DeleteOptions",
        "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }


@pytest.mark.parametrize(
    "body",
    [
        b"{}",  # no envelope
        envelope("apps/v1", "Deployment", field(1, field(1, "web"))),  # a kind not decoded
        protobuf.MAGIC + b"\x0a\x40",  # truncated
    ],
)
def test_what_cannot_be_decoded(body: bytes) -> None:
    with pytest.raises(protobuf.DecodeError):
        protobuf.decode(body)

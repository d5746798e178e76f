"""Protobuf request bodies (``application/vnd.kubernetes.protobuf``) of the few built-in kinds
clients here send that way, decoded to the JSON the rest of the emulator reads.

Helm 4 keeps its releases in Secrets and writes them (and ``--create-namespace``'s Namespace)
with client-go's typed clients, which encode protobuf; kubectl 1.32+ does the same in its typed
commands (``kubectl create namespace|configmap|secret``). Decoded here: Secret, ConfigMap,
Namespace and DeleteOptions, with the ObjectMeta fields a client sets. Any other kind is 415,
as is a body this decoder cannot read.

Wire format: the 4-byte magic ``k8s\\x00``, then a ``runtime.Unknown`` (typeMeta = 1 {apiVersion
= 1, kind = 2}, raw = 2, contentEncoding = 3, contentType = 4) whose ``raw`` is the object's
message. Field numbers: k8s.io/api/core/v1/generated.proto and
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
"""

import base64
import datetime
from collections.abc import Callable
from typing import Any

MAGIC = b"k8s\x00"
Fields = list[tuple[int, int, Any]]  # (field number, wire type, value: int or bytes)


class DecodeError(ValueError):
    """The body is not a protobuf object this decoder knows."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if at >= len(data):
            raise DecodeError("truncated varint")
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, at
        shift += 7


def fields(data: bytes) -> Fields:
    """The (number, wire type, value) of every field of one message, in order."""
    found: Fields = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise DecodeError("truncated field")
            value, at = data[at : at + size], at + size
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        elif wire == 5:
            value, at = data[at : at + 4], at + 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        found.append((number, wire, value))
    return found


def _text(value: Any) -> str:
    return bytes(value).decode()


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _map(entries: list[bytes], value: Callable[[bytes], Any]) -> dict[str, Any]:
    result = {}
    for entry in entries:
        parts = {number: raw for number, _, raw in fields(entry)}
        result[_text(parts.get(1, b""))] = value(parts.get(2, b""))
    return result


def _time(data: bytes) -> str:
    parts = {number: raw for number, _, raw in fields(data)}
    moment = datetime.datetime.fromtimestamp(_signed(parts.get(1, 0)), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(data: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    owner: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number in names:
            owner[names[number]] = _text(value)
        elif number == 6:
            owner["controller"] = bool(value)
        elif number == 7:
            owner["blockOwnerDeletion"] = bool(value)
    return owner


def object_meta(data: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    grouped: dict[int, list[Any]] = {}
    for number, _, value in fields(data):
        grouped.setdefault(number, []).append(value)
    for number, name in strings.items():
        if number in grouped:
            meta[name] = _text(grouped[number][-1])
    if 7 in grouped:
        meta["generation"] = _signed(grouped[7][-1])
    if 8 in grouped:
        meta["creationTimestamp"] = _time(grouped[8][-1])
    if 11 in grouped:
        meta["labels"] = _map(grouped[11], _text)
    if 12 in grouped:
        meta["annotations"] = _map(grouped[12], _text)
    if 13 in grouped:
        meta["ownerReferences"] = [_owner(o) for o in grouped[13]]
    if 14 in grouped:
        meta["finalizers"] = [_text(f) for f in grouped[14]]
    return meta


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# How a field is read: a scalar, a map (repeated key/value entries), or a nested message.
_READERS: dict[str, Callable[[list[Any]], Any]] = {
    "meta": lambda values: object_meta(values[-1]),
    "string": lambda values: _text(values[-1]),
    "bool": lambda values: bool(values[-1]),
    "string_map": lambda values: _map(values, _text),
    "bytes_map": lambda values: _map(values, _b64),
}
# kind -> field number -> (JSON name, reader)
_MESSAGES = {
    "Secret": {
        1: ("metadata", "meta"),
        2: ("data", "bytes_map"),
        3: ("type", "string"),
        4: ("stringData", "string_map"),
        5: ("immutable", "bool"),
    },
    "ConfigMap": {
        1: ("metadata", "meta"),
        2: ("data", "string_map"),
        3: ("binaryData", "bytes_map"),
        4: ("immutable", "bool"),
    },
}


def message(kind: str, data: bytes) -> dict[str, Any]:
    """A message of ``_MESSAGES`` as its JSON object."""
    layout = _MESSAGES[kind]
    grouped: dict[int, list[Any]] = {}
    for number, _, value in fields(data):
        if number in layout:
            grouped.setdefault(number, []).append(value)
    return {layout[n][0]: _READERS[layout[n][1]](values) for n, values in grouped.items()}


def namespace(data: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            finalizers = [_text(v) for n, _, v in fields(value) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


def delete_options(data: bytes) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number == 1:
            options["gracePeriodSeconds"] = _signed(value)
        elif number == 2:
            names = {1: "uid", 2: "resourceVersion"}
            options["preconditions"] = {
                names[n]: _text(v) for n, _, v in fields(value) if n in names
            }
        elif number == 3:
            options["orphanDependents"] = bool(value)
        elif number == 4:
            options["propagationPolicy"] = _text(value)
        elif number == 5:
            options.setdefault("dryRun", []).append(_text(value))
    return options


# (apiVersion, kind) -> decoder of the object's message
KINDS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("v1", "Secret"): lambda data: message("Secret", data),
    ("v1", "ConfigMap"): lambda data: message("ConfigMap", data),
    ("v1", "Namespace"): namespace,
}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf body as the JSON object it encodes (DecodeError when it cannot)."""
    if not body.startswith(MAGIC):
        raise DecodeError("no k8s protobuf envelope")
    unknown = {number: value for number, _, value in fields(body[len(MAGIC) :])}
    type_meta = {n: _text(v) for n, _, v in fields(unknown.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if unknown.get(3):
        raise DecodeError(f"content encoding {_text(unknown[3])!r}")
    # DeleteOptions is registered in every group version (metav1.AddToGroupVersion).
    decoder = delete_options if kind == "DeleteOptions" else KINDS.get((api_version, kind))
    if decoder is None:
        raise DecodeError(f"{api_version} {kind} is not decoded from protobuf by the emulator")
    obj = decoder(bytes(unknown.get(2, b"")))
    return {"apiVersion": api_version, "kind": kind, **obj}

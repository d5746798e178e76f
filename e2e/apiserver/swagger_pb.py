"""An OpenAPI v2 document (JSON form) in the protobuf encoding kubectl asks ``/openapi/v2`` for.

client-go's ``DiscoveryClient.OpenAPISchema`` sends ``Accept:
application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and decodes gnostic's
``openapi.v2.Document`` (github.com/google/gnostic-models, ``openapiv2/OpenAPIv2.proto``):
the message and field numbers below are that file's. kube-openapi fills ``Any`` values with
their YAML text (``Any.yaml``), as done here (JSON is YAML). Only what a Kubernetes document
holds is encoded: definitions, and paths with operations, parameters and responses.
"""

import json
import struct
from collections.abc import Iterable
from typing import Any

_SCHEMA_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13}
_SCHEMA_DOUBLES = {"multipleOf": 6, "maximum": 7, "minimum": 9}
_SCHEMA_BOOLS = {"exclusiveMaximum": 8, "exclusiveMinimum": 10, "uniqueItems": 16, "readOnly": 27}
_SCHEMA_INTS = {
    "maxLength": 11,
    "minLength": 12,
    "maxItems": 14,
    "minItems": 15,
    "maxProperties": 17,
    "minProperties": 18,
}
_OPERATIONS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def _varint(number: int) -> bytes:
    number &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes(field: int, data: bytes) -> bytes:
    return _key(field, 2) + _varint(len(data)) + data


def _string(field: int, text: str) -> bytes:
    return _bytes(field, text.encode()) if text else b""


def _strings(field: int, texts: Iterable[str]) -> bytes:
    return b"".join(_bytes(field, t.encode()) for t in texts)


def _bool(field: int, value: bool) -> bytes:
    return _key(field, 0) + b"\x01" if value else b""


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value)) if value else b""


def _double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", float(value))


def _any(value: Any) -> bytes:
    """gnostic ``Any``: the value's YAML text in field 2."""
    return _string(2, json.dumps(value, separators=(",", ":")) + "\n")


def _named(field: int, name: str, value: bytes) -> bytes:
    return _bytes(field, _string(1, name) + _bytes(2, value))


def _extensions(field: int, node: dict[str, Any]) -> bytes:
    return b"".join(
        _named(field, key, _any(value)) for key, value in node.items() if key.startswith("x-")
    )


def schema(node: dict[str, Any]) -> bytes:
    out = bytearray()
    for key, number in _SCHEMA_STRINGS.items():
        if isinstance(node.get(key), str):
            out += _string(number, node[key])
    if "default" in node:
        out += _bytes(5, _any(node["default"]))
    for key, number in _SCHEMA_DOUBLES.items():
        if isinstance(node.get(key), int | float):
            out += _double(number, node[key])
    for key, number in _SCHEMA_BOOLS.items():
        out += _bool(number, bool(node.get(key)))
    for key, number in _SCHEMA_INTS.items():
        if isinstance(node.get(key), int):
            out += _int(number, node[key])
    out += _strings(19, node.get("required") or [])
    for value in node.get("enum") or []:
        out += _bytes(20, _any(value))
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out += _bytes(21, _bytes(1, schema(additional)))
    elif isinstance(additional, bool):
        out += _bytes(21, _key(2, 0) + (b"\x01" if additional else b"\x00"))
    if node.get("type"):
        out += _bytes(22, _strings(1, [node["type"]]))
    if isinstance(node.get("items"), dict):
        out += _bytes(23, _bytes(1, schema(node["items"])))
    for part in node.get("allOf") or []:
        out += _bytes(24, schema(part))
    if isinstance(node.get("properties"), dict):
        named = b"".join(_named(1, k, schema(v)) for k, v in node["properties"].items())
        out += _bytes(25, named)
    out += _extensions(31, node)
    return bytes(out)


def _parameter(parameter: dict[str, Any]) -> bytes:
    if parameter.get("in") == "body":
        body = (
            _string(1, parameter.get("description", ""))
            + _string(2, parameter["name"])
            + _string(3, "body")
            + _bool(4, bool(parameter.get("required")))
            + _bytes(5, schema(parameter.get("schema") or {}))
        )
        return _bytes(1, _bytes(1, body))
    sub = (
        _bool(1, bool(parameter.get("required")))
        + _string(2, parameter["in"])
        + _string(3, parameter.get("description", ""))
        + _string(4, parameter["name"])
    )
    if parameter["in"] == "path":
        sub += _string(5, parameter.get("type", "string"))
        which = 4
    else:
        sub += _string(6, parameter.get("type", "string"))
        which = 3
    return _bytes(1, _bytes(2, _bytes(which, sub)))


def _operation(operation: dict[str, Any]) -> bytes:
    out = bytearray()
    out += _strings(1, operation.get("tags") or [])
    out += _string(3, operation.get("description", ""))
    out += _string(5, operation.get("operationId", ""))
    out += _strings(6, operation.get("produces") or [])
    out += _strings(7, operation.get("consumes") or [])
    for parameter in operation.get("parameters") or []:
        out += _bytes(8, _parameter(parameter))
    codes = bytearray()
    for code, response in (operation.get("responses") or {}).items():
        body = _string(1, response.get("description", ""))
        if response.get("schema"):
            body += _bytes(2, _bytes(1, schema(response["schema"])))
        codes += _named(1, code, _bytes(1, body))
    if codes:
        out += _bytes(9, bytes(codes))
    out += _strings(10, operation.get("schemes") or [])
    out += _extensions(13, operation)
    return bytes(out)


def _path_item(item: dict[str, Any]) -> bytes:
    out = bytearray()
    for verb, number in _OPERATIONS.items():
        if verb in item:
            out += _bytes(number, _operation(item[verb]))
    for parameter in item.get("parameters") or []:
        out += _bytes(9, _parameter(parameter))
    return bytes(out)


def document(doc: dict[str, Any]) -> bytes:
    info = doc.get("info") or {}
    out = bytearray()
    out += _string(1, doc.get("swagger", "2.0"))
    out += _bytes(2, _string(1, info.get("title", "")) + _string(2, info.get("version", "")))
    paths = b"".join(_named(2, p, _path_item(i)) for p, i in (doc.get("paths") or {}).items())
    out += _bytes(8, paths)
    definitions = b"".join(
        _named(1, name, schema(node)) for name, node in (doc.get("definitions") or {}).items()
    )
    out += _bytes(9, definitions)
    return bytes(out)

"""Unknown fields of built-in kinds, found from their OpenAPI definitions (definitions.py).

kube-apiserver decodes a built-in object into its Go struct: a field the struct lacks is
dropped, refused with ``fieldValidation=Strict`` (``ConfigMap in version "v1" cannot be
handled as a ConfigMap: strict decoding error: unknown field "bogus"``) or reported in a
``Warning`` header with ``Warn`` (k8s.io/apiserver ``pkg/endpoints/handlers``, the strict
JSON/YAML serializer of k8s.io/apimachinery ``pkg/runtime/serializer/json``). A definition
with neither ``properties`` nor ``additionalProperties`` (RawExtension, JSON) holds anything.
"""

from collections.abc import Mapping
from typing import Any

from e2e.apiserver import definitions as builtin
from e2e.apiserver.resources import Resource
from e2e.apiserver.structural import join


def drop_unknown(resource: Resource, obj: dict[str, Any]) -> list[str]:
    """Remove, in place, what the kind's definition does not know; the removed paths."""
    name = builtin.of_resource(resource)
    if name is None:
        return []
    definitions = builtin.definitions()
    dropped: list[str] = []
    root = definitions[name].get("properties") or {}
    for key in [k for k in obj if k not in ("apiVersion", "kind")]:
        if key not in root:
            del obj[key]
            dropped.append(key)
        else:
            dropped += _walk(obj[key], root[key], key, definitions)
    return dropped


def _walk(
    value: Any, node: Mapping[str, Any], path: str, definitions: Mapping[str, Any]
) -> list[str]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        node = definitions.get(ref.rsplit("/", 1)[-1], {})
    dropped: list[str] = []
    if isinstance(value, dict):
        properties = node.get("properties")
        additional = node.get("additionalProperties")
        if properties is None and not isinstance(additional, dict):
            return []  # anything goes (RawExtension, JSON, arbitrary maps)
        for key in list(value):
            child = value[key]
            if properties is not None and key in properties:
                if isinstance(child, dict | list):
                    dropped += _walk(child, properties[key], join(path, key), definitions)
            elif isinstance(additional, dict):
                if isinstance(child, dict | list):
                    dropped += _walk(child, additional, join(path, key), definitions)
            else:
                del value[key]
                dropped.append(join(path, key))
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            dropped += _walk(item, node["items"], f"{path}[{index}]", definitions)
    return dropped

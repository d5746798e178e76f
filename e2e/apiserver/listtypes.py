"""The schema server-side apply merges by: which lists are maps (by which keys), sets or
atomic, and which maps are atomic.

Built-in kinds: the OpenAPI definitions kubernetes-validate ships as data (definitions.py:
``$defs`` of v1.33's ``_definitions.json``, with ``x-kubernetes-list-type``,
``x-kubernetes-list-map-keys``, ``x-kubernetes-map-type`` and the patch merge keys). Custom
resources: the CRD's ``openAPIV3Schema`` (of the CustomResourceDefinition serving them), their
``metadata`` typed as ObjectMeta. The rules are kube-openapi's ``schemaconv`` (which builds
structured-merge-diff's schema from OpenAPI, ``getListElementRelationship``): a list is a map
with ``x-kubernetes-list-type: map`` (keys from ``x-kubernetes-list-map-keys``), a set with
``set``, atomic with ``atomic``; without a list type, ``x-kubernetes-patch-strategy: merge``
makes it a map by ``x-kubernetes-patch-merge-key`` (a set without one); anything else is
atomic (so every list of a CRD without a list type). Maps and structs are granular unless
``x-kubernetes-map-type: atomic``. An object without declared properties (e.g.
``x-kubernetes-preserve-unknown-fields``) is a granular map of untyped values, whose lists are
atomic, as structured-merge-diff's deduced type.

Key fields that an item may omit because the schema defaults them (OpenAPI v3 ``default``,
absent from kubernetes-validate's data): ``protocol: TCP`` of container and Service ports, as
structured-merge-diff fills defaulted keys in (``keyedAssociativeListItemToPathElement``).
"""

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from e2e.apiserver import definitions as builtin
from e2e.apiserver.definitions import OBJECT_META, definitions
from e2e.apiserver.resources import Resource

Schema = Mapping[str, Any]
UNTYPED: Schema = {}
KEY_DEFAULTS = {"protocol": "TCP"}


class ListType(NamedTuple):
    kind: Literal["atomic", "set", "map"]
    keys: tuple[str, ...] = ()


def resolve(schema: Schema) -> Schema:
    while "$ref" in schema:
        schema = definitions()[str(schema["$ref"]).rsplit("/", 1)[-1]]
    return schema


def is_built_in(resource: Resource) -> bool:
    """A kind the Kubernetes OpenAPI definitions describe (not a custom resource)."""
    return builtin.of_resource(resource) is not None


def of_resource(resource: Resource, crd_schema: Schema | None = None) -> Schema:
    """The schema of a served kind: the built-in definition, else the ``openAPIV3Schema`` of
    the CRD version serving it (crds.Registry), else untyped."""
    name = builtin.of_resource(resource)
    if name is not None:
        found: Schema = definitions()[name]
        return found
    return _with_object_meta(UNTYPED if crd_schema is None else crd_schema)


_ROOTS: dict[int, tuple[Schema, Schema]] = {}


def _with_object_meta(schema: Schema) -> Schema:
    """A CRD's schema with ``metadata`` typed as ObjectMeta; the same dict for the same CRD
    schema, so that ``node`` memoises it."""
    hit = _ROOTS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    properties = dict(schema.get("properties") or {})
    properties["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}"}
    root = {**schema, "properties": properties}
    if len(_ROOTS) > 1_000:
        _ROOTS.clear()
    _ROOTS[id(schema)] = (schema, root)
    return root


# -- what a schema says about a value ---------------------------------------------------------


def is_struct(schema: Schema) -> bool:
    return "properties" in resolve(schema)


def is_atomic_map(schema: Schema) -> bool:
    return resolve(schema).get("x-kubernetes-map-type") == "atomic"


def child(schema: Schema, name: str) -> tuple[Schema, bool]:
    """The schema of a map's or struct's field, and whether it is a declared (named) field."""
    node = resolve(schema)
    properties = node.get("properties") or {}
    if name in properties:
        return properties[name], True
    extra = node.get("additionalProperties")
    return (extra if isinstance(extra, dict) else UNTYPED), False


def items(schema: Schema) -> Schema:
    found = resolve(schema).get("items")
    return found if isinstance(found, dict) else UNTYPED


def list_type(schema: Schema) -> ListType:
    """kube-openapi schemaconv's getListElementRelationship."""
    node = resolve(schema)
    declared = node.get("x-kubernetes-list-type")
    if declared == "map":
        return ListType("map", tuple(node.get("x-kubernetes-list-map-keys") or ()))
    if declared == "set":
        return ListType("set")
    if declared is None and node.get("x-kubernetes-patch-strategy") in (
        "merge",
        "merge,retainKeys",
    ):
        merge_key = node.get("x-kubernetes-patch-merge-key")
        return ListType("map", (merge_key,)) if merge_key else ListType("set")
    return ListType("atomic")


class Node(NamedTuple):
    """What the typed walks ask of one schema node, resolved once."""

    properties: Mapping[str, Schema]  # declared (named) fields
    other: Schema  # the schema of undeclared keys (additionalProperties, else untyped)
    leaf_object: bool  # an atomic map or struct, or an object where a list is declared
    list_type: ListType
    items: Schema


_NODES: dict[int, tuple[Schema, Node]] = {}


def node(schema: Schema) -> Node:
    """``schema`` resolved, memoised by identity (schemas are never changed in place)."""
    hit = _NODES.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    resolved = resolve(schema)
    extra = resolved.get("additionalProperties")
    found = Node(
        resolved.get("properties") or {},
        extra if isinstance(extra, dict) else UNTYPED,
        is_atomic_map(resolved) or "items" in resolved,
        list_type(resolved),
        items(resolved),
    )
    if len(_NODES) > 100_000:  # CRD schemas come and go: keep the memo bounded
        _NODES.clear()
    _NODES[id(schema)] = (schema, found)
    return found

"""``/openapi/v2`` and ``/openapi/v3`` as kube-apiserver publishes them, for every served kind.

* Built-in kinds: the definitions kubernetes-validate ships (definitions.py: its
  ``_definitions.json`` of v1.33, the cluster's OpenAPI turned into JSON Schema), turned back
  into OpenAPI: ``#/$defs/`` references
  become ``#/definitions/`` (v2) or ``#/components/schemas/`` (v3), ``[T, "null"]`` types
  become ``T``, ``IntOrString`` is ``{type: string, format: int-or-string}`` and ``Quantity``
  ``{type: string}``, and the ``enum`` the converter put on ``apiVersion``/``kind`` goes.
* Custom kinds: their CRD's ``openAPIV3Schema``, as k8s.io/apiextensions-apiserver
  ``pkg/controller/openapi/builder`` publishes it: named ``<reversed group>.<version>.<Kind>``
  (``dev.flowkeeper.flows.v1alpha1.FlowCollector``) with ``x-kubernetes-group-version-kind``,
  ``metadata`` a reference to ObjectMeta, ``apiVersion``/``kind`` with the standard
  descriptions, and a ``<Kind>List``. In v2 the parts OpenAPI v2 cannot hold go, as
  ``pkg/controller/openapi/v2`` strips them (``nullable``, ``anyOf``/``oneOf``/``not``, the type
  of ``x-kubernetes-int-or-string``, ``x-kubernetes-validations``).
* Paths: each resource's collection and object, with the operations' ``x-kubernetes-action``
  and ``x-kubernetes-group-version-kind``, and the ``fieldValidation``, ``dryRun`` and
  ``fieldManager`` query parameters: kubectl (``resource.QueryParamVerifier``, v2 and v3)
  looks for ``fieldValidation`` on the kind's PATCH to send ``?fieldValidation=Strict``
  instead of validating client-side.

v2 is answered as protobuf when asked (kubectl always asks), JSON otherwise; v3 is an index
(``/openapi/v3``: ``paths`` -> ``serverRelativeURL`` with a content hash) and one JSON
document per group-version (``/openapi/v3/api/v1``, ``/openapi/v3/apis/<group>/<version>``).
"""

import copy
import functools
import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp.web
import kmock

from e2e.apiserver import definitions as builtin
from e2e.apiserver import resources, swagger_pb
from e2e.apiserver.errors import no_such_resource
from e2e.apiserver.resources import Resource

if TYPE_CHECKING:
    from e2e.apiserver.crds import Registry

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
V2_PROTOBUF_ANSWER = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_DESCRIPTIONS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object."
    " Servers should convert recognized schemas to the latest internal value, and may reject"
    " unrecognized values. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    "kind": "Kind is a string value representing the REST resource this object represents."
    " Servers may infer this from the endpoint the client submits requests to. Cannot be"
    " updated. In CamelCase. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    "metadata": "Standard object's metadata. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}
_V2_DROPPED = ("nullable", "anyOf", "oneOf", "not", "x-kubernetes-validations")


# -- built-in definitions -------------------------------------------------------------------


@functools.cache
def builtin_definitions() -> dict[str, dict[str, Any]]:
    """kubernetes-validate's definitions as OpenAPI v2 (``#/definitions/`` references)."""
    definitions = {name: _from_json_schema(node) for name, node in builtin.definitions().items()}
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    }
    definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
        "description": "Quantity is a fixed-point representation of a number.",
        "type": "string",
    }
    for node in definitions.values():
        if node.get("x-kubernetes-group-version-kind"):
            for key in ("apiVersion", "kind"):
                ((node.get("properties") or {}).get(key) or {}).pop("enum", None)
    return definitions


def _from_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_from_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "type" and isinstance(value, list):
            out[key] = next(t for t in value if t != "null")
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _from_json_schema(v) for k, v in value.items()}
        else:
            out[key] = _from_json_schema(value)
    return out


# -- custom definitions ---------------------------------------------------------------------


def custom_name(resource: Resource, kind: str = "") -> str:
    reversed_group = ".".join(reversed(resource.group.split(".")))
    return f"{reversed_group}.{resource.version}.{kind or resource.kind}"


def custom_definitions(resource: Resource, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The kind's and its list's definitions (v3 form: keeps every CRD schema keyword)."""
    node = copy.deepcopy(schema)
    properties = node.setdefault("properties", {})
    for key in ("apiVersion", "kind"):
        properties[key] = {"description": _DESCRIPTIONS[key], "type": "string"}
    properties["metadata"] = {
        "description": _DESCRIPTIONS["metadata"],
        "$ref": f"#/definitions/{builtin.OBJECT_META}",
    }
    node.setdefault("type", "object")
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    node["x-kubernetes-group-version-kind"] = [gvk]
    name = custom_name(resource)
    listing = {
        "description": f"{resource.kind}List is a list of {resource.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _DESCRIPTIONS["apiVersion"], "type": "string"},
            "items": {
                "description": f"List of {resource.plural}. More info:"
                " https://git.k8s.io/community/contributors/devel/api-conventions.md",
                "type": "array",
                "items": {"$ref": f"#/definitions/{name}"},
            },
            "kind": {"description": _DESCRIPTIONS["kind"], "type": "string"},
            "metadata": {
                "description": "Standard list metadata. More info:"
                " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "$ref": f"#/definitions/{builtin.LIST_META}",
            },
        },
        "x-kubernetes-group-version-kind": [{**gvk, "kind": f"{resource.kind}List"}],
    }
    return {name: node, custom_name(resource, f"{resource.kind}List"): listing}


def to_v2(node: Any) -> Any:
    """A CRD schema node as OpenAPI v2 can hold it (apiextensions' ToStructuralOpenAPIV2)."""
    if isinstance(node, list):
        return [to_v2(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _V2_DROPPED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {k: to_v2(v) for k, v in value.items()}
        else:
            out[key] = to_v2(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    if node.get("x-kubernetes-preserve-unknown-fields") and "properties" not in out:
        out.pop("type", None)
    return out


# -- paths ----------------------------------------------------------------------------------


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "type": kind,
        "uniqueItems": True,
    }


_FIELD_VALIDATION = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH)"
    " containing unknown or duplicate fields. Valid values are: - Ignore - Warn (the default) -"
    " Strict",
)
_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted.")
_FIELD_MANAGER = _query(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
)
_FORCE = _query("force", 'Force is going to "force" Apply requests.', "boolean")


def _base(resource: Resource) -> str:
    prefix = f"/apis/{resource.group}/{resource.version}" if resource.group else "/api/v1"
    namespace = "/namespaces/{namespace}" if resource.namespaced else ""
    return f"{prefix}{namespace}/{resource.plural}"


def _operation(
    resource: Resource, action: str, ref: str, parameters: list[dict[str, Any]], verb: str
) -> dict[str, Any]:
    group = resource.group.split(".")[0] if resource.group else "core"
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    return {
        "description": f"{action} {resource.kind}",
        "operationId": f"{verb}{group.capitalize()}{resource.version.capitalize()}{resource.kind}",
        "consumes": ["*/*"],
        "produces": ["application/json", "application/yaml"],
        "schemes": ["https"],
        "tags": [f"{group}_{resource.version}"],
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "schema": {"$ref": ref}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def paths(resource: Resource, ref: str, list_ref: str) -> dict[str, dict[str, Any]]:
    """Collection and object paths (v2 form) of one resource."""
    body = {"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}}
    patch_body = {"name": "body", "in": "body", "required": True, "schema": {"type": "object"}}
    writes = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    collection = {
        "get": _operation(resource, "list", list_ref, [], "list"),
        "post": _operation(resource, "post", ref, [body, *writes], "create"),
    }
    item = {
        "get": _operation(resource, "get", ref, [], "read"),
        "put": _operation(resource, "put", ref, [body, *writes], "replace"),
        "patch": _operation(resource, "patch", ref, [patch_body, *writes, _FORCE], "patch"),
        "delete": _operation(resource, "delete", ref, [], "delete"),
    }
    found = {_base(resource): collection, f"{_base(resource)}/{{name}}": item}
    if "status" in resource.subresources:
        found[f"{_base(resource)}/{{name}}/status"] = {
            "get": _operation(resource, "get", ref, [], "read"),
            "patch": _operation(resource, "patch", ref, [patch_body, *writes, _FORCE], "patch"),
        }
    return found


# -- documents ------------------------------------------------------------------------------


def _served(crds: "Registry") -> Iterator[tuple[Resource, str, str, dict[str, dict[str, Any]]]]:
    """Every served resource: (resource, definition, list definition, its own definitions)."""
    for resource in resources.BY_PATH.values():
        if resource.custom:
            continue
        name = builtin.of_resource(resource)
        listing = builtin.name_of(resource.group, resource.version, f"{resource.kind}List")
        if name and listing:
            yield resource, name, listing, {}
    for served in crds.served.values():
        own = custom_definitions(served.resource, served.schema)
        name, listing = list(own)
        yield served.resource, name, listing, own


def v2(crds: "Registry") -> dict[str, Any]:
    definitions = dict(builtin_definitions())
    found: dict[str, Any] = {}
    for resource, name, listing, own in _served(crds):
        definitions.update({k: to_v2(v) for k, v in own.items()})
        found.update(paths(resource, f"#/definitions/{name}", f"#/definitions/{listing}"))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": f"v{builtin.KUBERNETES}"},
        "paths": found,
        "definitions": definitions,
    }


def _group_version(resource: Resource) -> str:
    return f"apis/{resource.group}/{resource.version}" if resource.group else "api/v1"


def v3_documents(crds: "Registry") -> dict[str, dict[str, Any]]:
    """One OpenAPI v3 document per group-version, with the schemas it references."""
    definitions = dict(builtin_definitions())
    documents: dict[str, dict[str, Any]] = {}
    roots: dict[str, set[str]] = {}
    for resource, name, listing, own in _served(crds):
        definitions.update(own)
        key = _group_version(resource)
        document = documents.setdefault(
            key,
            {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": f"v{builtin.KUBERNETES}"},
                "paths": {},
                "components": {"schemas": {}},
            },
        )
        for path, item in paths(
            resource, f"#/definitions/{name}", f"#/definitions/{listing}"
        ).items():
            document["paths"][path] = {verb: _v3_operation(op) for verb, op in item.items()}
        roots.setdefault(key, set()).update({name, listing})
    for key, document in documents.items():
        for name in _closure(roots[key], definitions):
            document["components"]["schemas"][name] = _v3_schema(definitions[name])
    return documents


def _closure(names: set[str], definitions: dict[str, dict[str, Any]]) -> list[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        todo += list(_refs(definitions[name]))
    return sorted(seen)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _v3_schema(node: Any) -> Any:
    """References as v3 has them: ``#/components/schemas/``, wrapped in ``allOf`` when the
    reference has siblings (kube-openapi's builder3 does the same)."""
    if isinstance(node, list):
        return [_v3_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {k: _v3_schema(v) for k, v in value.items()}
        elif key != "$ref":
            out[key] = _v3_schema(value)
    if isinstance(node.get("$ref"), str):
        ref = node["$ref"].replace("#/definitions/", "#/components/schemas/")
        if out:
            out["allOf"] = [{"$ref": ref}]
        else:
            out["$ref"] = ref
    return out


def _v3_operation(operation: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v
        for k, v in operation.items()
        if k not in ("consumes", "produces", "schemes", "parameters", "responses")
    }
    out["parameters"] = [
        {
            "name": p["name"],
            "in": p["in"],
            "description": p.get("description", ""),
            "schema": {"type": p.get("type", "string"), "uniqueItems": True},
        }
        for p in operation["parameters"]
        if p["in"] != "body"
    ]
    bodies = [p for p in operation["parameters"] if p["in"] == "body"]
    if bodies:
        out["requestBody"] = {
            "content": {"*/*": {"schema": _v3_schema(bodies[0]["schema"])}},
            "required": True,
        }
    ref = operation["responses"]["200"]["schema"]
    out["responses"] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": _v3_schema(ref)}},
        }
    }
    return out


def _hash(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True).encode()
    return hashlib.sha512(text).hexdigest()[:128].upper()


# -- HTTP -----------------------------------------------------------------------------------


def _cached(crds: "Registry", name: str, build: Any) -> Any:
    if name not in crds.cache:
        crds.cache[name] = build(crds)
    return crds.cache[name]


def serve(crds: "Registry", request: kmock.Request) -> aiohttp.web.Response:
    path = request.url.path.rstrip("/")
    accept = ",".join(v for k, v in request.headers.items() if k.lower() == "accept")
    if path == "/openapi/v2":
        if V2_PROTOBUF in accept:
            if "v2.pb" not in crds.cache:
                crds.cache["v2.pb"] = swagger_pb.document(_cached(crds, "v2", v2))
            return aiohttp.web.Response(body=crds.cache["v2.pb"], content_type=V2_PROTOBUF_ANSWER)
        return aiohttp.web.json_response(_cached(crds, "v2", v2))
    documents: dict[str, dict[str, Any]] = _cached(crds, "v3", v3_documents)
    if path == "/openapi/v3":
        return aiohttp.web.json_response(
            {
                "paths": {
                    key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={_hash(document)}"}
                    for key, document in sorted(documents.items())
                }
            }
        )
    key = path.removeprefix("/openapi/v3/")
    if key in documents:
        return aiohttp.web.json_response(documents[key])
    error = no_such_resource()
    return aiohttp.web.json_response(error.status(), status=404)

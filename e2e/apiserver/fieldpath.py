"""Field paths and field sets as server-side apply records them (``metadata.managedFields``).

Mirrors sigs.k8s.io/structured-merge-diff ``fieldpath`` (``pathelement.go``, ``set.go``,
``serialize.go``, ``serialize-pe.go``) and the Kubernetes documentation of the ``FieldsV1``
format (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management):

* a path element is ``f:<field>`` (a field of a struct or a key of a map), ``k:<json>`` (an item
  of a list of type map, by its key fields: ``k:{"containerPort":80,"protocol":"TCP"}``, the key
  fields sorted by name), ``v:<json>`` (an item of a list of type set, by its value) or
  ``i:<n>`` (by index);
* a field set is a set of paths; ``fieldsV1`` nests them as objects, ``{}`` for a member with no
  children, and ``".": {}`` inside an object when the path itself is a member too;
* a path prints as ``.spec.template.spec.containers[name="c"].image`` in conflict messages.

A path is a tuple of these element strings, so sets are plain Python sets of tuples.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

Path = tuple[str, ...]
FieldSet = set[Path]
_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def field(name: str) -> str:
    return f"f:{name}"


def key(fields: Mapping[str, Any]) -> str:
    return "k:" + _json({name: fields[name] for name in sorted(fields)})


def value(item: Any) -> str:
    return "v:" + _json(item)


def index(position: int) -> str:
    return f"i:{position}"


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _order(element: str) -> tuple[int, Any]:
    """structured-merge-diff's PathElement.Compare: fields, then keys, values, indexes."""
    kind, text = element[0], element[2:]
    if kind == "f":
        return 0, text
    if kind == "i":
        return 3, int(text)
    decoded = json.loads(text)
    if kind == "k":
        return 1, [(name, _value_order(v)) for name, v in decoded.items()]
    return 2, _value_order(decoded)


def _value_order(item: Any) -> tuple[int, Any]:
    if isinstance(item, bool):
        return 1, item
    if isinstance(item, int | float):
        return 2, item
    if isinstance(item, str):
        return 3, item
    return 4, _json(item)


def to_string(path: Path) -> str:
    """``.spec.containers[name="c"].image``: a path as conflict messages print it."""
    parts = []
    for element in path:
        kind, text = element[0], element[2:]
        if kind == "f":
            parts.append(f".{text}")
        elif kind == "i":
            parts.append(f"[{text}]")
        elif kind == "k":
            fields = json.loads(text)
            parts.append("[" + ",".join(f"{n}={_show(v)}" for n, v in fields.items()) + "]")
        else:
            parts.append(f"[={_show(json.loads(text))}]")
    return "".join(parts)


def _show(item: Any) -> str:
    """Go's value.ToString: strings quoted, everything else as written."""
    return json.dumps(item) if isinstance(item, str) else _json(item)


def encode(fields: Iterable[Path]) -> dict[str, Any]:
    """A field set as ``fieldsV1``."""
    tree: dict[str, Any] = {}
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _emit(tree)


def _emit(node: dict[str, Any]) -> dict[str, Any]:
    children = [k for k in node if k != "."]
    if not children:
        return {}
    result: dict[str, Any] = {".": {}} if "." in node else {}
    # Field names alone sort as plain strings (the common case, and much faster).
    fields_only = all(k.startswith("f:") for k in children)
    for element in sorted(children) if fields_only else sorted(children, key=_order):
        result[element] = _emit(node[element])
    return result


def decode(encoded: Any) -> FieldSet:
    """``fieldsV1`` back to a field set (unknown shapes: nothing)."""
    fields: FieldSet = set()
    if isinstance(encoded, dict):
        _collect(encoded, (), fields)
    return fields


def _collect(node: dict[str, Any], path: Path, fields: FieldSet) -> None:
    for element, child in node.items():
        if element == ".":
            fields.add(path)
        elif isinstance(child, dict) and element[:2] in ("f:", "k:", "v:", "i:"):
            if child:
                _collect(child, (*path, element), fields)
            else:
                fields.add((*path, element))


def with_ancestors(fields: Iterable[Path]) -> FieldSet:
    """The set and every prefix of its paths (structured-merge-diff adds the named fields
    leading to members before pruning: ``EnsureNamedFieldsAreMembers``)."""
    result: FieldSet = set()
    for path in fields:
        for end in range(1, len(path) + 1):
            result.add(path[:end])
    return result


def under(fields: Iterable[Path], prefix: Path) -> FieldSet:
    return {p for p in fields if p[: len(prefix)] == prefix}

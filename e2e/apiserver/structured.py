"""Typed operations on objects, as sigs.k8s.io/structured-merge-diff's ``typed`` package does
them: the field set of a value (``tofieldset.go``), the comparison of two values
(``compare.go``: added, modified, removed), the merge of an applied configuration into a live
object (``merge.go``) and the removal of paths (``remove.go``).

Every node is one of: a leaf (scalar, atomic list, atomic map, or a value whose shape does not
match its schema), a granular map (struct or map: children by ``f:<key>``) or a granular list
(items by ``k:{...}`` for a list of type map, ``v:<value>`` for a set); ``listtypes`` says which.
"""

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

from e2e.apiserver import fieldpath, listtypes
from e2e.apiserver.fieldpath import FieldSet, Path
from e2e.apiserver.listtypes import Schema


class SchemaError(ValueError):
    """An applied configuration that cannot be typed (e.g. a list-map item without its key)."""


class Comparison(NamedTuple):
    added: FieldSet
    modified: FieldSet
    removed: FieldSet


_MISSING: Any = object()
_LEAF, _MAP, _LIST = "leaf", "map", "list"


def _shape(value: Any, schema: Schema) -> str:
    if isinstance(value, dict):
        return _LEAF if listtypes.node(schema).leaf_object else _MAP
    if isinstance(value, list):
        return _LEAF if listtypes.node(schema).list_type.kind == "atomic" else _LIST
    return _LEAF


def _elements(items: list[Any], schema: Schema, path: Path, strict: bool) -> list[str] | None:
    """Each item's path element (None: not a valid keyed list, handled as atomic)."""
    kind, keys = listtypes.node(schema).list_type
    found = []
    for position, item in enumerate(items):
        if kind == "set":
            found.append(fieldpath.value(item))
            continue
        fields = {}
        for name in keys:
            if isinstance(item, dict) and item.get(name) is not None:
                fields[name] = item[name]
            elif name in listtypes.KEY_DEFAULTS:
                fields[name] = listtypes.KEY_DEFAULTS[name]
            elif strict:
                raise SchemaError(
                    f"{fieldpath.to_string(path)}: element {position}: associative list with keys"
                    f' has an element that omits key field "{name}" (and doesn\'t have default'
                    " value)"
                )
            else:
                return None
        found.append(fieldpath.key(fields))
    if len(set(found)) != len(found):
        if strict:
            duplicate = next(e for e in found if found.count(e) > 1)
            raise SchemaError(
                f"{fieldpath.to_string(path)}: duplicate entries for key {duplicate[2:]}"
            )
        return None
    return found


def _children(
    value: Any, schema: Schema, path: Path, strict: bool
) -> list[tuple[str, Any, Schema, bool]] | None:
    """(element, child, its schema, declared field) for a granular node; None for a leaf."""
    shape = _shape(value, schema)
    if shape == _MAP:
        node = listtypes.node(schema)
        properties, other = node.properties, node.other
        return [
            (f"f:{name}", child, properties[name], True)
            if name in properties
            else (f"f:{name}", child, other, False)
            for name, child in value.items()
        ]
    if shape == _LIST:
        elements = _elements(value, schema, path, strict)
        if elements is None:
            return None
        sub = listtypes.node(schema).items
        return [(e, item, sub, False) for e, item in zip(elements, value, strict=True)]
    return None


def field_set(value: Any, schema: Schema, *, strict: bool = False) -> FieldSet:
    """structured-merge-diff's ToFieldSet: leaves (scalars, atomic lists and maps), list
    items, and map entries that are not declared struct fields (an empty struct: nothing)."""
    found: FieldSet = set()
    _field_set(value, schema, (), found, strict)
    return found


def _field_set(value: Any, schema: Schema, path: Path, found: FieldSet, strict: bool) -> None:
    children = _children(value, schema, path, strict)
    if children is None:
        found.add(path)
        return
    is_list = isinstance(value, list)
    for element, child, sub, declared in children:
        inner = (*path, element)
        _field_set(child, sub, inner, found, strict)
        if is_list or not declared:
            found.add(inner)


def all_paths(value: Any, schema: Schema) -> FieldSet:
    """Every node's path: the fields, items and entries a removal can name."""
    found: FieldSet = set()
    _all_paths(value, schema, (), found)
    return found


def _all_paths(value: Any, schema: Schema, path: Path, found: FieldSet) -> None:
    for element, child, sub, _ in _children(value, schema, path, False) or []:
        found.add((*path, element))
        _all_paths(child, sub, (*path, element), found)


def compare(lhs: Any, rhs: Any, schema: Schema) -> Comparison:
    """Leaves that differ are modified; any node present on one side only is added/removed."""
    result = Comparison(set(), set(), set())
    _compare(lhs, rhs, schema, (), result)
    return result


def _compare(lhs: Any, rhs: Any, schema: Schema, path: Path, result: Comparison) -> None:
    if lhs is _MISSING:
        result.added.add(path)  # all of it is new
        _all_paths(rhs, schema, path, result.added)
        return
    if rhs is _MISSING:
        result.removed.add(path)
        _all_paths(lhs, schema, path, result.removed)
        return
    if lhs == rhs:
        return  # nothing below differs (and equal values have equal shapes)
    left, right = _indexed(lhs, schema, path), _indexed(rhs, schema, path)
    if lhs is None and right:
        lhs, left = rhs[:0] if isinstance(rhs, list) else {}, {}  # null is a wildcard in SMD
    if left is None or right is None or isinstance(lhs, list) != isinstance(rhs, list):
        result.modified.add(path)  # a leaf, or a node whose shape changed
        return
    for element in {**left, **right}:
        child_l, sub = left.get(element, (_MISSING, listtypes.UNTYPED))
        child_r, sub = right.get(element, (_MISSING, sub))
        _compare(child_l, child_r, sub, (*path, element), result)


def _indexed(value: Any, schema: Schema, path: Path) -> dict[str, tuple[Any, Schema]] | None:
    children = _children(value, schema, path, False)
    if children is None:
        return None
    return {element: (child, sub) for element, child, sub, _ in children}


def merge(lhs: Any, rhs: Any, schema: Schema) -> Any:
    """The applied configuration ``rhs`` over the live ``lhs``: granular maps merge by key,
    granular lists by item (live-only items keep their places, the others follow ``rhs``'s
    order, as structured-merge-diff's ``visitListItems``), everything else is replaced."""
    shape = _shape(rhs, schema)
    if shape != _shape(lhs, schema) or shape == _LEAF:
        return copy.deepcopy(rhs)
    if shape == _MAP:
        result = dict(lhs)
        for name, child in rhs.items():
            sub, _ = listtypes.child(schema, name)
            result[name] = merge(lhs[name], child, sub) if name in lhs else copy.deepcopy(child)
        return result
    left = _elements(lhs, schema, (), False)
    right = _elements(rhs, schema, (), True)
    if left is None or right is None:
        return copy.deepcopy(rhs)
    sub = listtypes.items(schema)
    return _merge_items(lhs, left, rhs, right, lambda a, b: merge(a, b, sub))


def _merge_items(
    lhs: list[Any],
    left: list[str],
    rhs: list[Any],
    right: list[str],
    merge_item: Callable[[Any, Any], Any],
) -> list[Any]:
    by_left, by_right = dict(zip(left, lhs, strict=True)), dict(zip(right, rhs, strict=True))
    shared = [e for e in right if e in by_left]
    next_shared = shared.pop(0) if shared else None
    done: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(left) or ri < len(right):
        if li < len(left) and ri < len(right):
            element = left[li]
            if element == right[ri]:
                done.add(element)
                out.append(merge_item(by_left[element], by_right[element]))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in by_right and next_shared is not None and next_shared != element:
                li += 1
                continue
        if li < len(left):
            element = left[li]
            if element not in by_right:
                out.append(lhs[li])
                li += 1
                continue
            if element in done:
                li += 1
                continue
        if ri < len(right):
            element = right[ri]
            done.add(element)
            live = by_left.get(element, _MISSING)
            out.append(
                copy.deepcopy(by_right[element])
                if live is _MISSING
                else merge_item(live, by_right[element])
            )
            ri += 1
            if next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def remove(value: Any, paths: FieldSet, schema: Schema) -> Any:
    """``value`` without the nodes at ``paths`` (and everything under them)."""
    if not paths:
        return value
    return _remove(value, schema, (), paths, fieldpath.with_ancestors(paths))


def _remove(value: Any, schema: Schema, path: Path, paths: FieldSet, leading: FieldSet) -> Any:
    children = _children(value, schema, path, False)
    if children is None:
        return value
    kept = []
    for element, child, sub, _ in children:
        inner = (*path, element)
        if inner in paths:
            continue
        kept.append(
            (element, _remove(child, sub, inner, paths, leading) if inner in leading else child)
        )
    if isinstance(value, list):
        return [child for _, child in kept]
    return {element[2:]: child for element, child in kept}

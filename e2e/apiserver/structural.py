"""A custom resource against its CRD's structural schema, as kube-apiserver treats it:
pruning, defaulting, then OpenAPI validation, each worded as the real server words it.

Mirrors k8s.io/apiextensions-apiserver (v1.28-v1.33):

* ``pkg/apiserver/schema/pruning/algorithm.go``: fields the schema does not specify are
  dropped, except under ``x-kubernetes-preserve-unknown-fields: true`` (and ``apiVersion``,
  ``kind``, ``metadata`` at the root; metadata keeps the ObjectMeta fields). The dropped paths
  are what ``fieldValidation=Strict`` refuses and ``Warn`` reports
  (``pkg/registry/customresource``, "unknown field").
* ``pkg/apiserver/schema/defaulting/algorithm.go``: ``default`` fills a missing property (and a
  ``null`` one that is not ``nullable``), recursing into what it filled;
  ``prunenulls.go``: a ``null`` of a non-nullable property without a default is dropped.
* ``pkg/apiserver/validation/validation.go`` (``ValidateCustomResource``) with
  k8s.io/kube-openapi's ``pkg/validation/validate`` and ``pkg/validation/errors``: the causes
  ``Required value``, ``Unsupported value: ...: supported values: ...``, ``Too long: may not be
  longer than N``, ``Too many: N: must have at most M items`` and ``Invalid value: V: <path> in
  body should ...`` (minimum/maximum, minLength, pattern, minItems, minProperties,
  multipleOf), type errors as ``Invalid value: V: <path> in body must be of type T: "<actual>"``.
* ``pkg/apiserver/schema/listtype/validation.go``: ``x-kubernetes-list-type: set|map`` items
  must be unique (``Duplicate value``); ``x-kubernetes-int-or-string``; ``nullable``;
  ``format: date-time`` is checked (other formats are not).

A cause is ``(field, reason, body)``: ``("spec.listeners[0].port", "FieldValueInvalid",
"Invalid value: 70000: spec.listeners[0].port in body should be less than or equal to 65535")``.
"""

import copy
import datetime
import json
import re
from typing import Any

Cause = tuple[str, str, str]
Schema = dict[str, Any]

# ObjectMeta's fields (k8s.io/apimachinery/pkg/apis/meta/v1/types.go): what a custom
# resource's metadata keeps; anything else is an unknown field.
OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_INT_OR_STRING = "x-kubernetes-int-or-string"


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- pruning ----------------------------------------------------------------------------------


def prune_object(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Drop what ``schema`` does not specify, in place; returns the dropped fields' paths."""
    dropped: list[str] = []
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        for key in [k for k in metadata if k not in OBJECT_META]:
            del metadata[key]
            dropped.append(f"metadata.{key}")
    for key in [k for k in obj if k not in ("apiVersion", "kind", "metadata")]:
        sub = (schema.get("properties") or {}).get(key)
        if sub is None and not schema.get(_PRESERVE):
            del obj[key]
            dropped.append(key)
        elif sub is not None:
            dropped += prune(obj[key], sub, key)
    return dropped


def prune(value: Any, schema: Schema, path: str) -> list[str]:
    dropped: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key in list(value):
            if properties is not None and key in properties:
                dropped += prune(value[key], properties[key], join(path, key))
            elif isinstance(additional, dict):
                dropped += prune(value[key], additional, join(path, key))
            elif not schema.get(_PRESERVE) and additional is not True:
                del value[key]
                dropped.append(join(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            dropped += prune(item, schema["items"], f"{path}[{index}]")
    return dropped


# -- defaulting -------------------------------------------------------------------------------


def default(value: Any, schema: Schema) -> None:
    """Fill ``default`` values in place (the root object's properties included)."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            missing = key not in value or (value[key] is None and not sub.get("nullable"))
            if missing and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            elif key in value and value[key] is None and not sub.get("nullable"):
                del value[key]  # prunenulls.go: a non-nullable null without a default goes
        additional = schema.get("additionalProperties")
        for key, child in list(value.items()):
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is not None:
                if child is None and key not in properties and not sub.get("nullable"):
                    del value[key]
                    continue
                default(child, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(item, schema["items"])


# -- validation -------------------------------------------------------------------------------


def validate_object(obj: dict[str, Any], schema: Schema) -> list[Cause]:
    """Every cause the object breaks; metadata only against the schema's name rules."""
    causes: list[Cause] = []
    for key in schema.get("required") or []:
        if key not in obj:
            causes.append((key, "FieldValueRequired", "Required value"))
    for key, sub in (schema.get("properties") or {}).items():
        if key not in obj:
            continue
        if key == "metadata":
            metadata = obj["metadata"] if isinstance(obj["metadata"], dict) else {}
            for field in ("name", "generateName"):
                rules = (sub.get("properties") or {}).get(field)
                if rules and field in metadata:
                    causes += validate(metadata[field], rules, f"metadata.{field}")
        elif key not in ("apiVersion", "kind"):
            causes += validate(obj[key], sub, key)
    return causes


def validate(value: Any, schema: Schema, path: str) -> list[Cause]:
    if value is None and (schema.get("nullable") or not _wanted_type(schema)):
        return []
    wanted = "integer,string" if schema.get(_INT_OR_STRING) else _wanted_type(schema)
    actual = _json_type(value)
    if wanted and actual not in wanted.split(",") and (wanted, actual) != ("number", "integer"):
        # The type is wrong: only the enum is checked besides (the anyOf/allOf too).
        causes = [_type_error(path, value, wanted), *_enum(value, schema, path)]
        return causes + _combinations(value, schema, path)
    causes = _enum(value, schema, path) + _value_rules(value, schema, path)
    if isinstance(value, dict):
        causes += _object(value, schema, path)
    elif isinstance(value, list):
        causes += _array(value, schema, path)
    return causes + _combinations(value, schema, path)


def _combinations(value: Any, schema: Schema, path: str) -> list[Cause]:
    """allOf: every schema; anyOf: at least one, else the first one's causes, as
    kube-openapi reports them (``"<path>" must validate at least one schema (anyOf)``, on the
    field ``""``)."""
    causes: list[Cause] = []
    for alternative in schema.get("allOf") or []:
        causes += validate(value, alternative, path)
    alternatives = schema.get("anyOf") or []
    results = [validate(value, alternative, path) for alternative in alternatives]
    if results and all(results):
        message = f'Invalid value: "": "{path}" must validate at least one schema (anyOf)'
        causes += [("", "FieldValueInvalid", message), *results[0]]
    return causes


def _enum(value: Any, schema: Schema, path: str) -> list[Cause]:
    if "enum" not in schema or value in schema["enum"]:
        return []
    allowed = ", ".join(
        json.dumps(v) if isinstance(v, str) else json.dumps(json.dumps(v)) for v in schema["enum"]
    )
    shown = go_value(value)
    return [
        (path, "FieldValueNotSupported", f"Unsupported value: {shown}: supported values: {allowed}")
    ]


def _value_rules(value: Any, schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    shown = go_value(value)
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(
                (
                    path,
                    "FieldValueTooLong",
                    f"Too long: may not be longer than {schema['maxLength']}",
                )
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append(
                _invalid(path, shown, f"should be at least {schema['minLength']} chars long")
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append(_invalid(path, shown, f"should match '{schema['pattern']}'"))
        if schema.get("format") == "date-time" and not _date_time(value):
            causes.append(
                (
                    path,
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: {path} in body must be of type date-time: {shown}",
                )
            )
    if _json_type(value) in ("integer", "number"):
        causes += _bounds(value, schema, path, shown)
    return causes


def _bounds(value: float, schema: Schema, path: str, shown: str) -> list[Cause]:
    causes: list[Cause] = []
    if "maximum" in schema:
        top = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= top:
            causes.append(_invalid(path, shown, f"should be less than {go_number(top)}"))
        elif value > top:
            causes.append(
                _invalid(path, shown, f"should be less than or equal to {go_number(top)}")
            )
    if "minimum" in schema:
        bottom = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= bottom:
            causes.append(_invalid(path, shown, f"should be greater than {go_number(bottom)}"))
        elif value < bottom:
            causes.append(
                _invalid(path, shown, f"should be greater than or equal to {go_number(bottom)}")
            )
    factor = schema.get("multipleOf")
    if factor and (value / factor) != int(value / factor):
        causes.append(_invalid(path, shown, f"should be a multiple of {go_number(factor)}"))
    return causes


def _object(value: dict[str, Any], schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in schema.get("required") or []:
        if key not in value:
            causes.append((join(path, key), "FieldValueRequired", "Required value"))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, child in value.items():
        sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
        if sub is not None:
            causes += validate(child, sub, join(path, key))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        causes.append(_too_many(path, len(value), schema["maxProperties"]))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        causes.append(
            _invalid(
                path, str(len(value)), f"should have at least {schema['minProperties']} properties"
            )
        )
    return causes


def _array(value: list[Any], schema: Schema, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        causes.append(_too_many(path, len(value), schema["maxItems"]))
    if "minItems" in schema and len(value) < schema["minItems"]:
        causes.append(
            _invalid(path, str(len(value)), f"should have at least {schema['minItems']} items")
        )
    if schema.get("uniqueItems") and _has_duplicates(value):
        causes.append(_invalid(path, go_value(value), "shouldn't contain duplicates"))
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            causes += validate(item, items, f"{path}[{index}]")
    causes += _list_type(value, schema, path)
    return causes


def _list_type(value: list[Any], schema: Schema, path: str) -> list[Cause]:
    """listtype/validation.go: sets hold distinct values, maps distinct key tuples."""
    kind = schema.get("x-kubernetes-list-type")
    seen: list[Any] = []
    causes: list[Cause] = []
    for index, item in enumerate(value):
        if kind == "set":
            key: Any = item
        elif kind == "map" and isinstance(item, dict):
            keys = schema.get("x-kubernetes-list-map-keys") or []
            key = {k: item[k] for k in keys if k in item}
        else:
            continue
        if key in seen:
            causes.append(
                (f"{path}[{index}]", "FieldValueDuplicate", f"Duplicate value: {go_value(key)}")
            )
        else:
            seen.append(key)
    return causes


def _has_duplicates(value: list[Any]) -> bool:
    seen: list[Any] = []
    for item in value:
        if item in seen:
            return True
        seen.append(item)
    return False


def _too_many(path: str, count: int, limit: int) -> Cause:
    return (path, "FieldValueTooMany", f"Too many: {count}: must have at most {limit} items")


def _invalid(path: str, shown: str, detail: str) -> Cause:
    return (path, "FieldValueInvalid", f"Invalid value: {shown}: {path} in body {detail}")


def _type_error(path: str, value: Any, wanted: str) -> Cause:
    """kube-openapi's InvalidType, converted by apiextensions: the bad "value" shown is the
    actual type's name (``Invalid value: "string": spec.x in body must be of type integer:
    "string"``)."""
    actual = _json_type(value)
    return (
        path,
        "FieldValueTypeInvalid",
        f'Invalid value: "{actual}": {path} in body must be of type {wanted}: "{actual}"',
    )


def _wanted_type(schema: Schema) -> str:
    return str(schema.get("type") or "")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _date_time(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or "t" in value


def go_number(number: float) -> str:
    """A float64 as Go's ``%v`` prints it (65535, not 65535.0)."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def go_value(value: Any) -> str:
    """A bad value as field.Error prints it: strings quoted, numbers and bools bare, maps and
    lists as Go's ``%#v`` of their unstructured form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_number(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_value(v) for v in value) + "}"
    inner = ", ".join(f"{json.dumps(k)}:{go_value(v)}" for k, v in value.items())
    return "map[string]interface {}{" + inner + "}"

"""``x-kubernetes-validations`` of a CRD schema, evaluated with cel-python as kube-apiserver
evaluates them with cel-go.

Mirrors k8s.io/apiextensions-apiserver ``pkg/apiserver/schema/cel/validation.go`` (v1.28-v1.33):
every rule of a schema node runs with ``self`` bound to the node's value (after defaulting);
a rule that mentions ``oldSelf`` is a transition rule and runs only on update, when the old
object has a value at the same place (object properties and map entries correlate by key,
``x-kubernetes-list-type: map`` items by their keys; other list items do not correlate). A
rule that does not hold is the cause ``<path>[<fieldPath>]: Invalid value: "<type>": <message>``
(``messageExpression`` when it evaluates to a string, else ``message``, else ``failed rule:
<rule>``); ``reason`` becomes the cause's type. Rules run only when the schema validation found
no type errors (``hasBlockingErr``).

cel-python has CEL's standard library and macros (``has``, ``all``, ``exists``,
``exists_one``, ``map``, ``filter``, ``matches``...), not the Kubernetes extension libraries
(``isSorted``, ``url``, ``quantity``, ``ip``, ``cidr``, ``format``, the ``optional`` types);
and ``matches`` uses Python's ``re``, not RE2. A rule it cannot evaluate is reported as the
real server reports a rule that fails at run time, with the evaluator's error (the CRD of this
project uses none of them: tests/emulator/test_crd_validation.py proves each of its rules).
"""

import functools
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from e2e.apiserver.structural import Cause, Schema, join

_REASONS = {
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
}
MISSING = object()


@functools.lru_cache(maxsize=512)
def program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def check(schema: Schema, new: Any, old: Any = MISSING, path: str = "") -> list[Cause]:
    """The causes of every rule ``new`` breaks, root included (``old``: the stored object)."""
    causes: list[Cause] = []
    for rule in schema.get("x-kubernetes-validations") or []:
        cause = _rule(rule, schema, new, old, path)
        if cause is not None:
            causes.append(cause)
    if isinstance(new, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, child in new.items():
            if not path and key in ("apiVersion", "kind", "metadata"):
                continue  # the root's rules see them; the schema's rules below them do not
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is None:
                continue
            before = old.get(key, MISSING) if isinstance(old, dict) else MISSING
            causes += check(sub, child, before, join(path, key))
    elif isinstance(new, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(new):
            causes += check(
                schema["items"], item, _correlated(schema, item, old), f"{path}[{index}]"
            )
    return causes


def _correlated(schema: Schema, item: Any, old: Any) -> Any:
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return MISSING
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if not isinstance(item, dict):
        return MISSING
    for candidate in old:
        if isinstance(candidate, dict) and all(candidate.get(k) == item.get(k) for k in keys):
            return candidate
    return MISSING


def _rule(rule: dict[str, Any], schema: Schema, new: Any, old: Any, path: str) -> Cause | None:
    text = str(rule.get("rule", ""))
    transition = "oldSelf" in text
    if transition and old is MISSING:
        return None
    activation = {"self": json_to_cel(new)}
    if transition:
        activation["oldSelf"] = json_to_cel(old)
    where = path
    if rule.get("fieldPath"):
        where = path + str(rule["fieldPath"])
    reason = str(rule.get("reason") or "FieldValueInvalid")
    reason = reason if reason in _REASONS else "FieldValueInvalid"
    try:
        result = program(text).evaluate(activation)
    except CELEvalError as error:
        result = error
    except CELParseError as error:
        return (where or "<nil>", "FieldValueInvalid", f"rule compile error: {error}")
    if isinstance(result, CELEvalError):
        message = f"{_shown_type(schema)}: {_message(rule, activation)}: {result.args[0]}"
        return (where or "<nil>", "FieldValueInvalid", f"Invalid value: {message}")
    if bool(result):
        return None
    body = _message(rule, activation)
    if reason == "FieldValueForbidden":
        return (where or "<nil>", reason, f"Forbidden: {body}")
    if reason == "FieldValueRequired":
        return (where or "<nil>", reason, f"Required value: {body}")
    if reason == "FieldValueDuplicate":
        return (where or "<nil>", reason, f"Duplicate value: {_shown_type(schema)}: {body}")
    return (where or "<nil>", reason, f"Invalid value: {_shown_type(schema)}: {body}")


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    expression = rule.get("messageExpression")
    if expression:
        try:
            value = program(str(expression)).evaluate(activation)
        except (CELEvalError, CELParseError):
            value = None
        if isinstance(value, str) and value.strip():
            return str(value)
    if rule.get("message"):
        return str(rule["message"])
    return f"failed rule: {rule.get('rule', '')}"


def _shown_type(schema: Schema) -> str:
    """The value a CEL cause shows: the schema type, quoted (``"object"``)."""
    kind = "string" if schema.get("x-kubernetes-int-or-string") else schema.get("type", "")
    return f'"{kind}"'

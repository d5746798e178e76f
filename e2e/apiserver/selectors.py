"""labelSelector and fieldSelector of LIST and WATCH, parsed as kube-apiserver parses them."""

import re
from collections.abc import Callable, Mapping
from typing import Any

from e2e.apiserver.errors import ApiError

Predicate = Callable[[Mapping[str, Any]], bool]
_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_COMPARE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")
_FIELD = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*([^,]*?)\s*$")
_FIELDS = ("metadata.name", "metadata.namespace")
# Fields beyond metadata a kind's strategy makes selectable (ToSelectableFields); Events':
# pkg/registry/core/event/strategy.go (what `kubectl describe` lists an object's events by).
_KIND_FIELDS = {
    "Event": {
        **{
            f"involvedObject.{key}": ("involvedObject", key)
            for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion")
        },
        "involvedObject.fieldPath": ("involvedObject", "fieldPath"),
        "reason": ("reason",),
        "reportingComponent": ("reportingComponent",),
        "source": ("source", "component"),
        "type": ("type",),
    }
}


def _field(obj: Mapping[str, Any], field: str, kind: str) -> str:
    path = _KIND_FIELDS.get(kind, {}).get(field) or ("metadata", field.split(".", 1)[1])
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def _split(selector: str) -> list[str]:
    """Split on the commas that are not inside an ``in (a,b)`` set."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term for term in terms if term.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET.match(term):
        negated, key, operator, values = match.groups()
        if negated:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
        chosen = {value.strip() for value in values.split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in chosen
        return lambda labels: labels.get(key) not in chosen
    if match := _COMPARE.match(term):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if match := _EXISTS.match(term):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ApiError(400, f"unable to parse requirement: found {term!r}, expected a requirement")


def labels(selector: str) -> Predicate:
    terms = [_label_term(term) for term in _split(selector)]

    def matches(obj: Mapping[str, Any]) -> bool:
        found = obj.get("metadata", {}).get("labels") or {}
        return all(term(found) for term in terms)

    return matches


def fields(selector: str, kind: str = "") -> Predicate:
    """A fieldSelector: metadata.name and metadata.namespace for every kind, and the kind's own
    selectable fields (``_KIND_FIELDS``)."""
    known = (*_FIELDS, *_KIND_FIELDS.get(kind, {}))
    terms = []
    for term in _split(selector):
        match = _FIELD.match(term)
        if match is None or match[1] not in known:
            shown = ", ".join(f'"{field}"' for field in known)
            raise ApiError(400, f'"{term.strip()}" is not a known field selector: only {shown}')
        field, operator, value = match.groups()
        terms.append((field, operator != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field(obj, field, kind) == value) == equal for field, equal, value in terms)

    return matches


def of_query(params: Mapping[str, str], kind: str = "") -> Predicate:
    """One predicate for the request's labelSelector and fieldSelector (either may be absent);
    ``kind`` adds the kind's own selectable fields."""
    checks = []
    if params.get("labelSelector"):
        checks.append(labels(params["labelSelector"]))
    if params.get("fieldSelector"):
        checks.append(fields(params["fieldSelector"], kind))
    return lambda obj: all(check(obj) for check in checks)


def matches_label_selector(selector: Mapping[str, Any], found: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against a set of labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if found.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = set(expression.get("values") or [])
        ok = {
            "In": found.get(key) in values,
            "NotIn": found.get(key) not in values,
            "Exists": key in found,
            "DoesNotExist": key not in found,
        }.get(str(operator), False)
        if not ok:
            return False
    return True

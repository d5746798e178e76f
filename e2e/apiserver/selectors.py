"""labelSelector and fieldSelector of LIST and WATCH, parsed as kube-apiserver parses them."""

import re
from collections.abc import Callable, Mapping
from typing import Any

from e2e.apiserver.errors import ApiError

Predicate = Callable[[Mapping[str, Any]], bool]
_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_COMPARE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")
_FIELDS = ("metadata.name", "metadata.namespace")


def _field(obj: Mapping[str, Any], field: str) -> str:
    return str(obj.get("metadata", {}).get(field.split(".", 1)[1], ""))


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


def fields(selector: str) -> Predicate:
    terms = []
    for term in _split(selector):
        match = _COMPARE.match(term)
        if match is None or match[1] not in _FIELDS:
            raise ApiError(
                400,
                f'"{term.strip()}" is not a known field selector: only "metadata.name",'
                ' "metadata.namespace"',
            )
        field, operator, value = match.groups()
        terms.append((field, operator != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field(obj, field) == value) == equal for field, equal, value in terms)

    return matches


def of_query(params: Mapping[str, str]) -> Predicate:
    """One predicate for the request's labelSelector and fieldSelector (either may be absent)."""
    checks = []
    if params.get("labelSelector"):
        checks.append(labels(params["labelSelector"]))
    if params.get("fieldSelector"):
        checks.append(fields(params["fieldSelector"]))
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

"""Kubernetes JSONPath (k8s.io/client-go/util/jsonpath), the part CRD printer columns use.

``find(obj, ".status.conditions[?(@.type==\"Ready\")].status")`` returns every match in order,
as ``JSONPath.FindResults`` does with ``AllowMissingKeys(true)`` (a missing key, an index out of
range or a filter matching nothing yields no result, never an error). Supported: ``.field``,
``['field']``, ``.*`` / ``[*]``, ``[n]`` (negative from the end), ``[start:end]``, ``..field``
(recursive descent), filters ``[?(@.path op literal)]`` with ``==``, ``!=``, ``<``, ``<=``,
``>``, ``>=`` and ``[?(@.path)]`` (the path exists). Not supported (ValueError at parse):
unions ``[a,b]``, ``range``/``end`` templates, and functions.
"""

import functools
import re
from collections.abc import Callable
from typing import Any

_STEP = re.compile(
    r"""\.\.(?P<recurse>[A-Za-z0-9_-]+|\*)
    |\.(?P<field>[A-Za-z0-9_-]+|\*)
    |\[\s*'(?P<quoted1>[^']*)'\s*\]
    |\[\s*"(?P<quoted2>[^"]*)"\s*\]
    |\[\s*(?P<star>\*)\s*\]
    |\[\s*(?P<slice>-?\d*\s*:\s*-?\d*)\s*\]
    |\[\s*(?P<index>-?\d+)\s*\]
    |\[\s*\?\(\s*@(?P<filter_path>[^=!<>)\s]*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<literal>"[^"]*"|'[^']*'|[^)\s]+)\s*)?\)\s*\]
    """,
    re.VERBOSE,
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
_MISSING = object()
Step = tuple[str, Any]


@functools.cache
def parse(path: str) -> tuple[Step, ...]:
    """The steps of a path such as ``.status.nodes`` (a ``{...}`` template is unwrapped)."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(f"unrecognized JSONPath {path!r} at {text[position:]!r}")
        position = match.end()
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        if "recurse" in groups:
            steps.append(("recurse", groups["recurse"]))
        elif "field" in groups:
            field = groups["field"]
            steps.append(("all", None) if field == "*" else ("field", field))
        elif "quoted1" in groups or "quoted2" in groups:
            steps.append(("field", groups.get("quoted1", groups.get("quoted2"))))
        elif "star" in groups:
            steps.append(("all", None))
        elif "slice" in groups:
            start, end = (p.strip() for p in groups["slice"].split(":"))
            steps.append(("slice", (int(start) if start else None, int(end) if end else None)))
        elif "index" in groups:
            steps.append(("index", int(groups["index"])))
        else:
            inner = parse(groups["filter_path"]) if groups["filter_path"] else ()
            literal = _literal(groups["literal"]) if "literal" in groups else _MISSING
            steps.append(("filter", (inner, groups.get("op"), literal)))
    return tuple(steps)


def _literal(text: str) -> Any:
    if text[0] in "\"'":
        return text[1:-1]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def find(obj: Any, path: str) -> list[Any]:
    """Every value the path selects in ``obj``, in document order."""
    current = [obj]
    for kind, arg in parse(path):
        current = [found for value in current for found in _step(value, kind, arg)]
    return current


def _step(value: Any, kind: str, arg: Any) -> list[Any]:
    if kind == "field":
        return [value[arg]] if isinstance(value, dict) and arg in value else []
    if kind == "all":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if kind == "index":
        if not isinstance(value, list) or not -len(value) <= arg < len(value):
            return []
        return [value[arg]]
    if kind == "slice":
        return list(value[arg[0] : arg[1]]) if isinstance(value, list) else []
    if kind == "recurse":
        return _descend(value, arg)
    inner, op, literal = arg
    items = value if isinstance(value, list) else []
    return [item for item in items if _keep(item, inner, op, literal)]


def _descend(value: Any, name: str) -> list[Any]:
    found = []
    if isinstance(value, dict):
        if name == "*":
            found.extend(value.values())
        elif name in value:
            found.append(value[name])
        children = list(value.values())
    else:
        children = list(value) if isinstance(value, list) else []
    for child in children:
        found.extend(_descend(child, name))
    return found


def _keep(item: Any, inner: tuple[Step, ...], op: str | None, literal: Any) -> bool:
    current = [item]
    for kind, step_arg in inner:
        current = [found for value in current for found in _step(value, kind, step_arg)]
    if op is None:
        return bool(current)
    if not current:
        return False
    left = current[0]
    if isinstance(left, bool) != isinstance(literal, bool):
        return op == "!="
    try:
        return _OPS[op](left, literal)
    except TypeError:  # a string against a number: the filter does not match
        return op == "!="

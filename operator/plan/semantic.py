"""Compare objects the way the API server stores them. Pure: no I/O.

kube-apiserver rewrites what it is sent: it drops the empty values of struct fields (Go's
``omitempty``: ``""``, ``[]``, ``{}``, ``null``), stores resource quantities in canonical form
(``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``, the integer ``1`` -> ``"1"``) and fills in defaults.
A controller that compares what it sends with what it reads back byte for byte patches such
objects forever. So, one rule for every field rather than a special case per field:

* ``prune`` removes what the server would drop, before anything is sent or compared;
* ``same`` asks whether the live object holds what is wanted: extra live keys are defaults
  (fine), empty counts as absent, quantities are compared as numbers;
* ``equal`` is ``same`` both ways, for the fields the operator owns whole.

The values of string maps (labels, annotations, nodeSelector, selectors, ConfigMap data) are
map entries, not struct fields: the server keeps them even when empty, and so does ``prune``.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

Path = tuple[str, ...]
ITEM = "[]"  # the path step of a list item

STRING_MAPS = frozenset(
    {"labels", "annotations", "nodeSelector", "matchLabels", "selector", "data"}
)
QUANTITY_MAPS = frozenset({"limits", "requests"})


def is_empty(value: object) -> bool:
    """What ``omitempty`` drops (``false`` and ``0`` are left out: pointer fields keep them)."""
    return value is None or (isinstance(value, str | list | dict) and not value)


def prune(value: Any, *, key: str = "") -> Any:
    """``value`` as the server would store it: empty struct fields dropped, recursively."""
    if isinstance(value, Mapping):
        if key in STRING_MAPS:
            return dict(value)
        pruned = {name: prune(item, key=name) for name, item in value.items()}
        return {name: item for name, item in pruned.items() if not is_empty(item)}
    if isinstance(value, list):
        return [prune(item, key=key) for item in value]
    return value


def same(want: object, have: object, path: Path = ()) -> bool:
    """Whether ``have`` (live) holds everything ``want`` says, as the server would store it."""
    if is_empty(want):
        return is_empty(have)
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(
            same(value, have.get(name), (*path, str(name))) for name, value in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(same(w, h, (*path, ITEM)) for w, h in zip(want, have, strict=True))
        )
    if is_quantity(path):
        return _quantity(want) == _quantity(have)
    return want == have


def equal(left: object, right: object, path: Path = ()) -> bool:
    """Same content both ways: nothing missing, nothing extra (empty counts as absent)."""
    return same(left, right, path) and same(right, left, path)


def is_quantity(path: Path) -> bool:
    """``...resources.limits.<name>`` and ``...resources.requests.<name>``."""
    return len(path) >= 3 and path[-3] == "resources" and path[-2] in QUANTITY_MAPS


def _quantity(value: object) -> Decimal | object:
    """The number a quantity stands for; the value itself when it is not a quantity."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    try:
        return Decimal(parse_quantity(value))  # type: ignore[no-untyped-call]
    except ValueError:
        return value

"""Kubernetes label/annotation keys to Prometheus label names, the kube-state-metrics way.

kube-state-metrics replaces every character outside `[a-zA-Z0-9_]` with `_`, inserts `_`
between a lower-case letter or digit and an upper-case letter, lower-cases the result and puts
`label_` / `annotation_` in front. Keys that end up with the same name are processed in sorted
key order and all get `_conflict1`, `_conflict2`...; a generated name that is already taken by
another key skips to the next number (Prometheus refuses a series with a repeated label name).
"""

import re
from collections.abc import Mapping
from functools import lru_cache

_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_SPLIT = r"\1_\2"


@lru_cache(maxsize=16384)
def label_name(prefix: str, key: str) -> str:
    """`prefix_` + the sanitized, snake-cased key. Cached: keys repeat across objects."""
    return f"{prefix}_{_CAMEL.sub(_CAMEL_SPLIT, _INVALID.sub('_', key)).lower()}"


def prometheus_labels(prefix: str, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    """Name/value pairs for `mapping`, collisions suffixed like kube-state-metrics."""
    pairs = [(label_name(prefix, key), value) for key, value in mapping.items()]
    if len({name for name, _ in pairs}) == len(pairs):
        return pairs
    return _resolve_conflicts(prefix, mapping)


def _resolve_conflicts(prefix: str, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    names: list[str] = []
    values: list[str] = []
    used: dict[str, int] = {}
    counts: dict[str, int] = {}
    for key in sorted(mapping):
        base = label_name(prefix, key)
        name = base
        if base in counts:
            name, counts[base] = _next_free(base, counts[base], used)
        elif base in used:
            index = used.pop(base)
            renamed, count = _next_free(base, 0, used)
            names[index] = renamed
            used[renamed] = index
            name, counts[base] = _next_free(base, count, used)
        used[name] = len(names)
        names.append(name)
        values.append(mapping[key])
    return list(zip(names, values, strict=True))


def _next_free(base: str, count: int, used: dict[str, int]) -> tuple[str, int]:
    while True:
        count += 1
        candidate = f"{base}_conflict{count}"
        if candidate not in used:
            return candidate, count

"""Kubernetes label/annotation keys to Prometheus label names, the kube-state-metrics way.

kube-state-metrics replaces every character outside `[a-zA-Z0-9_]` with `_`, inserts `_`
between a lower-case letter or digit and an upper-case letter, lower-cases the result and puts
`label_` / `annotation_` in front. Keys that end up with the same name are processed in sorted
key order and all get `_conflict1`, `_conflict2`...; a generated name that is already taken by
another key skips to the next number (Prometheus refuses a series with a repeated label name).
"""

import re
from functools import lru_cache

_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_SPLIT = r"\1_\2"


@lru_cache(maxsize=16384)
def label_name(prefix: str, key: str) -> str:
    """`prefix_` + the sanitized, snake-cased key. Cached: keys repeat across objects."""
    return f"{prefix}_{_CAMEL.sub(_CAMEL_SPLIT, _INVALID.sub('_', key)).lower()}"


@lru_cache(maxsize=4096)
def label_names(prefix: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The label name of each key, in the keys' order. Cached per key set: the objects of one
    workload carry the same keys, so most objects skip sanitizing and the collision check."""
    names = tuple(label_name(prefix, key) for key in keys)
    if len(set(names)) == len(names):
        return names
    resolved = _resolve_conflicts(prefix, keys)
    return tuple(resolved[key] for key in keys)


def _resolve_conflicts(prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    names: list[str] = []
    ordered = sorted(keys)
    used: dict[str, int] = {}
    counts: dict[str, int] = {}
    for key in ordered:
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
    return dict(zip(ordered, names, strict=True))


def _next_free(base: str, count: int, used: dict[str, int]) -> tuple[str, int]:
    while True:
        count += 1
        candidate = f"{base}_conflict{count}"
        if candidate not in used:
            return candidate, count

"""What to send to bring one live child to its desired state. Pure: no I/O.

The API server adds defaults to every object (terminationMessagePath, clusterIP, nodePorts...),
so a live child is in sync when the desired manifest is a *subset* of it, not when they are
equal; comparing for equality would patch forever. Lists are the exception: a merge patch
replaces them whole, so they must have the desired length, each item being a subset.

Some maps and fields are ours alone and the server never fills them in. For those, a key that
is live but not desired is drift (a hand edit, or a field an older spec set), and it is removed
with a merge-patch ``null`` (RFC 7386). Everything else that is live but not desired is left
alone, since it belongs to the server or to other controllers.
"""

from collections.abc import Collection, Mapping
from typing import Any, Literal, NamedTuple

from flowkeeper.operator import manifests

Path = tuple[str, ...]
Verb = Literal["create", "patch"]
Reason = Literal["Created", "Updated", "Restored"]

_POD_SPEC: Path = ("spec", "template", "spec")

# Paths whose value must match the desired one exactly, and be absent when not desired.
EXACT: Mapping[str, frozenset[Path]] = {
    "ConfigMap": frozenset({("data",)}),
    "DaemonSet": frozenset(
        {
            ("spec", "selector", "matchLabels"),
            (*_POD_SPEC, "nodeSelector"),
            (*_POD_SPEC, "affinity"),
            (*_POD_SPEC, "tolerations"),
            (*_POD_SPEC, "priorityClassName"),
            (*_POD_SPEC, "hostNetwork"),
        }
    ),
    "Service": frozenset(
        {
            ("spec", "selector"),
            ("spec", "loadBalancerIP"),
            ("spec", "externalTrafficPolicy"),
        }
    ),
}


class Write(NamedTuple):
    """One API call that brings a child in sync: a full manifest or a merge patch."""

    verb: Verb
    body: dict[str, Any]


def is_subset(desired: object, live: object) -> bool:
    """Whether everything desired is live (extra live keys are fine, list lengths must match)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            key in live and is_subset(value, live[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(is_subset(want, have) for want, have in zip(desired, live, strict=True))
        )
    return desired == live


def merge_patch(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    exact: Collection[Path] = frozenset(),
    path: Path = (),
) -> dict[str, Any]:
    """The smallest merge patch that makes ``desired`` a subset of ``live``; {} when in sync."""
    patch: dict[str, Any] = {}
    for key, want in desired.items():
        here = (*path, key)
        have = live.get(key)
        if here in exact:
            if want != have:
                patch[key] = _replacement(want, have)
        elif isinstance(want, Mapping) and isinstance(have, Mapping):
            nested = merge_patch(want, have, exact=exact, path=here)
            if nested:
                patch[key] = nested
        elif key not in live or not is_subset(want, have):
            patch[key] = want
    for key in live:
        if key not in desired and (*path, key) in exact:
            patch[key] = None
    return patch


def plan(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> Write | None:
    """The write that brings ``live`` to ``desired``, or None when nothing differs."""
    if live is None:
        return Write("create", dict(desired))
    patch = merge_patch(desired, live, exact=EXACT.get(str(desired.get("kind")), frozenset()))
    return Write("patch", patch) if patch else None


def reason(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, *, applied_before: bool
) -> Reason:
    """Why a write happens, for the Event: first creation, a new spec, or undoing drift.

    The desired-hash annotation tells the two patch cases apart: the same hash on the live child
    means we wrote this very state before and someone changed it since.
    """
    if live is None:
        return "Restored" if applied_before else "Created"
    if _desired_hash(live) != _desired_hash(desired):
        return "Updated"
    return "Restored"


def _desired_hash(manifest: Mapping[str, Any]) -> str | None:
    annotations = manifest.get("metadata", {}).get("annotations") or {}
    value = annotations.get(manifests.DESIRED_HASH_ANNOTATION)
    return str(value) if value is not None else None


def _replacement(want: object, have: object) -> object:
    """The merge patch turning ``have`` into exactly ``want`` (keys beyond it become null)."""
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        replaced: dict[str, Any] = {
            key: _replacement(value, have.get(key))
            for key, value in want.items()
            if key not in have or value != have[key]
        }
        replaced.update({key: None for key in have if key not in want})
        return replaced
    return want

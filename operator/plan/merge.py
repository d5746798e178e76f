"""What to send to bring one live child to its desired state: a three-way merge. Pure: no I/O.

Three inputs, as ``kubectl apply`` does: the *desired* child (built from the spec), the *live*
child, and what the operator *last applied*, which it stores on the child itself in the
``flows.flowkeeper.dev/last-applied`` annotation. The patch

* sets every desired field the live object does not hold (compared semantically, see
  ``semantic``: server defaults, canonical quantities and dropped empty values are in sync);
* removes (merge-patch ``null``) every field that was last applied but is no longer desired:
  that is how a setting taken out of the spec leaves the child, while fields set by the server
  or by other controllers, which were never applied, are left alone;
* replaces a list whole when it differs, or when an item lost a field it was last applied
  with (a JSON merge patch cannot address list items);
* treats the few fields the operator owns whole (``ATOMIC``: ConfigMap data, selectors, pod
  placement) as one value: any other content there is removed, hand-added keys included.
  The server never defaults them, so they need no record in the annotation.

Every patch carries the live ``resourceVersion`` it was computed from: the server applies it
only to that very version (409 otherwise), so a patch never lands on an object that changed,
or was replaced by someone else's, since it was read.
"""

import json
from collections.abc import Collection, Mapping
from typing import Any, Literal, NamedTuple

from flowkeeper.operator.constants import DESIRED_HASH_ANNOTATION, LAST_APPLIED_ANNOTATION
from flowkeeper.operator.plan.semantic import ITEM, Path, equal, is_empty, prune, same

Verb = Literal["create", "patch"]
Reason = Literal["Created", "Updated", "Restored"]

_POD_SPEC: Path = ("spec", "template", "spec")
# Handled by the ownership rules (ownership.py), never by the diff.
IGNORED: frozenset[Path] = frozenset({("metadata", "ownerReferences")})

# Fields the operator owns whole: their value must equal the desired one, and be absent when
# not desired, whatever was applied before.
ATOMIC: Mapping[str, frozenset[Path]] = {
    "ConfigMap": frozenset({("data",)}),
    "DaemonSet": frozenset(
        {
            ("spec", "selector"),
            (*_POD_SPEC, "nodeSelector"),
            (*_POD_SPEC, "affinity"),
            (*_POD_SPEC, "tolerations"),
            (*_POD_SPEC, "priorityClassName"),
            (*_POD_SPEC, "hostNetwork"),
        }
    ),
    "Service": frozenset({("spec", "selector"), ("spec", "loadBalancerIP")}),
}


class Write(NamedTuple):
    """One API call that brings a child in sync: a full manifest or a merge patch."""

    verb: Verb
    body: dict[str, Any]


def applied(desired: Mapping[str, Any]) -> dict[str, Any]:
    """The child to send: pruned as the server stores it, carrying its last-applied record."""
    body: dict[str, Any] = prune(dict(desired))
    atomic = ATOMIC.get(str(body.get("kind")), frozenset())
    record = _without(body, {*atomic, *IGNORED, ("metadata", "annotations")})
    record["metadata"]["annotations"] = {
        key: value
        for key, value in (body["metadata"].get("annotations") or {}).items()
        if key != LAST_APPLIED_ANNOTATION
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    body["metadata"].setdefault("annotations", {})[LAST_APPLIED_ANNOTATION] = text
    return body


def last_applied(live: Mapping[str, Any]) -> dict[str, Any]:
    """What the operator last applied to ``live``; {} when unknown (nothing is removed then)."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    try:
        record = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def plan(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> Write | None:
    """The write that brings ``live`` to ``desired``, or None when nothing differs."""
    body = applied(desired)
    if live is None:
        return Write("create", body)
    atomic = ATOMIC.get(str(body.get("kind")), frozenset())
    patch = three_way(body, last_applied(live), live, atomic=atomic)
    if not patch:
        return None
    version = (live.get("metadata") or {}).get("resourceVersion")
    if version:
        patch.setdefault("metadata", {})["resourceVersion"] = version
    return Write("patch", patch)


def three_way(
    desired: Mapping[str, Any],
    last: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    atomic: Collection[Path] = frozenset(),
    path: Path = (),
) -> dict[str, Any]:
    """The smallest merge patch taking ``live`` to ``desired``, removing what ``last`` set."""
    patch: dict[str, Any] = {}
    for key, want in desired.items():
        here = (*path, key)
        have, before = live.get(key), last.get(key)
        if here in IGNORED:
            continue
        if here in atomic:
            if not equal(want, have, here):
                patch[key] = _replacement(want, have)
        elif isinstance(want, Mapping) and isinstance(have, Mapping):
            prior = before if isinstance(before, Mapping) else {}
            nested = three_way(want, prior, have, atomic=atomic, path=here)
            if nested:
                patch[key] = nested
        elif not in_sync(want, before, have, here):
            patch[key] = want
    for key, have in live.items():
        here = (*path, key)
        if key not in desired and not is_empty(have) and (here in atomic or key in last):
            patch[key] = None
    return patch


def in_sync(want: object, before: object, have: object, path: Path = ()) -> bool:
    """Whether ``have`` holds ``want`` and none of the fields ``before`` had and ``want`` lost."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return False
        prior = before if isinstance(before, Mapping) else {}
        return all(
            in_sync(value, prior.get(key), have.get(key), (*path, key))
            for key, value in want.items()
        ) and all(is_empty(have.get(key)) for key in prior if key not in want)
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return False
        priors = before if isinstance(before, list) and len(before) == len(want) else []
        return all(
            in_sync(item, priors[index] if priors else None, have[index], (*path, ITEM))
            for index, item in enumerate(want)
        )
    return same(want, have, path)


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
    value = annotations.get(DESIRED_HASH_ANNOTATION)
    return str(value) if value is not None else None


def _replacement(want: object, have: object) -> object:
    """The merge patch turning ``have`` into exactly ``want`` (keys beyond it become null)."""
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        replaced: dict[str, Any] = {
            key: _replacement(value, have.get(key))
            for key, value in want.items()
            if not equal(value, have.get(key))
        }
        replaced.update({key: None for key in have if key not in want})
        return replaced
    return want


def _without(body: Mapping[str, Any], paths: Collection[Path]) -> dict[str, Any]:
    """A copy of ``body`` without the values at ``paths``."""
    copied: dict[str, Any] = {}
    for key, value in body.items():
        inner = [path[1:] for path in paths if path[0] == key]
        if () in inner:
            continue
        copied[key] = _without(value, inner) if inner and isinstance(value, Mapping) else value
    return copied

"""The operator's in-memory state and the FlowCollector snapshots it works from.

State is keyed by the FlowCollector's uid, never by its name: a FlowCollector deleted and
re-created under the same name is another object, and must not inherit the old one's cached
status (which would make the operator believe the new one's status is already written).
"""

import asyncio
import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import kubernetes.client
from flowkeeper.operator.control import migration

GROUP, VERSION, PLURAL = "flows.flowkeeper.dev", "v1alpha1", "flowcollectors"

Key = tuple[str, str]  # (namespace, name) of a FlowCollector
Owner = dict[str, Any]  # the parts of a FlowCollector the reconciler needs


class Owners(Protocol):
    """The FlowCollector index (kopf's, or a plain dict in tests): key -> current snapshots."""

    def __iter__(self) -> Any: ...
    def __len__(self) -> int: ...
    def get(self, key: Key, default: Any = ..., /) -> Iterable[Owner] | None: ...


@dataclasses.dataclass
class Runtime:
    api: kubernetes.client.ApiClient
    resync_seconds: float
    owners: Owners
    statuses: dict[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = dataclasses.field(default_factory=dict)
    retries: "dict[str, asyncio.Task[None]]" = dataclasses.field(default_factory=dict)
    resync: "asyncio.Task[None] | None" = None
    replacer: migration.DeploymentReplacer = dataclasses.field(
        default_factory=migration.DeploymentReplacer
    )

    def lock(self, uid: str) -> asyncio.Lock:
        """One reconcile at a time per FlowCollector, whichever trigger started it."""
        return self.locks.setdefault(uid, asyncio.Lock())

    def current(self) -> list[Owner]:
        """Every FlowCollector known now, except those being deleted."""
        return [
            owner
            for key in list(self.owners)
            for owner in list(self.owners.get(key) or [])
            if not owner["metadata"].get("deletionTimestamp")
        ]

    def forget_others(self, uids: Iterable[str]) -> None:
        """Drop the state of FlowCollectors that are gone."""
        alive = set(uids)
        for table in (self.statuses, self.locks):
            for uid in set(table) - alive:
                table.pop(uid, None)
        self.replacer.forget(alive)


def snapshot(body: Mapping[str, Any]) -> Owner:
    metadata = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion", f"{GROUP}/{VERSION}"),
        "kind": body.get("kind", "FlowCollector"),
        "metadata": {
            key: copy.deepcopy(metadata[key])
            for key in ("name", "namespace", "uid", "generation", "labels", "deletionTimestamp")
            if key in metadata
        },
        "spec": copy.deepcopy(dict(body.get("spec") or {})),
        "status": copy.deepcopy(dict(body.get("status") or {})),
    }


def key(owner: Owner) -> Key:
    return str(owner["metadata"]["namespace"]), str(owner["metadata"]["name"])


def uid(owner: Owner) -> str:
    return str(owner["metadata"].get("uid", ""))


def describe(owner: Owner) -> str:
    namespace, name = key(owner)
    return f"{namespace}/{name}"

"""What the reconciler works with: the API client, the FlowCollector index, the child watches'
cache, the work queue; and the FlowCollector snapshots it reads.

No cache of what was written: every reconcile reads the FlowCollector and compares with its
live status, so nothing the operator remembers can keep a wrong status in place. What is still
remembered (the Deployment replacements reported) is keyed by uid, never by name: a
FlowCollector deleted and re-created under the same name is another object.
"""

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import kubernetes.client
from flowkeeper.operator.constants import API_VERSION, KIND
from flowkeeper.operator.control import migration

Key = tuple[str, str]  # (namespace, name) of a FlowCollector
Owner = dict[str, Any]  # the parts of a FlowCollector the reconciler needs


class Owners(Protocol):
    """The FlowCollector index (kopf's, or a plain dict in tests): key -> current snapshots."""

    def __iter__(self) -> Any: ...
    def __len__(self) -> int: ...
    def get(self, key: Key, default: Any = ..., /) -> Iterable[Owner] | None: ...


class Children(Protocol):
    """Live children as the child watches last saw them (``kube.watches.ChildWatches``)."""

    def cached(self, kind: str, namespace: str, name: str) -> tuple[bool, dict[str, Any] | None]:
        """(known, object): known is False when the watch of that scope is not in sync."""
        ...

    def remember(
        self, kind: str, namespace: str, name: str, body: Mapping[str, Any] | None
    ) -> None:
        """Our own write's result (None: deleted), until its watch event comes."""
        ...

    def echo(self, kind: str, body: Mapping[str, Any]) -> bool:
        """Whether a watch event's object is exactly our own last write of it."""
        ...


class Enqueue(Protocol):
    def __call__(
        self, key: Key, trigger: str, *, needed: Callable[[], bool] | None = None
    ) -> None: ...


@dataclasses.dataclass
class Runtime:
    api: kubernetes.client.ApiClient
    resync_seconds: float
    owners: Owners
    children: Children
    enqueue: Enqueue
    replacer: migration.DeploymentReplacer = dataclasses.field(
        default_factory=migration.DeploymentReplacer
    )
    # Our last status write per FlowCollector: (resourceVersion it was computed from, the
    # FlowCollector as the write left it), for as long as kopf's index has not caught up.
    written: dict[Key, tuple[str, Owner]] = dataclasses.field(default_factory=dict)

    def current(self) -> list[Owner]:
        """Every FlowCollector known now (kopf's index), except those being deleted."""
        return [
            owner
            for index_key in list(self.owners)
            for owner in list(self.owners.get(index_key) or [])
            if not owner["metadata"].get("deletionTimestamp")
        ]

    def known(self, namespace: str, name: str) -> bool:
        return bool(list(self.owners.get((namespace, name)) or []))

    def forget_others(self, uids: Iterable[str]) -> None:
        """Drop the state of FlowCollectors that are gone."""
        alive = set(uids)
        self.replacer.forget(alive)
        for target, (_version, written) in list(self.written.items()):
            if uid(written) not in alive:
                del self.written[target]


def snapshot(body: Mapping[str, Any]) -> Owner:
    metadata = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion", API_VERSION),
        "kind": body.get("kind", KIND),
        "metadata": {
            field: copy.deepcopy(metadata[field])
            for field in (
                "name",
                "namespace",
                "uid",
                "generation",
                "resourceVersion",
                "labels",
                "deletionTimestamp",
            )
            if field in metadata
        },
        "spec": copy.deepcopy(dict(body.get("spec") or {})),
        "status": copy.deepcopy(dict(body.get("status") or {})),
    }


def key(owner: Owner) -> Key:
    return str(owner["metadata"]["namespace"]), str(owner["metadata"]["name"])


def uid(owner: Owner) -> str:
    return str(owner["metadata"].get("uid", ""))


def describe(owner: Owner) -> str:
    """``namespace/name``, as logs show a FlowCollector."""
    namespace, name = key(owner)
    return f"{namespace}/{name}"

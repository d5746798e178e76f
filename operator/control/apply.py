"""Bring one child in sync: check it is ours, then create or patch what differs (I/O).

Before any write the live object's ownership is checked (``ownership.verdict``): a foreign
object raises ``NameConflictError`` and is never touched. Every patch carries the
``resourceVersion`` it was computed from; a 409 means the child changed since it was read, so
it is read again (a GET: the cache may be behind) and the write recomputed at once. Every
write's result goes into the child watches' cache, so the next reconcile does not act on what
the watch has not shown yet. Other failures are raised: the work queue retries the reconcile.
"""

import logging
from collections.abc import Mapping
from typing import Any

from flowkeeper.operator import logs, metrics
from flowkeeper.operator.control.state import Owner, Runtime, describe, uid
from flowkeeper.operator.kube import client, events
from flowkeeper.operator.plan import merge, ownership

CONFLICT_ATTEMPTS = 5
ACTIONS = {"Created": "created", "Updated": "updated", "Restored": "restored"}

logger = logging.getLogger(__name__)


class NameConflictError(Exception):
    """A child's name is taken by an object this FlowCollector does not control."""

    def __init__(self, live: Mapping[str, Any]) -> None:
        super().__init__(
            f"{ownership.describe(live)} already exists; this FlowCollector does not control it"
            " and will not change it: rename or remove it"
        )


async def read(
    runtime: Runtime, *, kind: str, namespace: str, name: str, ours_only: bool = False
) -> client.Object | None:
    """The live child: from the child watches' cache while it is in sync, else a GET.

    The watches see only objects labelled as ours, so the cache proves that a child of ours
    exists, not that the name is free: a name missing there is checked with a GET (a foreign
    object may hold it), unless only our own object matters (``ours_only``)."""
    known, cached = runtime.children.cached(kind, namespace, name)
    if known and (cached is not None or ours_only):
        return cached
    return await fetch(runtime, kind=kind, namespace=namespace, name=name)


async def fetch(runtime: Runtime, *, kind: str, namespace: str, name: str) -> client.Object | None:
    """The child as the API server has it now (a GET)."""
    return await client.call(
        client.read, api=runtime.api, kind=kind, namespace=namespace, name=name
    )


async def apply(
    runtime: Runtime,
    owner: Owner,
    desired: Mapping[str, Any],
    live: client.Object | None,
    *,
    applied_before: bool,
) -> tuple[client.Object | None, bool]:
    """Create or patch one child if it differs; return the child as it is now, and if we wrote."""
    kind, namespace, name = (
        str(desired["kind"]),
        str(desired["metadata"]["namespace"]),
        str(desired["metadata"]["name"]),
    )
    for _attempt in range(CONFLICT_ATTEMPTS):
        try:
            if live is not None:
                live = await _claim(runtime, owner, kind, live)
            write = merge.plan(desired, live)
            if write is None:
                return live, False
            if write.verb == "create":
                result = await client.call(client.create, api=runtime.api, body=write.body)
            else:
                result = await client.call(
                    client.patch,
                    api=runtime.api,
                    kind=kind,
                    namespace=namespace,
                    name=name,
                    body=write.body,
                )
        except (client.AlreadyExistsError, client.ConflictError):
            # Created or changed by someone since we read it: read again, decide again.
            live = await fetch(runtime, kind=kind, namespace=namespace, name=name)
            continue
        except client.KubeError as error:
            if error.status != 404:
                raise
            live = None  # deleted since we read it: create it
            continue
        runtime.children.remember(kind, namespace, name, result)
        why = merge.reason(desired, live, applied_before=applied_before)
        fields = {"flowcollector": describe(owner), "kind": kind, "name": name, "verb": write.verb}
        logger.info(logs.line(f"child {ACTIONS.get(why, why.lower())}", fields))
        if why == "Restored":
            metrics.RESTORES.labels(kind=kind).inc()
        await events.post(runtime.api, owner, reason=why, message=f"{why} {kind} {name}")
        return result, True
    raise client.ConflictError(f"apply {kind} {name}", 409, "kept changing while being written")


async def _claim(runtime: Runtime, owner: Owner, kind: str, live: client.Object) -> client.Object:
    """``live`` if ours; re-owned if it is our child from before; else NameConflictError."""
    live.setdefault("kind", kind)  # watch events and GETs carry it; be sure for the messages
    verdict = ownership.verdict(live, owner)
    if verdict == "ours":
        return live
    if verdict == "foreign":
        raise NameConflictError(live)
    # Our child from an earlier FlowCollector of this name: make sure that one is really gone
    # (our snapshot could be the stale one) before moving the child over.
    metadata = owner["metadata"]
    current = await fetch(
        runtime, kind="FlowCollector", namespace=metadata["namespace"], name=metadata["name"]
    )
    if current is None or current["metadata"].get("uid") != uid(owner):
        raise NameConflictError(live)
    name = str(live["metadata"]["name"])
    moved = await client.call(
        client.patch,
        api=runtime.api,
        kind=kind,
        namespace=metadata["namespace"],
        name=name,
        body=ownership.reown_patch(live, owner),
    )
    runtime.children.remember(kind, metadata["namespace"], name, moved)
    fields = {"flowcollector": describe(owner), "kind": kind, "name": name, "uid": uid(owner)}
    logger.info(logs.line("child adopted", fields))
    await events.post(
        runtime.api,
        owner,
        reason="Adopted",
        message=f"Adopted {kind} {name} left by a previous FlowCollector {metadata['name']}",
    )
    return moved

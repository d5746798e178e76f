"""Bring one child in sync: check it is ours, then create or patch what differs (I/O).

Before any write the live object's ownership is checked (``ownership.verdict``): a foreign
object raises ``NameConflictError`` and is never touched. Every patch carries the
``resourceVersion`` it was computed from; a 409 means the child changed since it was read, so
it is read again and the write recomputed at once (a 409 is never permanent).
"""

from collections.abc import Mapping
from typing import Any

from flowkeeper.operator import metrics
from flowkeeper.operator.control import backoff as retry
from flowkeeper.operator.control.state import Owner, Runtime, uid
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import events
from flowkeeper.operator.plan import merge as reconcile
from flowkeeper.operator.plan import ownership

CONFLICT_ATTEMPTS = 5


class NameConflictError(Exception):
    """A child's name is taken by an object this FlowCollector does not control."""

    def __init__(self, live: Mapping[str, Any]) -> None:
        super().__init__(
            f"{ownership.describe(live)} already exists; this FlowCollector does not control it"
            " and will not change it: rename or remove it"
        )


async def read(runtime: Runtime, *, kind: str, namespace: str, name: str) -> kube.Object | None:
    return await retry.call(kube.read, api=runtime.api, kind=kind, namespace=namespace, name=name)


async def apply(
    runtime: Runtime,
    owner: Owner,
    desired: Mapping[str, Any],
    live: kube.Object | None,
    *,
    applied_before: bool,
) -> tuple[kube.Object | None, bool]:
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
            write = reconcile.plan(desired, live)
            if write is None:
                return live, False
            if write.verb == "create":
                result = await retry.call(kube.create, api=runtime.api, body=write.body)
            else:
                result = await retry.call(
                    kube.patch,
                    api=runtime.api,
                    kind=kind,
                    namespace=namespace,
                    name=name,
                    body=write.body,
                )
        except (kube.AlreadyExistsError, kube.ConflictError):
            # Created or changed by someone since we read it: read again, decide again.
            live = await read(runtime, kind=kind, namespace=namespace, name=name)
            continue
        except kube.KubeError as error:
            if error.status != 404:
                raise
            live = None  # deleted since we read it: create it
            continue
        why = reconcile.reason(desired, live, applied_before=applied_before)
        if why == "Restored":
            metrics.RESTORES.labels(kind=kind).inc()
        await events.post(runtime, owner, reason=why, message=f"{why} {kind} {name}")
        return result, True
    raise kube.KubeError(f"apply {kind} {name}", 409, "kept changing while being written")


async def _claim(runtime: Runtime, owner: Owner, kind: str, live: kube.Object) -> kube.Object:
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
    current = await read(
        runtime, kind="FlowCollector", namespace=metadata["namespace"], name=metadata["name"]
    )
    if current is None or current["metadata"].get("uid") != uid(owner):
        raise NameConflictError(live)
    name = str(live["metadata"]["name"])
    moved = await retry.call(
        kube.patch,
        api=runtime.api,
        kind=kind,
        namespace=metadata["namespace"],
        name=name,
        body=ownership.reown_patch(live, owner),
    )
    await events.post(
        runtime,
        owner,
        reason="Adopted",
        message=f"Adopted {kind} {name} left by a previous FlowCollector {metadata['name']}",
    )
    return moved

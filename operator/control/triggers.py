"""The triggers kopf does not drive, each only enqueueing FlowCollector keys:

* ``on_child_event``: a ConfigMap, Service or DaemonSet labelled managed-by=flowkeeper changed
  or went away (``kube.watches``): its owner, found through its controller ownerReference (or,
  when a hand removed that, its instance label), is enqueued;
* ``resync_forever``: every ``resync_seconds``, the child watches list everything again (so a
  child deleted while no stream was open is noticed) and every FlowCollector is enqueued, the
  safety net for missed events. Not a kopf timer: kopf puts a finalizer on objects with timers;
* ``resync_once`` also runs when the API comes back after an outage.

None of these raise: a failure is counted, logged, and the next tick tries again.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from flowkeeper.operator import logs
from flowkeeper.operator.constants import INSTANCE_LABEL, KIND
from flowkeeper.operator.control.state import Key, Runtime, uid
from flowkeeper.operator.kube import client
from flowkeeper.operator.kube.health import API

logger = logging.getLogger(__name__)


class Relister(Protocol):
    async def relist(self) -> None: ...


def on_child_event(runtime: Runtime, kind: str, event_type: str, body: Mapping[str, Any]) -> None:
    """Enqueue the owner of a child that changed (if it is a FlowCollector we know)."""
    owner = owner_key(body.get("metadata") or {})
    if owner is None or not runtime.known(*owner):
        return
    if event_type == "DELETED":
        runtime.enqueue(owner, "child")
        return
    # The echo of our own write needs nothing; decided when the key's turn comes, as the
    # write's result may be recorded only after its event arrived (while it is in flight).
    runtime.enqueue(owner, "child", needed=lambda: not runtime.children.echo(kind, body))


async def resync_forever(runtime: Runtime, watches: Relister) -> None:
    while True:
        await asyncio.sleep(runtime.resync_seconds)
        await resync_once(runtime, watches)


async def resync_once(runtime: Runtime, watches: Relister) -> None:
    """List the children again, then enqueue every FlowCollector."""
    try:
        await watches.relist()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 (the reconciles read what they need themselves)
        if client.transient(error):
            API.failed(error)
        if API.reachable:
            logger.warning(logs.line("resync could not list the children", {"error": error}))
    owners = runtime.current()
    runtime.forget_others(uid(owner) for owner in owners)
    for owner in owners:
        namespace, name = owner["metadata"]["namespace"], owner["metadata"]["name"]
        runtime.enqueue((str(namespace), str(name)), "resync")


def owner_key(metadata: Mapping[str, Any]) -> Key | None:
    """The FlowCollector a child belongs to: its controller reference, else its instance
    label (a child whose reference was removed by hand still finds its owner)."""
    namespace = str(metadata.get("namespace", ""))
    for ref in metadata.get("ownerReferences") or []:
        if ref.get("kind") == KIND and ref.get("controller") and ref.get("name"):
            return namespace, str(ref["name"])
    instance = (metadata.get("labels") or {}).get(INSTANCE_LABEL)
    return (namespace, str(instance)) if instance else None

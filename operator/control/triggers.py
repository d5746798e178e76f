"""The triggers kopf does not drive: child events, the periodic resync, and retries.

* ``on_child_event(runtime, kind, event_type, body)``: the entry point for any watch of the
  children (kopf's, or one of our own); it restores the child and follows the rollout.
* ``resync_forever``: every ``resync_seconds``, one pass over every FlowCollector, the safety
  net for missed events. Not a kopf timer: kopf puts a finalizer on objects with timers.
* ``retry_later``: a reconcile that failed on a transient error (after the call-level retries)
  runs again after a backoff of 1, 2, 4 ... 60 s, not at the next resync.

None of these raise: a failure is counted, logged, and retried.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from flowkeeper.operator import metrics
from flowkeeper.operator.control import reconciler as collector
from flowkeeper.operator.control.apply import NameConflictError
from flowkeeper.operator.control.state import Owner, Runtime, describe, uid
from flowkeeper.operator.kube import client as kube

MAX_BACKOFF_SECONDS = 60.0

logger = logging.getLogger(__name__)


async def on_child_event(
    runtime: Runtime, kind: str, event_type: str, body: Mapping[str, Any]
) -> None:
    """A ConfigMap, Service or DaemonSet labelled managed-by=flowkeeper changed or went away."""
    owner = owner_of(runtime, body.get("metadata") or {})
    if owner is None or owner["metadata"].get("deletionTimestamp"):
        return  # not ours any more, or being garbage-collected with its owner
    try:
        changed = await collector.sync_child(runtime, owner, kind, event_type, body)
    except NameConflictError:
        retry_later(runtime, owner, attempt=0)  # the full reconcile reports it
        return
    except Exception as error:  # noqa: BLE001 (counted, logged, retried)
        _failed(runtime, owner, "child", error)
        return
    metrics.RECONCILES.labels(trigger="child", result="changed" if changed else "unchanged").inc()


async def resync_forever(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.resync_seconds)
        await resync_once(runtime)


async def resync_once(runtime: Runtime) -> None:
    """One pass over every FlowCollector; one broken object never stops the others."""
    owners = runtime.current()
    runtime.forget_others(uid(owner) for owner in owners)
    for owner in owners:
        await _attempt(runtime, owner, trigger="resync", attempt=0)


def retry_later(runtime: Runtime, owner: Owner, *, attempt: int) -> None:
    """Reconcile ``owner`` again after a backoff (one pending retry per FlowCollector)."""
    pending = runtime.retries.get(uid(owner))
    if pending is not None and not pending.done():
        return
    task = _retry(runtime, owner, attempt, backoff(attempt))
    runtime.retries[uid(owner)] = asyncio.create_task(task)


def backoff(attempt: int) -> float:
    """Seconds before whole-reconcile retry number ``attempt`` (0, 1, ...): 1, 2, 4 ... 60."""
    return min(MAX_BACKOFF_SECONDS, 2.0**attempt)


async def _retry(runtime: Runtime, owner: Owner, attempt: int, delay: float) -> None:
    await asyncio.sleep(delay)
    runtime.retries.pop(uid(owner), None)
    # The newest snapshot of this very FlowCollector, if it still exists.
    current = next((o for o in runtime.current() if uid(o) == uid(owner)), None)
    if current is not None:
        await _attempt(runtime, current, trigger="retry", attempt=attempt + 1)


async def _attempt(runtime: Runtime, owner: Owner, *, trigger: str, attempt: int) -> None:
    try:
        await collector.reconcile(runtime, owner, trigger=trigger)
    except Exception as error:  # noqa: BLE001 (counted, logged, retried)
        _failed(runtime, owner, trigger, error, attempt=attempt)


def _failed(
    runtime: Runtime, owner: Owner, trigger: str, error: Exception, *, attempt: int = 0
) -> None:
    metrics.RECONCILES.labels(trigger=trigger, result="error").inc()
    if isinstance(error, kube.KubeError):
        metrics.ERRORS.labels(cause="transient" if error.transient else "rejected").inc()
        logger.error(f"Reconcile of {describe(owner)} ({trigger}) failed, will retry: {error}")
    else:
        # A bug: logged with its traceback, and retried like the rest.
        metrics.ERRORS.labels(cause="unexpected").inc()
        logger.error(f"Reconcile of {describe(owner)} ({trigger}) failed", exc_info=error)
    retry_later(runtime, owner, attempt=attempt)


def owner_of(runtime: Runtime, metadata: Mapping[str, Any]) -> Owner | None:
    """The FlowCollector a child belongs to: its controller reference, else its instance
    label (a child whose reference was removed by hand still finds its owner)."""
    namespace = str(metadata.get("namespace", ""))
    names = [
        ref.get("name")
        for ref in metadata.get("ownerReferences") or []
        if ref.get("kind") == "FlowCollector" and ref.get("controller")
    ]
    names.append((metadata.get("labels") or {}).get("app.kubernetes.io/instance"))
    for name in names:
        for owner in runtime.owners.get((namespace, str(name))) or []:
            return owner
    return None

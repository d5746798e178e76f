"""kopf handlers: thin glue from kopf's events to the work queue, nothing else.

kopf stays where it helps: the FlowCollector watch (and its index of FlowCollectors), login,
start-up and cleanup, and the liveness endpoint with its probes. It no longer runs the
reconcile: its handlers only enqueue the FlowCollector's key, and kopf's own retries
(``TemporaryError``) are not used, so there is one retry path (``control/queue.py``).

* start-up builds the ``Runtime`` (our API client, the FlowCollector index, the child watches
  and their cache, the work queue) and starts the child watches and the resync loop;
* a FlowCollector event that may need work (listed at start-up, created, a new spec) enqueues
  its key;
* the children are not watched through kopf: its ``labels=`` filter is client-side, so every
  ConfigMap, Service and DaemonSet of the cluster would stream in. ``kube.watches`` asks the
  API server for ours only (label selector) and keeps what it saw for the reconciles.
"""

import asyncio
import logging
from typing import Any

import kopf
from flowkeeper.operator import logs, metrics
from flowkeeper.operator.app import settings
from flowkeeper.operator.constants import GROUP, PLURAL, VERSION
from flowkeeper.operator.control import reconciler, triggers
from flowkeeper.operator.control.queue import WorkQueue
from flowkeeper.operator.control.state import Key, Owner, Runtime, key, snapshot
from flowkeeper.operator.kube import client, watches
from flowkeeper.operator.kube.health import API
from flowkeeper.operator.kube.identity import ConnectionInfo

__all__ = ["settings"]  # imported for its kopf start-up handler (kopf's settings)

logger = logging.getLogger(__name__)


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf connects with the same credentials as our own client, read at start-up."""
    configuration = client.load_configuration()
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, _space, token = (header or "").rpartition(" ")
    return ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


class _Holder:
    """The runtime, for the callbacks created before it exists."""

    runtime: Runtime


@kopf.on.startup()
async def operator_startup(memo: kopf.Memo, **kwargs: Any) -> None:
    await release(memo)  # what an earlier, failed attempt of this handler had started
    configuration = await asyncio.to_thread(client.load_configuration)
    holder = _Holder()

    async def reconcile(target: Key, trigger: str) -> None:
        await reconciler.reconcile(holder.runtime, target, trigger=trigger)

    queue = WorkQueue(reconcile)
    namespaces = settings.namespaces(memo)
    child_watches = watches.ChildWatches(
        configuration,
        namespaces=namespaces,
        handler=lambda *event: triggers.on_child_event(holder.runtime, *event),
        logger=logging.getLogger(watches.__name__),
    )
    runtime = holder.runtime = Runtime(
        api=client.connect(configuration),
        resync_seconds=settings.resync_seconds(memo),
        owners=kwargs["flowcollector_index"],  # empty now, filled by kopf as objects arrive
        children=child_watches,
        enqueue=queue.add,
    )
    memo.update(runtime=runtime, queue=queue, child_watches=child_watches)
    await child_watches.start()
    resync = asyncio.create_task(triggers.resync_forever(runtime, child_watches))
    tasks: set[asyncio.Task[None]] = set()

    def recovered() -> None:
        """An outage ended: the retries waiting for it run now, and everything is looked at."""
        queue.retry_now()
        task = asyncio.create_task(triggers.resync_once(runtime, child_watches))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    memo["resync"] = resync
    memo["unregister"] = API.on_recovery(recovered)
    metrics.FLOWCOLLECTORS.source = lambda: [owner["status"] for owner in runtime.current()]
    fields = {
        "namespaces": ",".join(namespaces) or "(all)",
        "child_watches": ",".join(n or "(all)" for n in watches.scopes(namespaces)),
        "resync": f"{runtime.resync_seconds:g}s",
    }
    logger.info(logs.line("operator started", fields))


@kopf.on.cleanup()
async def operator_cleanup(memo: kopf.Memo, **_: Any) -> None:
    await release(memo)


async def release(memo: kopf.Memo) -> None:
    """Stops what start-up started. Idempotent (each part is taken out of the memo), and every
    part is released even when an earlier one fails: the CLI calls it again after kopf ends,
    for the ways out of kopf that skip its cleanup handlers (a failure, a cancellation)."""
    metrics.FLOWCOLLECTORS.source = list
    unregister = memo.pop("unregister", None)
    resync: asyncio.Task[None] | None = memo.pop("resync", None)
    queue: WorkQueue | None = memo.pop("queue", None)
    child_watches: watches.ChildWatches | None = memo.pop("child_watches", None)
    runtime: Runtime | None = memo.pop("runtime", None)
    try:
        if unregister is not None:
            unregister()
        if resync is not None:
            resync.cancel()
            await asyncio.gather(resync, return_exceptions=True)
        if queue is not None:
            await queue.stop()
    finally:
        try:
            if child_watches is not None:
                await child_watches.stop()
        finally:
            if runtime is not None:
                await asyncio.to_thread(runtime.api.close)


@kopf.index(GROUP, VERSION, PLURAL)
def flowcollector_index(body: kopf.Body, **_: Any) -> dict[Key, Owner]:
    owner = snapshot(body)
    return {key(owner): owner}


@kopf.on.event(GROUP, VERSION, PLURAL)
async def flowcollector_event(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    """A FlowCollector listed at start-up, created, or with a new spec (a new generation, or
    a new uid: re-created) is enqueued; a change of its status or metadata only is not (our
    own status writes come back this way). An event handler, not kopf's create/update/resume
    handlers: those store their progress and last-handled spec in annotations on the object,
    one more write per change, and retry on their own."""
    target = key(snapshot(body))
    seen: dict[Key, tuple[str, int]] = memo.setdefault("generations", {})
    if event.get("type") == "DELETED":
        seen.pop(target, None)
        return
    mark = (str(body.metadata.uid), int(body.metadata.get("generation") or 0))
    if seen.get(target) == mark:
        return
    seen[target] = mark
    memo["queue"].add(target, "spec")


@kopf.on.probe(id="api")
def api_probe(**_: Any) -> dict[str, Any]:
    """``/healthz`` says whether the API server answers (the process stays up either way)."""
    return API.report()

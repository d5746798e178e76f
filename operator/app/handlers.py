"""kopf handlers: thin glue from kopf's events to the reconciler, nothing else.

* start-up builds the ``Runtime`` (our API client, the FlowCollector index, state keyed by uid)
  and starts the resync loop (``resync.py``);
* the FlowCollector's spec (create, update of ``spec``, resume at start-up) runs
  ``collector.reconcile``; a transient API error that outlasts the call-level retries becomes
  ``kopf.TemporaryError``, so kopf retries it with backoff;
* the children are not watched through kopf: its ``labels=`` filter is client-side, so every
  ConfigMap, Service and DaemonSet of the cluster would stream in. ``watches.ChildWatches``
  asks the API server for ours only (label selector), started and stopped here, and hands
  each event to ``resync.on_child_event``.
"""

import asyncio
import functools
import logging
from typing import Any

import kopf
from flowkeeper.operator import metrics
from flowkeeper.operator.app import settings
from flowkeeper.operator.control import reconciler as collector
from flowkeeper.operator.control import triggers as resync
from flowkeeper.operator.control.state import (
    GROUP,
    PLURAL,
    VERSION,
    Key,
    Owner,
    Runtime,
    key,
    snapshot,
)
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import watches
from flowkeeper.operator.kube.identity import ConnectionInfo


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf connects with the same credentials as our own client, read at start-up."""
    configuration = kube.load_configuration()
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


@kopf.on.startup()
async def operator_startup(memo: kopf.Memo, **kwargs: Any) -> None:
    configuration = await asyncio.to_thread(kube.load_configuration)
    runtime = Runtime(
        api=kube.connect(configuration),
        resync_seconds=settings.resync_seconds(memo),
        owners=kwargs["flowcollector_index"],  # empty now, filled by kopf as objects arrive
    )
    runtime.resync = asyncio.create_task(resync.resync_forever(runtime))
    memo["runtime"] = runtime
    child_watches = watches.ChildWatches(
        configuration,
        namespaces=settings.namespaces(memo),
        handler=functools.partial(resync.on_child_event, runtime),
        logger=logging.getLogger(watches.__name__),
    )
    await child_watches.start()
    memo["child_watches"] = child_watches
    metrics.FLOWCOLLECTORS.source = lambda: [
        collector.last_status(runtime, owner) for owner in runtime.current()
    ]


@kopf.on.cleanup()
async def operator_cleanup(memo: kopf.Memo, **_: Any) -> None:
    child_watches: watches.ChildWatches | None = memo.get("child_watches")
    if child_watches is not None:
        await child_watches.stop()
    runtime: Runtime | None = memo.get("runtime")
    if runtime is None:
        return
    metrics.FLOWCOLLECTORS.source = list
    tasks = [task for task in (runtime.resync, *runtime.retries.values()) if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.to_thread(runtime.api.close)


@kopf.index(GROUP, VERSION, PLURAL)
def flowcollector_index(body: kopf.Body, **_: Any) -> dict[Key, Owner]:
    owner = snapshot(body)
    return {key(owner): owner}


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def flowcollector_reconcile(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    try:
        await collector.reconcile(memo["runtime"], snapshot(body), trigger="spec")
    except kube.KubeError as error:
        # Only transient errors get here (refusals end in a Ready=False status).
        raise kopf.TemporaryError(str(error), delay=resync.backoff(retry)) from error

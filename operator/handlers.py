"""kopf handlers: thin glue from API events to the reconciler.

Every path runs the same steps: build (pure) -> adopt -> read live -> create or merge-patch
what differs -> write status when it changed. Three triggers feed it:

* the FlowCollector's spec (create, update of ``spec``, resume at start-up), retried with
  backoff by kopf on transient API errors;
* events of the children (labelled managed-by=flowkeeper), so a deleted or hand-edited child
  is restored at once and the status follows the DaemonSet rollout; the event body *is* the
  live child, so no read is needed;
* an operator-wide resync loop, the safety net for missed events. It is not a kopf timer:
  kopf puts a finalizer on every object with a timer, and this operator needs none.

A FlowCollector index gives the children's handlers their owner's spec without reading it.
"""

import asyncio
import copy
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any, cast

import kopf
import kubernetes.client
from flowkeeper.operator import kube, manifests, metrics, reconcile, settings, spec, status
from flowkeeper.operator.errors import SpecError
from flowkeeper.operator.identity import ConnectionInfo

GROUP, VERSION, PLURAL = "flows.flowkeeper.dev", "v1alpha1", "flowcollectors"
MANAGED = {"app.kubernetes.io/managed-by": "flowkeeper"}
MAX_BACKOFF_SECONDS = 60.0

Key = tuple[str, str]  # (namespace, name) of a FlowCollector
Owner = dict[str, Any]  # the parts of a FlowCollector the reconciler needs


@dataclasses.dataclass
class Runtime:
    """Per-operator state, kept in kopf's memo (so a restart in-process starts clean)."""

    api: kubernetes.client.ApiClient
    resync_seconds: float
    # The FlowCollector index (kept up to date by kopf), for handlers of other resources.
    owners: kopf.Index[Key, Owner]
    # Last status written or seen per FlowCollector: fresher than the index right after a write.
    statuses: dict[Key, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    locks: dict[Key, asyncio.Lock] = dataclasses.field(default_factory=dict)
    resync: "asyncio.Task[None] | None" = None

    def lock(self, key: Key) -> asyncio.Lock:
        """One reconcile at a time per FlowCollector, whichever trigger started it."""
        return self.locks.setdefault(key, asyncio.Lock())


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
async def operator_startup(memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any) -> None:
    configuration = await asyncio.to_thread(kube.load_configuration)
    runtime = Runtime(
        api=kube.connect(configuration),
        resync_seconds=settings.resync_seconds(memo),
        owners=kwargs["flowcollector_index"],  # empty now, filled by kopf as objects arrive
    )
    runtime.resync = asyncio.create_task(_resync_forever(runtime, logger))
    memo["runtime"] = runtime
    metrics.FLOWCOLLECTORS.source = lambda: [
        _previous(runtime, owner)
        for key in list(runtime.owners)
        for owner in runtime.owners.get(key, [])
    ]


@kopf.on.cleanup()
async def operator_cleanup(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime | None = memo.get("runtime")
    if runtime is None:
        return
    metrics.FLOWCOLLECTORS.source = list
    if runtime.resync is not None:
        runtime.resync.cancel()
        await asyncio.gather(runtime.resync, return_exceptions=True)
    await asyncio.to_thread(runtime.api.close)


@kopf.index(GROUP, VERSION, PLURAL)
def flowcollector_index(body: kopf.Body, **_: Any) -> dict[Key, Owner]:
    owner = _snapshot(body)
    return {_key(owner): owner}


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def flowcollector_reconcile(
    body: kopf.Body, memo: kopf.Memo, retry: int, logger: kopf.Logger, **_: Any
) -> None:
    owner = _snapshot(body)
    try:
        await _reconcile(memo["runtime"], owner, trigger="spec", logger=logger)
    except kube.KubeError as error:
        if error.transient:
            raise kopf.TemporaryError(str(error), delay=_backoff(retry)) from error
        kopf.warn(_body(owner), reason="ApplyFailed", message=str(error))
        raise kopf.PermanentError(str(error)) from error


@kopf.on.event("v1", "configmaps", labels=MANAGED)
async def configmap_event(
    event: kopf.RawEvent, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    await _child_changed(memo["runtime"], "ConfigMap", event, logger)


@kopf.on.event("v1", "services", labels=MANAGED)
async def service_event(
    event: kopf.RawEvent, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    await _child_changed(memo["runtime"], "Service", event, logger)


@kopf.on.event("apps", "v1", "daemonsets", labels=MANAGED)
async def daemonset_event(
    event: kopf.RawEvent, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    await _child_changed(memo["runtime"], "DaemonSet", event, logger)


async def _reconcile(runtime: Runtime, owner: Owner, *, trigger: str, logger: kopf.Logger) -> None:
    """Bring all children of one FlowCollector in sync, then its status."""
    with metrics.RECONCILE_DURATION.labels(trigger=trigger).time():
        await _reconcile_timed(runtime, owner, trigger=trigger, logger=logger)


async def _reconcile_timed(
    runtime: Runtime, owner: Owner, *, trigger: str, logger: kopf.Logger
) -> None:
    key = _key(owner)
    async with runtime.lock(key):
        previous = _previous(runtime, owner)
        generation = int(owner["metadata"].get("generation") or 0)
        try:
            parsed = _parse(owner)
        except SpecError as error:
            invalid = status.invalid_status(
                generation=generation, message=str(error), previous=previous, now=_now()
            )
            if await _write_status(runtime, owner, invalid, previous):
                metrics.INVALID_SPECS.inc()
                logger.warning(f"Invalid spec, nothing applied: {error}")
                kopf.warn(_body(owner), reason="InvalidSpec", message=str(error))
            metrics.RECONCILES.labels(trigger=trigger, result="invalid").inc()
            return
        children = _desired(owner, parsed)
        applied_before = previous.get("observedGeneration") == generation
        lives: dict[tuple[str, str], kube.Object | None] = {}
        changed = False
        for child in children:
            kind, name = child["kind"], child["metadata"]["name"]
            live = await asyncio.to_thread(
                kube.read, runtime.api, kind=kind, namespace=key[0], name=name
            )
            lives[kind, name], wrote = await _apply(
                runtime, owner, child, live, applied_before=applied_before, logger=logger
            )
            changed |= wrote
        if trigger == "spec":
            changed |= await _remove_legacy(runtime, owner, logger)
            changed |= await _remove_metrics_service(runtime, owner, parsed, logger)
        daemonset = children[1]
        new = status.build_status(
            generation=generation,
            config_hash=daemonset["spec"]["template"]["metadata"]["annotations"][
                manifests.CONFIG_HASH_ANNOTATION
            ],
            daemonset=lives["DaemonSet", key[1]],
            addresses=status.service_addresses(lives["Service", key[1]]),
            previous=previous,
            now=_now(),
        )
        changed |= await _write_status(runtime, owner, new, previous)
    metrics.RECONCILES.labels(trigger=trigger, result="changed" if changed else "unchanged").inc()


async def _child_changed(
    runtime: Runtime, kind: str, event: kopf.RawEvent, logger: kopf.Logger
) -> None:
    """Restore a child that was deleted or edited, and follow the rollout in the status."""
    with metrics.RECONCILE_DURATION.labels(trigger="child").time():
        await _child_changed_timed(runtime, kind, event, logger)


async def _child_changed_timed(
    runtime: Runtime, kind: str, event: kopf.RawEvent, logger: kopf.Logger
) -> None:
    body = event["object"]
    metadata = body.get("metadata") or {}
    owner = _owner_of(runtime, metadata)
    if owner is None or owner["metadata"].get("deletionTimestamp"):
        return  # not ours any more, or being garbage-collected with its owner
    try:
        parsed = _parse(owner)
    except SpecError:
        return  # the spec handler reports it; an invalid spec changes no child
    wanted = {(c["kind"], c["metadata"]["name"]): c for c in _desired(owner, parsed)}
    desired = wanted.get((kind, metadata.get("name", "")))
    if desired is None:
        return  # e.g. the metrics Service of a FlowCollector whose metrics were turned off
    key = _key(owner)
    try:
        async with runtime.lock(key):
            live = None if event.get("type") == "DELETED" else dict(body)
            live, changed = await _apply(
                runtime, owner, desired, live, applied_before=True, logger=logger
            )
            changed |= await _follow(runtime, owner, kind, live)
    except kube.KubeError as error:
        # Event handlers are not retried by kopf; the resync loop will try again.
        metrics.ERRORS.labels(cause="transient" if error.transient else "rejected").inc()
        metrics.RECONCILES.labels(trigger="child", result="error").inc()
        logger.error(f"Could not reconcile {kind} {metadata.get('name')}: {error}")
        return
    metrics.RECONCILES.labels(trigger="child", result="changed" if changed else "unchanged").inc()


async def _follow(runtime: Runtime, owner: Owner, kind: str, live: kube.Object | None) -> bool:
    """Update the status from a DaemonSet or flow-Service event; the rest comes from before."""
    key = _key(owner)
    previous = _previous(runtime, owner)
    if live is None or live["metadata"]["name"] != key[1] or "observedGeneration" not in previous:
        return False  # not a status input, or the spec handler has not written a status yet
    if kind == "DaemonSet":
        new: Mapping[str, Any] = status.build_status(
            generation=int(previous["observedGeneration"]),
            config_hash=str(previous.get("configHash", "")),
            daemonset=live,
            addresses=list(previous.get("serviceAddresses") or []),
            previous=previous,
            now=_now(),
        )
    elif kind == "Service":
        new = {**previous, "serviceAddresses": status.service_addresses(live)}
    else:
        return False
    return await _write_status(runtime, owner, new, previous)


async def _apply(
    runtime: Runtime,
    owner: Owner,
    desired: Mapping[str, Any],
    live: kube.Object | None,
    *,
    applied_before: bool,
    logger: kopf.Logger,
) -> tuple[kube.Object | None, bool]:
    """Create or patch one child if it differs; return the child as it is now, and if we wrote."""
    write = reconcile.plan(desired, live)
    if write is None:
        return live, False
    kind, namespace, name = (
        desired["kind"],
        desired["metadata"]["namespace"],
        desired["metadata"]["name"],
    )
    why = reconcile.reason(desired, live, applied_before=applied_before)
    if write.verb == "create":
        try:
            result = await asyncio.to_thread(kube.create, runtime.api, body=write.body)
        except kube.AlreadyExistsError:
            # Another handler of ours created it a moment ago: compare with what is there.
            current = await asyncio.to_thread(
                kube.read, runtime.api, kind=kind, namespace=namespace, name=name
            )
            if current is None:
                raise kube.KubeError(f"create {kind} {name}", 409, "created and gone") from None
            return await _apply(
                runtime, owner, desired, current, applied_before=True, logger=logger
            )
    else:
        result = await asyncio.to_thread(
            kube.patch, runtime.api, kind=kind, namespace=namespace, name=name, body=write.body
        )
    if why == "Restored":
        metrics.RESTORES.labels(kind=kind).inc()
    message = f"{why} {kind} {name}"
    logger.info(message)
    kopf.info(_body(owner), reason=why, message=message)
    return result, True


async def _remove_legacy(runtime: Runtime, owner: Owner, logger: kopf.Logger) -> bool:
    """Delete the pre-DaemonSet Deployment of this instance; the DaemonSet exists by now."""
    namespace, name = _key(owner)
    legacy = await asyncio.to_thread(
        kube.list_labelled,
        runtime.api,
        kind="Deployment",
        namespace=namespace,
        labels=manifests.selector_labels(name),
    )
    removed = False
    for deployment in legacy:
        old = deployment["metadata"]["name"]
        if await asyncio.to_thread(
            kube.delete, runtime.api, kind="Deployment", namespace=namespace, name=old
        ):
            removed = True
            message = f"Removed legacy Deployment {old}, replaced by DaemonSet {name}"
            logger.info(message)
            kopf.info(_body(owner), reason="LegacyRemoved", message=message)
    return removed


async def _remove_metrics_service(
    runtime: Runtime, owner: Owner, parsed: spec.FlowCollectorSpec, logger: kopf.Logger
) -> bool:
    """Delete the metrics Service we made once metrics are turned off (only ours: a Service of
    that name that this FlowCollector does not control is left alone)."""
    if parsed["metrics"]["enabled"]:
        return False
    namespace, name = _key(owner)
    stale = manifests.metrics_service_name(name)
    live = await asyncio.to_thread(
        kube.read, runtime.api, kind="Service", namespace=namespace, name=stale
    )
    uid = owner["metadata"].get("uid")
    refs = (live or {}).get("metadata", {}).get("ownerReferences") or []
    if not any(ref.get("controller") and ref.get("uid") == uid for ref in refs):
        return False
    if not await asyncio.to_thread(
        kube.delete, runtime.api, kind="Service", namespace=namespace, name=stale
    ):
        return False
    message = f"Removed Service {stale}: metrics are disabled"
    logger.info(message)
    kopf.info(_body(owner), reason="Removed", message=message)
    return True


async def _write_status(
    runtime: Runtime, owner: Owner, new: Mapping[str, Any], previous: Mapping[str, Any]
) -> bool:
    """Patch the status subresource only when something in it changed."""
    key = _key(owner)
    if all(previous.get(field) == value for field, value in new.items()):
        runtime.statuses[key] = new
        return False
    await asyncio.to_thread(
        kube.patch,
        runtime.api,
        kind="FlowCollector",
        namespace=key[0],
        name=key[1],
        body={"status": dict(new)},
        subresource="status",
    )
    runtime.statuses[key] = new
    return True


async def _resync_forever(runtime: Runtime, logger: kopf.Logger) -> None:
    index = runtime.owners
    while True:
        await asyncio.sleep(runtime.resync_seconds)
        for gone in set(runtime.statuses) - set(index):
            runtime.statuses.pop(gone, None)
            runtime.locks.pop(gone, None)
        for key in list(index):
            for owner in list(index.get(key, [])):
                if owner["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await _reconcile(runtime, owner, trigger="resync", logger=logger)
                except kube.KubeError as error:
                    metrics.ERRORS.labels(
                        cause="transient" if error.transient else "rejected"
                    ).inc()
                    metrics.RECONCILES.labels(trigger="resync", result="error").inc()
                    logger.error(
                        f"Resync of {key[0]}/{key[1]} failed, next try in "
                        f"{runtime.resync_seconds:g}s: {error}"
                    )
                except Exception:
                    # One broken object must not stop the safety net for all the others.
                    metrics.ERRORS.labels(cause="unexpected").inc()
                    metrics.RECONCILES.labels(trigger="resync", result="error").inc()
                    logger.exception(f"Resync of {key[0]}/{key[1]} failed unexpectedly")


def _parse(owner: Owner) -> spec.FlowCollectorSpec:
    spec.check_name(owner["metadata"]["name"])
    return spec.parse_spec(owner.get("spec") or {})


def _desired(owner: Owner, parsed: spec.FlowCollectorSpec) -> list[manifests.Manifest]:
    """The children, owned (controller ownerReference) by the FlowCollector."""
    namespace, name = _key(owner)
    built = manifests.build_children(name=name, namespace=namespace, spec=parsed)
    children = [child for child in built if child is not None]
    kopf.adopt(children, owner=_body(owner))
    return children


def _owner_of(runtime: Runtime, metadata: Mapping[str, Any]) -> Owner | None:
    """The FlowCollector controlling a child: its ownerReference, else its instance label."""
    namespace = str(metadata.get("namespace", ""))
    names = [
        ref.get("name")
        for ref in metadata.get("ownerReferences") or []
        if ref.get("kind") == "FlowCollector" and ref.get("controller")
    ]
    names.append((metadata.get("labels") or {}).get("app.kubernetes.io/instance"))
    for name in names:
        for owner in runtime.owners.get((namespace, str(name)), []):
            return owner
    return None


def _snapshot(body: Mapping[str, Any]) -> Owner:
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


def _previous(runtime: Runtime, owner: Owner) -> Mapping[str, Any]:
    """The status as we last wrote it, else as the API last showed it."""
    written = runtime.statuses.get(_key(owner))
    return written if written is not None else dict(owner.get("status") or {})


def _key(owner: Owner) -> Key:
    return str(owner["metadata"]["namespace"]), str(owner["metadata"]["name"])


def _body(owner: Owner) -> kopf.Body:
    """The snapshot as a kopf Body, as adopt() and the Event functions take."""
    return kopf.Body(cast(kopf.RawBody, owner))


def _backoff(retry: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2.0**retry)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

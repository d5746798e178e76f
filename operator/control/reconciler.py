"""One FlowCollector's reconcile, whatever triggered it: build -> read -> check names ->
write what differs -> status (I/O orchestration; the decisions are in pure modules).

Every outcome ends in a status: applied (the rollout), ``InvalidSpec``, ``NameConflict`` (a
child's name is held by an object we do not control: nothing is written at all) or
``ApplyFailed`` (the API refused a child, with the API's message). Only transient API errors
that outlast the call-level retries are raised, for the caller to schedule a retry.
"""

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from flowkeeper.operator import metrics
from flowkeeper.operator.control import apply as children
from flowkeeper.operator.control import backoff as retry
from flowkeeper.operator.control import cleanup
from flowkeeper.operator.control.apply import NameConflictError
from flowkeeper.operator.control.state import Owner, Runtime, key, uid
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import events
from flowkeeper.operator.model import manifests, spec, status
from flowkeeper.operator.model.errors import SpecError
from flowkeeper.operator.plan import ownership

Child = tuple[str, str]  # kind, name

logger = logging.getLogger(__name__)


async def reconcile(runtime: Runtime, owner: Owner, *, trigger: str) -> None:
    """Bring all children of one FlowCollector in sync, then its status."""
    with metrics.RECONCILE_DURATION.labels(trigger=trigger).time():
        async with runtime.lock(uid(owner)):
            result = await _reconcile(runtime, owner, trigger=trigger)
    metrics.RECONCILES.labels(trigger=trigger, result=result).inc()


async def sync_child(
    runtime: Runtime, owner: Owner, kind: str, event_type: str, body: Mapping[str, Any]
) -> bool:
    """Restore one child from its watch event (the body *is* the live child: no read), and
    follow the rollout in the status. False when there was nothing to do."""
    try:
        parsed = parse(owner)
    except SpecError:
        return False  # the spec path reports it; an invalid spec changes no child
    wanted = {(c["kind"], c["metadata"]["name"]): c for c in desired(owner, parsed)}
    want = wanted.get((kind, str((body.get("metadata") or {}).get("name", ""))))
    if want is None:
        return False  # e.g. the metrics Service of a FlowCollector whose metrics are off
    with metrics.RECONCILE_DURATION.labels(trigger="child").time():
        async with runtime.lock(uid(owner)):
            live = None if event_type == "DELETED" else dict(body)
            live, changed = await children.apply(runtime, owner, want, live, applied_before=True)
            return await _follow(runtime, owner, kind, live) or changed


async def _reconcile(runtime: Runtime, owner: Owner, *, trigger: str) -> str:
    previous = last_status(runtime, owner)
    generation = int(owner["metadata"].get("generation") or 0)
    try:
        parsed = parse(owner)
    except SpecError as error:
        if await _refuse(runtime, owner, "InvalidSpec", str(error), previous):
            metrics.INVALID_SPECS.inc()
        return "invalid"
    wanted = desired(owner, parsed)
    lives: dict[Child, kube.Object | None] = {}
    changed = False
    try:
        for child in wanted:
            kind, name = child["kind"], child["metadata"]["name"]
            lives[kind, name] = await children.read(
                runtime, kind=kind, namespace=key(owner)[0], name=name
            )
        # Every name is checked before anything is written: a conflict writes nothing at all.
        for (kind, _name), live in lives.items():
            if live is not None and ownership.verdict({"kind": kind, **live}, owner) == "foreign":
                raise NameConflictError({"kind": kind, **live})
        applied_before = previous.get("observedGeneration") == generation
        # Services first: theirs are the only names two FlowCollectors can both want
        # (<a>-metrics and <a-metrics>): one that loses a race for a name starts no pods.
        for child in sorted(wanted, key=lambda c: c["kind"] != "Service"):
            at = (child["kind"], child["metadata"]["name"])
            lives[at], wrote = await children.apply(
                runtime, owner, child, lives[at], applied_before=applied_before
            )
            changed |= wrote
        if trigger == "spec":
            changed |= await cleanup.remove_metrics_service(runtime, owner, parsed)
        changed |= await _replace_deployment(runtime, owner, parsed, lives)
    except NameConflictError as error:
        await _refuse(runtime, owner, "NameConflict", str(error), previous)
        return "conflict"
    except kube.KubeError as error:
        if error.transient:
            raise
        metrics.ERRORS.labels(cause="rejected").inc()
        await _refuse(runtime, owner, "ApplyFailed", str(error), previous)
        return "error"
    name = key(owner)[1]
    daemonset = wanted[1]
    new = status.build_status(
        generation=generation,
        config_hash=daemonset["spec"]["template"]["metadata"]["annotations"][
            manifests.CONFIG_HASH_ANNOTATION
        ],
        daemonset=lives["DaemonSet", name],
        addresses=status.service_addresses(lives["Service", name]),
        previous=previous,
        now=_now(),
    )
    changed |= await write_status(runtime, owner, new, previous)
    return "changed" if changed else "unchanged"


async def _replace_deployment(
    runtime: Runtime, owner: Owner, parsed: spec.FlowCollectorSpec, lives: Mapping[Child, Any]
) -> bool:
    """spec.migration.replaceDeployment, once the DaemonSet exists (every full reconcile, so a
    refused deletion is tried again)."""

    async def post(type_: str, reason: str, message: str) -> None:
        kind: events.Type = "Warning" if type_ == "Warning" else "Normal"
        await events.post(runtime, owner, reason=reason, message=message, type_=kind)

    return await runtime.replacer.run(
        runtime.api,
        owner=owner,
        parsed=parsed,
        daemonset_exists=lives.get(("DaemonSet", key(owner)[1])) is not None,
        post=post,
        logger=logger,
    )


async def _refuse(
    runtime: Runtime, owner: Owner, reason: str, message: str, previous: Mapping[str, Any]
) -> bool:
    """Ready=False with ``reason``; one Warning Event when the status changes to it."""
    generation = int(owner["metadata"].get("generation") or 0)
    refused = status.refused_status(
        generation=generation, reason=reason, message=message, previous=previous, now=_now()
    )
    if not await write_status(runtime, owner, refused, previous):
        return False
    await events.post(runtime, owner, reason=reason, message=message, type_="Warning")
    return True


async def _follow(runtime: Runtime, owner: Owner, kind: str, live: kube.Object | None) -> bool:
    """Update the status from a DaemonSet or flow-Service event; the rest comes from before."""
    previous = last_status(runtime, owner)
    conditions = previous.get("conditions") or []
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    if (
        live is None
        or live["metadata"]["name"] != key(owner)[1]
        or "observedGeneration" not in previous
        or ready.get("reason") in ("InvalidSpec", "NameConflict", "ApplyFailed")
    ):
        return False  # not a status input, or a status that only a full reconcile can clear
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
    return await write_status(runtime, owner, new, previous)


async def write_status(
    runtime: Runtime, owner: Owner, new: Mapping[str, Any], previous: Mapping[str, Any]
) -> bool:
    """Patch the status subresource only when something in it changed."""
    if all(previous.get(field) == value for field, value in new.items()):
        runtime.statuses[uid(owner)] = new
        return False
    namespace, name = key(owner)
    try:
        await retry.call(
            kube.patch,
            api=runtime.api,
            kind="FlowCollector",
            namespace=namespace,
            name=name,
            body={"status": dict(new)},
            subresource="status",
        )
    except kube.KubeError as error:
        if error.status == 404:
            return False  # deleted meanwhile: nothing to report on
        raise
    runtime.statuses[uid(owner)] = new
    return True


def parse(owner: Owner) -> spec.FlowCollectorSpec:
    spec.check_name(owner["metadata"]["name"])
    return spec.parse_spec(owner.get("spec") or {})


def desired(owner: Owner, parsed: spec.FlowCollectorSpec) -> list[manifests.Manifest]:
    """The children, each with a controller ownerReference to the FlowCollector."""
    namespace, name = key(owner)
    built = manifests.build_children(name=name, namespace=namespace, spec=parsed)
    wanted = [child for child in built if child is not None]
    for child in wanted:
        child["metadata"]["ownerReferences"] = [ownership.owner_reference(owner)]
    return wanted


def last_status(runtime: Runtime, owner: Owner) -> Mapping[str, Any]:
    """The status as we last wrote it, else as the API last showed it."""
    written = runtime.statuses.get(uid(owner))
    return written if written is not None else dict(owner.get("status") or {})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

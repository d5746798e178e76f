"""The one reconcile of a FlowCollector, level-based, whatever triggered it (I/O
orchestration; the decisions are in the pure ``model`` and ``plan`` modules):

read the FlowCollector as it is now (gone: nothing to do; it may be another object than the one
an event was about, and that is the one reconciled) -> build the desired children -> read the live
ones (the child watches' cache) -> check names -> write what differs -> write the status,
bound to the uid it was computed for, when it differs from the live status.

Every outcome ends in a status: applied (the rollout), ``InvalidSpec``, ``InvalidConfig`` (the
config.json would be refused by the collector: nothing is applied), ``NameConflict`` (a
child's name is held by an object we do not control: nothing is written at all) or
``ApplyFailed`` (the API refused a child, with the API's message). Transient API errors are
raised, for the work queue to retry the whole reconcile with backoff.
"""

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from flowkeeper.operator import logs, metrics
from flowkeeper.operator.constants import CONFIG_HASH_ANNOTATION, KIND
from flowkeeper.operator.control import apply, cleanup
from flowkeeper.operator.control.apply import NameConflictError
from flowkeeper.operator.control.state import (
    Key,
    Owner,
    Runtime,
    describe,
    key,
    snapshot,
    uid,
)
from flowkeeper.operator.kube import client, events
from flowkeeper.operator.model import config, manifests, spec, status
from flowkeeper.operator.model.errors import SpecError
from flowkeeper.operator.plan import ownership

Child = tuple[str, str]  # kind, name
EVENT_TRIGGERS = frozenset({"spec", "child"})

logger = logging.getLogger(__name__)


async def reconcile(runtime: Runtime, target: Key, *, trigger: str) -> None:
    """Bring the children of the FlowCollector named ``target`` in sync, then its status.
    Raises what the work queue should retry (transient API errors)."""
    with metrics.RECONCILE_DURATION.labels(trigger=trigger).time():
        try:
            result = await _reconcile(runtime, target, trigger)
        except Exception:
            metrics.RECONCILES.labels(trigger=trigger, result="error").inc()
            raise
    if result is not None:
        metrics.RECONCILES.labels(trigger=trigger, result=result).inc()


async def read_flowcollector(
    runtime: Runtime, target: Key, trigger: str
) -> Mapping[str, Any] | None:
    """The FlowCollector named ``target`` as it is now, whichever object that is.

    After an event (``spec``: the FlowCollector's own; ``child``) kopf's index of the
    FlowCollectors (its watch cache) is as new as that event, and is read without a request.
    The resync and the retries are the safety nets: they must not trust a cache an outage or
    a lost event may have left behind, so they GET it."""
    if trigger in EVENT_TRIGGERS:
        indexed: Owner | None = next(iter(runtime.owners.get(target) or []), None)
        if indexed is None:
            return None
        version, written = runtime.written.get(target, ("", indexed))
        if uid(written) == uid(indexed) and version == _version(indexed):
            return written  # the index has not seen our own status write yet
        return indexed
    namespace, name = target
    return await apply.fetch(runtime, kind=KIND, namespace=namespace, name=name)


async def _reconcile(runtime: Runtime, target: Key, trigger: str) -> str | None:
    namespace, name = target
    live_fc = await read_flowcollector(runtime, target, trigger)
    if live_fc is None or (live_fc.get("metadata") or {}).get("deletionTimestamp"):
        return None  # gone, or going: its children go with it (ownerReferences)
    owner = snapshot(live_fc)
    previous: Mapping[str, Any] = owner["status"]
    generation = int(owner["metadata"].get("generation") or 0)
    try:
        parsed = parse(owner)
    except SpecError as error:
        if await _refuse(runtime, owner, error.reason, str(error), previous):
            metrics.INVALID_SPECS.inc()
        return "invalid"
    wanted = desired(owner, parsed)
    lives: dict[Child, client.Object | None] = {}
    changed = False
    try:
        for child in wanted:
            kind, child_name = child["kind"], child["metadata"]["name"]
            lives[kind, child_name] = await apply.read(
                runtime, kind=kind, namespace=namespace, name=child_name
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
            lives[at], wrote = await apply.apply(
                runtime, owner, child, lives[at], applied_before=applied_before
            )
            changed |= wrote
        changed |= await cleanup.remove_metrics_service(runtime, owner, parsed)
        changed |= await _replace_deployment(runtime, owner, parsed, lives)
    except NameConflictError as error:
        await _refuse(runtime, owner, "NameConflict", str(error), previous)
        return "conflict"
    except client.KubeError as error:
        if error.transient:
            raise
        metrics.ERRORS.labels(cause="rejected").inc()
        await _refuse(runtime, owner, "ApplyFailed", str(error), previous)
        return "error"
    daemonset = wanted[1]
    new = status.build_status(
        generation=generation,
        config_hash=daemonset["spec"]["template"]["metadata"]["annotations"][
            CONFIG_HASH_ANNOTATION
        ],
        daemonset=lives["DaemonSet", name],
        addresses=status.service_addresses(lives["Service", name]),
        previous=previous,
        now=_now(),
        unknown_config=config.check_config(parsed),
    )
    changed |= await write_status(runtime, owner, new, previous)
    unknown = status.newly_unknown(new, previous)
    if unknown is not None:
        fields = {"flowcollector": describe(owner), "generation": generation}
        logger.warning(logs.line("config keys unknown", {**fields, "message": unknown}))
        await events.post(
            runtime.api, owner, reason="UnknownConfigKeys", message=unknown, type_="Warning"
        )
    return "changed" if changed else "unchanged"


async def _replace_deployment(
    runtime: Runtime, owner: Owner, parsed: spec.FlowCollectorSpec, lives: Mapping[Child, Any]
) -> bool:
    """spec.migration.replaceDeployment, once the DaemonSet exists (every reconcile, so a
    refused deletion is tried again)."""

    async def post(type_: str, reason: str, message: str) -> None:
        kind: events.Type = "Warning" if type_ == "Warning" else "Normal"
        await events.post(runtime.api, owner, reason=reason, message=message, type_=kind)

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
    fields = {"flowcollector": describe(owner), "generation": generation, "reason": reason}
    logger.warning(logs.line("flowcollector refused", {**fields, "message": message}))
    await events.post(runtime.api, owner, reason=reason, message=message, type_="Warning")
    return True


async def write_status(
    runtime: Runtime, owner: Owner, new: Mapping[str, Any], previous: Mapping[str, Any]
) -> bool:
    """Write the status when it differs from the live one (``previous``, read with the
    FlowCollector at the start of this reconcile), bound to the FlowCollector's uid: a JSON
    patch whose ``test`` of ``/metadata/uid`` fails (422) on any other object of that name,
    so a status computed for a deleted FlowCollector never lands on its successor. False
    when nothing was written."""
    if all(previous.get(field) == value for field, value in new.items()):
        return False
    namespace, name = key(owner)
    body: list[Mapping[str, Any]] = [
        {"op": "test", "path": "/metadata/uid", "value": uid(owner)},
        {"op": "add", "path": "/status", "value": {**previous, **new}},
    ]
    try:
        patched = await client.call(
            client.patch,
            api=runtime.api,
            kind=KIND,
            namespace=namespace,
            name=name,
            body=body,
            subresource="status",
            content_type=client.JSON_PATCH,
        )
    except client.KubeError as error:
        if error.status == 404:
            return False  # deleted meanwhile: nothing to report on
        if error.status == 422 and await _replaced(runtime, owner):
            replaced = {"flowcollector": f"{namespace}/{name}", "uid": uid(owner)}
            logger.info(logs.line("status not written: replaced meanwhile", replaced))
            return False  # another object now: its own reconcile is queued by its event
        raise
    runtime.written[namespace, name] = (_version(owner), snapshot(patched))
    conditions: list[Mapping[str, Any]] = list(new.get("conditions") or [])
    ready: Mapping[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    fields: dict[str, object] = {
        "flowcollector": describe(owner),
        "generation": new.get("observedGeneration"),
        "ready": ready.get("status"),
        "reason": ready.get("reason"),
        "nodes": new.get("nodes", ""),
    }
    logger.info(logs.line("status written", fields))
    return True


def _version(owner: Mapping[str, Any]) -> str:
    return str((owner.get("metadata") or {}).get("resourceVersion") or "")


async def _replaced(runtime: Runtime, owner: Owner) -> bool:
    """Whether the FlowCollector of this name is gone or is another object (another uid)."""
    namespace, name = key(owner)
    current = await apply.fetch(runtime, kind=KIND, namespace=namespace, name=name)
    return current is None or current["metadata"].get("uid") != uid(owner)


def parse(owner: Owner) -> spec.FlowCollectorSpec:
    """The checked spec; SpecError (ConfigError when the collector would refuse its config)."""
    spec.check_name(owner["metadata"]["name"])
    parsed = spec.parse_spec(owner.get("spec") or {})
    config.check_config(parsed)
    return parsed


def desired(owner: Owner, parsed: spec.FlowCollectorSpec) -> list[manifests.Manifest]:
    """The children, each with a controller ownerReference to the FlowCollector."""
    namespace, name = key(owner)
    built = manifests.build_children(name=name, namespace=namespace, spec=parsed)
    wanted = [child for child in built if child is not None]
    for child in wanted:
        child["metadata"]["ownerReferences"] = [ownership.owner_reference(owner)]
    return wanted


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

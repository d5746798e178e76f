"""FlowCollector status from the live DaemonSet and Service. Pure: no I/O.

Level-based: the status says what the DaemonSet controller reports, not what the operator sent.
A condition keeps its lastTransitionTime until its status flips, so a status rebuilt from
unchanged inputs equals the previous one and the handler has nothing to write.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple, cast

from flowkeeper.operator.constants import CONFIG_HASH_ANNOTATION
from flowkeeper.operator.model import collector_schema
from flowkeeper.operator.model.spec import Condition, FlowCollectorStatus

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
# Keys in spec.config / spec.listeners[].config the collector does not read: passed on (serde
# ignores them), never silent. Present only once some were seen.
UNKNOWN_CONFIG_KEYS = "UnknownConfigKeys"
# Ready reasons only a full reconcile of a new spec can clear.
REFUSALS = ("InvalidSpec", "InvalidConfig", "NameConflict", "ApplyFailed")

Truth = Literal["True", "False"]


class Rollout(NamedTuple):
    """What the DaemonSet controller reports, and whether it describes the desired template."""

    desired: int
    ready: int
    updated: int
    current: bool  # the controller has seen the latest template, and it has the desired config


class _Verdict(NamedTuple):
    ready: tuple[Truth, str, str]
    progressing: tuple[Truth, str, str]
    degraded: tuple[Truth, str, str]


def rollout(daemonset: Mapping[str, Any], *, config_hash: str) -> Rollout:
    status = daemonset.get("status") or {}
    metadata = daemonset.get("metadata") or {}
    template = ((daemonset.get("spec") or {}).get("template") or {}).get("metadata") or {}
    seen = int(status.get("observedGeneration", 0)) >= int(metadata.get("generation", 0))
    configured = (template.get("annotations") or {}).get(CONFIG_HASH_ANNOTATION) == config_hash
    return Rollout(
        desired=int(status.get("desiredNumberScheduled", 0)),
        ready=int(status.get("numberReady", 0)),
        updated=int(status.get("updatedNumberScheduled", 0)),
        current=seen and configured,
    )


def service_addresses(service: Mapping[str, Any] | None) -> list[str]:
    """Load-balancer ingress addresses (IP or hostname), in the order the cloud reports them."""
    if service is None:
        return []
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [
        str(item.get("ip") or item.get("hostname"))
        for item in ingress
        if item.get("ip") or item.get("hostname")
    ]


def build_status(
    *,
    generation: int,
    config_hash: str,
    daemonset: Mapping[str, Any] | None,
    addresses: Sequence[str],
    previous: Mapping[str, Any],
    now: str,
    unknown_config: Sequence[str] | None = None,
) -> FlowCollectorStatus:
    """The whole status for spec ``generation`` applied with config ``config_hash``.

    ``unknown_config``: the spec fields the collector ignores (None: keep the previous
    UnknownConfigKeys condition, for updates that did not look at the spec)."""
    state = rollout(daemonset, config_hash=config_hash) if daemonset is not None else None
    verdict = _judge(state)
    conditions = _conditions(verdict, generation=generation, previous=previous, now=now)
    warning = _unknown_config_condition(
        unknown_config, generation=generation, previous=previous, now=now
    )
    return FlowCollectorStatus(
        observedGeneration=generation,
        conditions=conditions + ([warning] if warning else []),
        desiredNumberScheduled=state.desired if state else 0,
        numberReady=state.ready if state else 0,
        nodes=f"{state.ready if state else 0}/{state.desired if state else 0}",
        configHash=config_hash,
        serviceAddresses=list(addresses),
    )


def refused_status(
    *, generation: int, reason: str, message: str, previous: Mapping[str, Any], now: str
) -> FlowCollectorStatus:
    """Ready=False with ``reason`` when the spec could not be applied (invalid, a name taken by
    a foreign object, a child refused by the API); the counters keep their last values."""
    waiting = (
        "the spec is not applied until it is fixed"
        if reason in ("InvalidSpec", "InvalidConfig")
        else "the spec is not fully applied: " + message
    )
    verdict = _Verdict(
        ready=("False", reason, message),
        progressing=("False", reason, waiting),
        degraded=("True", reason, message),
    )
    status = cast(FlowCollectorStatus, {k: v for k, v in previous.items() if k != "conditions"})
    status["observedGeneration"] = generation
    status["conditions"] = _conditions(verdict, generation=generation, previous=previous, now=now)
    return status


def unknown_config_message(fields: Sequence[str]) -> str:
    return (
        f"{', '.join(fields)}: not a setting of the collector (carverauto/serviceradar "
        f"{collector_schema.SOURCE_COMMIT}); "
        "passed on in config.json, where the collector ignores it. Check the spelling."
    )


def newly_unknown(new: Mapping[str, Any], previous: Mapping[str, Any]) -> str | None:
    """The UnknownConfigKeys message when ``new`` reports unknown keys ``previous`` did not
    (for one Warning Event per change, not one per reconcile); else None."""

    def reported(status: Mapping[str, Any]) -> str | None:
        for item in status.get("conditions") or []:
            if item.get("type") == UNKNOWN_CONFIG_KEYS and item.get("status") == "True":
                return str(item.get("message"))
        return None

    message = reported(new)
    return message if message is not None and message != reported(previous) else None


def _unknown_config_condition(
    fields: Sequence[str] | None, *, generation: int, previous: Mapping[str, Any], now: str
) -> Condition | None:
    old = next(
        (c for c in previous.get("conditions") or [] if c.get("type") == UNKNOWN_CONFIG_KEYS),
        None,
    )
    if fields is None or (not fields and old is None):
        return cast(Condition, dict(old)) if fields is None and old else None
    truth: Truth = "True" if fields else "False"
    since = now
    if old is not None and old.get("status") == truth and "lastTransitionTime" in old:
        since = str(old["lastTransitionTime"])
    return Condition(
        type=UNKNOWN_CONFIG_KEYS,
        status=truth,
        reason=UNKNOWN_CONFIG_KEYS if fields else "AllKeysKnown",
        message=(
            unknown_config_message(fields)
            if fields
            else "every config key is a setting of the collector"
        ),
        lastTransitionTime=since,
        observedGeneration=generation,
    )


def _judge(state: Rollout | None) -> _Verdict:
    if state is None:
        waiting = "the DaemonSet is not created yet"
        return _Verdict(
            ready=("False", "DaemonSetMissing", waiting),
            progressing=("True", "Creating", waiting),
            degraded=("False", "AsExpected", waiting),
        )
    counts = f"{state.ready}/{state.desired} collector pods ready"
    if not state.current or state.updated < state.desired:
        rolling = f"{state.updated}/{state.desired} pods updated, {counts}"
        return _Verdict(
            ready=("False", "RollingOut", rolling),
            progressing=("True", "RollingOut", rolling),
            degraded=("False", "AsExpected", rolling),
        )
    done: tuple[Truth, str, str] = (
        "False",
        "RolloutComplete",
        f"all {state.desired} pods run the current spec",
    )
    if state.desired == 0:
        nobody = "no node is eligible (check nodeSelector, affinity and tolerations)"
        return _Verdict(
            ready=("False", "NoEligibleNodes", nobody),
            progressing=done,
            degraded=("True", "NoEligibleNodes", nobody),
        )
    if state.ready < state.desired:
        return _Verdict(
            ready=("False", "PodsNotReady", counts),
            progressing=done,
            degraded=("True", "PodsNotReady", counts),
        )
    return _Verdict(
        ready=("True", "RolloutComplete", counts),
        progressing=done,
        degraded=("False", "AsExpected", counts),
    )


def _conditions(
    verdict: _Verdict, *, generation: int, previous: Mapping[str, Any], now: str
) -> list[Condition]:
    before = {item.get("type"): item for item in previous.get("conditions") or []}
    conditions: list[Condition] = []
    for kind, (truth, reason, message) in zip((READY, PROGRESSING, DEGRADED), verdict, strict=True):
        old = before.get(kind) or {}
        flipped = old.get("status") != truth or "lastTransitionTime" not in old
        conditions.append(
            Condition(
                type=kind,
                status=truth,
                reason=reason,
                message=message,
                lastTransitionTime=now if flipped else str(old["lastTransitionTime"]),
                observedGeneration=generation,
            )
        )
    return conditions

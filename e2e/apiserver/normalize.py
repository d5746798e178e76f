"""What Go's JSON encoding does to a built-in object kube-apiserver stores (``omitempty``).

A real server decodes a request into Go structs and encodes them back, so what a field's Go
type cannot tell from "absent" disappears. The rules kept here (pragmatic, not per-field exact):

* ``null`` is absent, everywhere;
* ``""`` is absent, except for the few required string fields that have no ``omitempty``
  (``name``, ``mountPath``, ``operator``, a selector requirement's ``key``) and ``*string``
  pointers (a Lease's ``holderIdentity``, ``runtimeClassName``, ``storageClassName``,
  ``loadBalancerClass``, hostPath ``type``); map entries (labels, annotations, data,
  nodeSelector...) keep their empty values;
* ``[]`` is absent, everywhere (every list field of these kinds is ``omitempty``);
* ``{}`` is absent for Go *map* fields (labels, annotations, nodeSelector, a Service's
  selector, matchLabels, resource limits/requests, ConfigMap data...), and kept for Go struct
  pointers (``affinity: {}``, ``emptyDir: {}``, ``securityContext: {}``), as Go keeps them;
* ``false`` is absent for plain ``bool,omitempty`` fields (hostNetwork, hostPID, hostIPC,
  readOnly, stdin, stdinOnce, tty, publishNotReadyAddresses); ``*bool`` fields keep it;
* ``0`` is absent for plain ``int32,omitempty`` fields (hostPort, initialDelaySeconds,
  minReadySeconds);
* resource quantities (``resources.limits``/``requests``) are stored in canonical form.

Custom resources are stored as sent, as for a CRD; only their metadata follows these rules.
"""

import datetime
from typing import Any

from e2e.apiserver.quantity import QuantityError, canonical

MAP_FIELDS = frozenset(
    {
        "labels",
        "annotations",
        "nodeSelector",
        "matchLabels",
        "limits",
        "requests",
        "data",
        "binaryData",
        "stringData",
        "parameters",
    }
)
# Kept even when empty: required strings without omitempty, and *string pointers (a Lease's
# holderIdentity, runtimeClassName, storageClassName, loadBalancerClass...), which Go keeps.
REQUIRED_STRINGS = frozenset({"name", "mountPath", "operator"})
POINTER_STRINGS = frozenset(
    {"holderIdentity", "preferredHolder", "strategy", "runtimeClassName", "storageClassName"}
    | {"loadBalancerClass"}
)
FALSE_OMITTED = frozenset(
    {"hostNetwork", "hostPID", "hostIPC", "readOnly", "stdin", "stdinOnce", "tty"}
    | {"publishNotReadyAddresses"}
)
ZERO_OMITTED = frozenset({"hostPort", "initialDelaySeconds", "minReadySeconds"})
# In workload status only (a spec's ``replicas`` is a *int32 and keeps 0).
STATUS_ZERO_OMITTED = ZERO_OMITTED | {
    "observedGeneration",
    "numberAvailable",
    "numberUnavailable",
    "updatedNumberScheduled",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
}
_REQUIREMENT_LISTS = frozenset({"matchExpressions", "matchFields"})


def prune_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """ObjectMeta: empty maps and lists and null go (labels: {}, finalizers: [])."""
    return {
        key: value
        for key, value in metadata.items()
        if value is not None
        and value != []
        and value != ""
        and not (value == {} and key in MAP_FIELDS)
    }


def prune_top(obj: dict[str, Any]) -> dict[str, Any]:
    """A built-in object (but its metadata) as a real server would store it."""
    pruned = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            pruned[key] = value
            continue
        zeros = STATUS_ZERO_OMITTED if key == "status" else ZERO_OMITTED
        kept = prune(value, key=key, zeros=zeros)
        if not omitted(key, kept, parent="", zeros=zeros):
            pruned[key] = kept
    return pruned


# Fields of type apiextensions JSON (a CRD schema's ``default`` and ``example``): raw JSON
# behind a pointer, so any value but null is kept as sent, ``[]``, ``{}``, ``""`` and ``false``
# included (dropping ``default: []`` also made the stored CRD differ from an applied one).
RAW_JSON = frozenset({"default", "example"})


def prune(
    value: Any, *, key: str = "", parent: str = "", zeros: frozenset[str] = ZERO_OMITTED
) -> Any:
    """A built-in object's field as a real server would store it (see the module rules)."""
    if key in RAW_JSON:
        return value
    if isinstance(value, dict):
        if key in MAP_FIELDS:
            return {k: v for k, v in value.items() if v is not None}
        pruned = {}
        for child_key, child in value.items():
            kept = prune(child, key=child_key, parent=key, zeros=zeros)
            if not omitted(child_key, kept, parent=key, zeros=zeros):
                pruned[child_key] = kept
        return pruned
    if isinstance(value, list):
        return [prune(item, key="", parent=key, zeros=zeros) for item in value]
    return value


def omitted(key: str, value: Any, *, parent: str, zeros: frozenset[str] = ZERO_OMITTED) -> bool:
    if key in RAW_JSON:
        return value is None
    if value is None or value == []:
        return True
    if value == "":
        kept = key in REQUIRED_STRINGS or key in POINTER_STRINGS
        kept |= key == "key" and parent in _REQUIREMENT_LISTS
        kept |= key == "type" and parent == "hostPath"
        return not kept
    if value == {}:
        return key in MAP_FIELDS
    if value is False:
        return key in FALSE_OMITTED
    if value == 0 and not isinstance(value, bool) and isinstance(value, int):
        return key in zeros
    return False


def canonical_resources(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Rewrite every ``resources.limits``/``requests`` quantity in place to its canonical form.

    Returns the (field, message) of each quantity a real server refuses.
    """
    errors: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "resources" and isinstance(child, dict):
                errors += _canonical_amounts(child, f"{path}.resources")
            else:
                errors += canonical_resources(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors += canonical_resources(item, f"{path}[{index}]")
    return errors


def _canonical_amounts(resources: dict[str, Any], path: str) -> list[tuple[str, str]]:
    errors = []
    for section in ("limits", "requests"):
        amounts = resources.get(section)
        if not isinstance(amounts, dict):
            continue
        for name, amount in amounts.items():
            try:
                amounts[name] = canonical(amount)
            except QuantityError as error:
                field = f"{path}.{section}[{name}]".lstrip(".")
                errors.append((field, f"Invalid value: {amount!r}: {error}"))
    return errors


def lease_times(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """A Lease's acquireTime/renewTime are MicroTime: stored as RFC 3339 in UTC with exactly
    six fractional digits (``2026-01-02T03:04:05.000000Z``), whatever the client sent."""
    errors = []
    spec = obj.get("spec") or {}
    for field in ("acquireTime", "renewTime"):
        if isinstance(spec.get(field), str):
            try:
                parsed = datetime.datetime.fromisoformat(spec[field].replace("Z", "+00:00"))
            except ValueError:
                errors.append((f"spec.{field}", f"Invalid value: {spec[field]!r}: not RFC 3339"))
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.UTC)
            utc = parsed.astimezone(datetime.UTC)
            spec[field] = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return errors

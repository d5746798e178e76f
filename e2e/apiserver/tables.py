"""``meta.k8s.io`` Tables and PartialObjectMetadata: what ``kubectl get`` reads.

Custom resources: the columns of the CRD version's ``additionalPrinterColumns`` (``Age`` alone
when it has none), evaluated as apiextensions-apiserver's tableconvertor does (first JSONPath
result; a ``string`` column prints it as JSONPath's text output; ``integer``/``number``/
``boolean`` keep the JSON value; ``date`` becomes an age; a missing value is null, which kubectl
prints as ``<none>``). Built-in kinds: the columns of kube-apiserver's printers
(pkg/printers/internalversion/printers.go) for the kinds listed in ``PRINTERS``; NAME/AGE for the
other served kinds; CRDs themselves get the default convertor's NAME/CREATED AT.
"""

import datetime
import json
from collections.abc import Callable, Mapping
from typing import Any

from e2e.apiserver import jsonpath
from e2e.apiserver.errors import ApiError
from e2e.apiserver.media import Target
from e2e.apiserver.resources import Resource

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some"
    " resources may allow a client to request the generation of an appropriate name"
    " automatically. Name is primarily intended for creation idempotence and configuration"
    " definition. Cannot be updated. More info:"
    " https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was"
    " created. It is not guaranteed to be set in happens-before order across separate"
    " operations. Clients may not set this value. It is represented in RFC3339 form and is in"
    " UTC.\n\nPopulated by the system. Read-only. Null for lists. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
Cell = Any
Row = Callable[[dict[str, Any]], list[Cell]]


def column(name: str, kind: str = "string", description: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "format": extra.get("format", ""),
        "description": description,
        "priority": extra.get("priority", 0),
    }


NAME = column("Name", format="name", description=NAME_DOC)
AGE = column("Age", description=CREATED_DOC)


# -- ages ---------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: 45s, 3m20s, 12m, 5h30m, 3d4h, 2y."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(timestamp: Any, now: datetime.datetime | None = None) -> str:
    """A creationTimestamp as kubectl shows it (``<unknown>`` when unset, ``<invalid>`` when it
    does not parse)."""
    if not timestamp:
        return "<unknown>"
    try:
        created = datetime.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    return human_duration(((now or datetime.datetime.now(datetime.UTC)) - created).total_seconds())


# -- custom resources ---------------------------------------------------------------------------


def printer_columns(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A CRD version's additionalPrinterColumns; ``Age`` alone when there are none (as
    apiextensions-apiserver serves a CRD that declares none)."""
    return list(columns) or [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]


def _json_text(value: Any) -> str:
    """JSONPath's text output of one value: strings raw, maps and lists as JSON, numbers and
    booleans as Go's fmt prints them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _custom_cell(kind: str, value: Any) -> Cell:
    """tableconvertor.cellForJSONValue, and the string branch's PrintResults."""
    if value is None:
        return None
    if kind == "string":
        return _json_text(value)
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        return age(value)
    return None


def custom_printer(columns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Row]:
    definitions = [NAME]
    for spec in columns:
        description = spec.get("description") or (
            f"Custom resource definition column (in JSONPath format): {spec['jsonPath']}"
        )
        definitions.append(
            column(
                spec["name"],
                spec.get("type", "string"),
                description,
                format=spec.get("format", ""),
                priority=spec.get("priority", 0),
            )
        )

    def row(obj: dict[str, Any]) -> list[Cell]:
        cells: list[Cell] = [obj["metadata"]["name"]]
        for spec in columns:
            found = jsonpath.find(obj, spec["jsonPath"])
            cells.append(_custom_cell(spec.get("type", "string"), found[0] if found else None))
        return cells

    return definitions, row


# -- built-in kinds -----------------------------------------------------------------------------


def _ports(service: dict[str, Any]) -> str:
    ports = []
    for port in service.get("spec", {}).get("ports") or []:
        protocol = port.get("protocol", "TCP")
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port['port']}{node}/{protocol}")
    return ",".join(ports) or "<none>"


def _external_ip(service: dict[str, Any]) -> str:
    spec = service.get("spec", {})
    external = list(spec.get("externalIPs") or [])
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    if kind == "LoadBalancer":
        ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
        shown = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
        if len(shown) > 16:
            shown = shown[:13] + "..."
        result = [shown] if shown else []
        result += external
        return ",".join(result) or "<pending>"
    return ",".join(external) or "<none>"


def _labels(selector: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>"


def _status(obj: dict[str, Any], field: str) -> int:
    return int(obj.get("status", {}).get(field) or 0)


def _age(obj: dict[str, Any]) -> str:
    return age(obj["metadata"].get("creationTimestamp"))


# kind -> (columns between NAME and AGE, their cells)
PRINTERS: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any]], list[Cell]]]] = {
    "Namespace": (
        [column("Status", description="The status of the namespace")],
        lambda o: [o.get("status", {}).get("phase", "")],
    ),
    "Secret": (
        [
            column("Type", description="The type of the secret"),
            column("Data", "integer", "Number of data in secret"),
        ],
        lambda o: [o.get("type", ""), len(o.get("data") or {})],
    ),
    "ConfigMap": (
        [column("Data", "integer", "Number of data in configmap")],
        lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})],
    ),
    "Service": (
        [
            column("Type", description="The type of the service."),
            column("Cluster-IP", description="The IP address of the service."),
            column("External-IP", description="The external IP address of the service."),
            column("Port(s)", description="The ports of the service."),
        ],
        lambda o: [
            o.get("spec", {}).get("type", ""),
            o.get("spec", {}).get("clusterIP") or "<none>",
            _external_ip(o),
            _ports(o),
        ],
    ),
    "DaemonSet": (
        [
            column("Desired", "integer", "The desired number of daemon pods."),
            column("Current", "integer", "The current number of daemon pods."),
            column("Ready", "integer", "The number of daemon pods that are ready."),
            column("Up-to-date", "integer", "The number of daemon pods that are up to date."),
            column("Available", "integer", "The number of daemon pods that are available."),
            column("Node Selector", description="The node selector of the daemon set."),
        ],
        lambda o: [
            _status(o, "desiredNumberScheduled"),
            _status(o, "currentNumberScheduled"),
            _status(o, "numberReady"),
            _status(o, "updatedNumberScheduled"),
            _status(o, "numberAvailable"),
            _labels(o.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector")),
        ],
    ),
    "Deployment": (
        [
            column("Ready", description="Number of the pod with ready state"),
            column("Up-to-date", "integer", "Total number of non-terminated pods targeted by"),
            column("Available", "integer", "Total number of available pods"),
        ],
        lambda o: [
            f"{_status(o, 'readyReplicas')}/{int(o.get('spec', {}).get('replicas', 1))}",
            _status(o, "updatedReplicas"),
            _status(o, "availableReplicas"),
        ],
    ),
}


# Kinds printed as NAME and CREATED AT (an RFC 3339 time, not an age): the default table
# convertor (CRDs) and the RBAC role printers.
CREATED_AT_KINDS = frozenset({"CustomResourceDefinition", "ClusterRole", "Role"})


def _bool_pointer(value: Any) -> str:
    """printBoolPtr: ``<unset>`` for nil."""
    return "<unset>" if value is None else ("True" if value else "False")


def _since(timestamp: Any) -> str:
    return age(timestamp) if timestamp else "<none>"


def _role(binding: dict[str, Any]) -> str:
    ref = binding.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _pod(pod: dict[str, Any]) -> list[Cell]:
    """printPod's READY, STATUS and RESTARTS, for pods without init containers."""
    spec, status = pod.get("spec", {}), pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "")
    restarts, ready, running, last_restart = 0, 0, False, ""
    for container in reversed(status.get("containerStatuses") or []):
        restarts += int(container.get("restartCount") or 0)
        finished = (container.get("lastState") or {}).get("terminated") or {}
        last_restart = max(last_restart, str(finished.get("finishedAt") or ""))
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated is not None and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated is not None:
            signal = terminated.get("signal")
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif container.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        conditions = status.get("conditions") or []
        has_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        reason = "Running" if has_ready else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    shown = str(restarts)
    if restarts and last_restart:
        shown = f"{restarts} ({age(last_restart)} ago)"
    return [f"{ready}/{len(spec.get('containers') or [])}", reason, shown]


PRINTERS |= {
    "Pod": (
        [
            column("Ready", description="The aggregate readiness state of this pod"),
            column("Status", description="The aggregate status of the containers in this pod."),
            column("Restarts", description="The number of times the containers in this pod"),
        ],
        _pod,
    ),
    "ServiceAccount": (
        [column("Secrets", "integer", "Secrets is a list of the secrets in the same namespace")],
        lambda o: [len(o.get("secrets") or [])],
    ),
    "CronJob": (
        [
            column("Schedule", description="The schedule in Cron format"),
            column("Timezone", description="The time zone name for the given schedule"),
            column("Suspend", "boolean", "Whether subsequent executions are suspended"),
            column("Active", "integer", "A list of pointers to currently running jobs."),
            column("Last Schedule", description="Last time the job was scheduled"),
        ],
        lambda o: [
            o.get("spec", {}).get("schedule", ""),
            o.get("spec", {}).get("timeZone") or "<none>",
            _bool_pointer(o.get("spec", {}).get("suspend")),
            len(o.get("status", {}).get("active") or []),
            _since(o.get("status", {}).get("lastScheduleTime")),
        ],
    ),
    "Lease": (
        [column("Holder", description="HolderIdentity contains the identity of the holder")],
        lambda o: [o.get("spec", {}).get("holderIdentity") or ""],
    ),
    "ClusterRoleBinding": (
        [column("Role", description="RoleRef references a ClusterRole")],
        lambda o: [_role(o)],
    ),
    "RoleBinding": (
        [column("Role", description="RoleRef can reference a Role or a ClusterRole")],
        lambda o: [_role(o)],
    ),
}


def builtin_printer(resource: Resource) -> tuple[list[dict[str, Any]], Row]:
    if resource.kind in CREATED_AT_KINDS:  # rest.NewDefaultTableConvertor, printClusterRole
        created = column("Created At", "date", CREATED_DOC)

        def created_at(obj: dict[str, Any]) -> list[Cell]:
            return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]

        return [NAME, created], created_at
    middle, cells = PRINTERS.get(resource.kind, ([], lambda _: []))

    def row(obj: dict[str, Any]) -> list[Cell]:
        return [obj["metadata"]["name"], *cells(obj), _age(obj)]

    return [NAME, *middle, AGE], row


# -- answers ------------------------------------------------------------------------------------


def partial(obj: Mapping[str, Any], version: str) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj["metadata"],
    }


def transform(
    body: dict[str, Any],
    target: Target,
    printer: tuple[list[dict[str, Any]], Row],
    params: Mapping[str, str],
) -> dict[str, Any]:
    """An object or a list (``items``) as the Table or PartialObjectMetadata asked for."""
    listed = "items" in body and body.get("kind", "").endswith("List")
    items = body["items"] if listed else [body]
    if target.as_ == "PartialObjectMetadata":
        if not listed:
            return partial(body, target.version)
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": target.api_version,
            "metadata": body.get("metadata", {}),
            "items": [partial(o, target.version) for o in items],
        }
    include = params.get("includeObject", "Metadata") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise ApiError(
            400,
            f'Unsupported value: "{include}": supported values: "None", "Metadata", "Object"',
        )
    definitions, row = printer
    rows = []
    for obj in items:
        entry: dict[str, Any] = {"cells": row(obj)}
        if include == "Object":
            entry["object"] = obj
        elif include == "Metadata":
            entry["object"] = partial(obj, target.version)
        rows.append(entry)
    meta = body.get("metadata", {}) if listed else {}
    metadata = {
        k: meta[k] for k in ("resourceVersion", "continue", "remainingItemCount") if k in meta
    }
    if not listed:
        metadata["resourceVersion"] = body["metadata"].get("resourceVersion", "")
    table: dict[str, Any] = {"kind": "Table", "apiVersion": target.api_version}
    table["metadata"] = metadata
    table["columnDefinitions"] = definitions
    table["rows"] = rows
    return table

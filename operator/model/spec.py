"""The FlowCollector spec and status as types, and the parser that checks a spec.

`parse_spec` applies the CRD's defaults and re-checks every rule of the CRD schema, CEL rules
included: an old API server, or a CRD installed without its schema, lets bad objects through,
and the operator must then refuse them with a message naming the field instead of failing later
on a child object. Pure: no I/O.
"""

import copy
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict, TypeVar

from flowkeeper.operator.constants import ANNOTATION_PREFIX
from flowkeeper.operator.model.errors import SpecError

Protocol = Literal["netflow", "sflow"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
ServiceType = Literal["LoadBalancer", "NodePort", "ClusterIP"]
TrafficPolicy = Literal["Local", "Cluster"]


class Listener(TypedDict):
    name: str
    protocol: Protocol
    port: int
    subject: str  # "<spec.nats.subject>.raw.<protocol>" unless set
    config: dict[str, Any]  # extra settings of this listener, merged into its config.json entry


class Metrics(TypedDict):
    enabled: bool
    port: int


class SecretKeyRef(TypedDict):
    name: str
    key: str


class Stream(TypedDict):
    name: str
    subjects: list[str]
    maxBytes: int
    replicas: int


class NatsTls(TypedDict):
    secretName: str
    caKey: str  # "" means no CA file (the image's default roots)
    certKey: str  # "" (with keyKey "") means no client certificate
    keyKey: str


class Nats(TypedDict):
    url: str
    subject: str
    stream: Stream
    credsSecretRef: NotRequired[SecretKeyRef]
    tls: NotRequired[NatsTls]


class TemplateStore(TypedDict):
    kvBucket: str
    kvHistory: int
    kvTtlSeconds: int
    natsUrl: str  # "" means nats.url


class ServiceSpec(TypedDict):
    type: ServiceType
    externalTrafficPolicy: TrafficPolicy
    annotations: dict[str, str]
    loadBalancerIP: str  # "" means unset


class Migration(TypedDict):
    replaceDeployment: NotRequired[str]  # the Deployment the DaemonSet replaces


class FlowCollectorSpec(TypedDict):
    """A checked spec with every default applied; optional collections are empty, never absent."""

    image: str
    imagePullPolicy: PullPolicy
    listeners: list[Listener]
    metrics: Metrics
    nats: Nats
    templateStore: NotRequired[TemplateStore]
    service: ServiceSpec
    nodeSelector: dict[str, str]
    tolerations: list[dict[str, Any]]
    affinity: dict[str, Any]
    priorityClassName: str
    resources: dict[str, dict[str, str | int]]
    hostNetwork: bool
    config: dict[str, Any]
    migration: NotRequired[Migration]


class Condition(TypedDict):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    lastTransitionTime: str
    observedGeneration: NotRequired[int]


class FlowCollectorStatus(TypedDict, total=False):
    observedGeneration: int
    conditions: list[Condition]
    desiredNumberScheduled: int
    numberReady: int
    nodes: str  # "<numberReady>/<desiredNumberScheduled>", shown by the Nodes printer column
    configHash: str
    serviceAddresses: list[str]


MAX_LISTENERS = 16
MAX_NAME_LENGTH = 55  # "<name>-metrics" must fit a 63-character Service name
DEFAULT_METRICS_PORT = 50046
DEFAULT_SUBJECT = "flows"
# The stream ServiceRadar's own chart and the collector's sample config publish into (see
# docs/flowcollector-reference.md), and the collector's own defaults for its size and replicas.
DEFAULT_STREAM = "events"
DEFAULT_STREAM_MAX_BYTES = 10 * 1024**3
MAX_STREAM_NAME_BYTES = 255  # nats-server JSMaxNameLen
MAX_STREAM_REPLICAS = 5  # nats-server StreamMaxReplicas
MAX_STREAM_SUBJECTS = 64
RESERVED_PORT_NAME = "metrics"
RESERVED_ANNOTATION_PREFIX = f"{ANNOTATION_PREFIX}/"
# Top-level config.json keys the operator derives from typed fields; spec.config may not set them.
RESERVED_CONFIG_KEYS = frozenset(
    {
        "listeners",
        "nats_url",
        "nats_creds_file",
        "stream_name",
        "stream_subjects",
        "stream_max_bytes",
        "stream_replicas",
        "metrics_addr",
        "template_store",
        "security",
    }
)
# Keys of a listener's config.json entry the operator derives; spec.listeners[].config may not.
RESERVED_LISTENER_CONFIG_KEYS = frozenset({"protocol", "listen_addr", "subject"})

_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_PORT_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_NATS_URL = re.compile(r"(nats|tls|ws|wss)://\S+")
_NATS_SUBJECT = re.compile(r"[^.*>\s]+(\.[^.*>\s]+)*")
# A stream's subjects may hold wildcards: '*' as a whole token, '>' as the whole last token.
_NATS_SUBJECT_FILTER = re.compile(r"(([^.*>\s]+|\*)\.)*([^.*>\s]+|\*|>)")
# nats-server server/stream.go checkStreamCfg -> isValidAssetName: not empty, no whitespace
# (" \t\r\n\f"), '.', '*', '>', '\\' or '/'.
_STREAM_NAME = re.compile(r"[^ \t\r\n\f.*>\\/]+")
_KV_BUCKET = re.compile(r"[a-zA-Z0-9_-]+")
_QUANTITY = re.compile(
    r"[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)

_SPEC_FIELDS = frozenset(FlowCollectorSpec.__annotations__)
_TOLERATION_FIELDS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})

T = TypeVar("T")


def parse_spec(spec: Mapping[str, Any]) -> FlowCollectorSpec:
    """Check a FlowCollector spec and return it with defaults applied; raise SpecError."""
    spec = _mapping(spec, "spec", _SPEC_FIELDS)
    nats = _nats(_required(spec, "nats", "spec"))
    listeners = _listeners(_required(spec, "listeners", "spec"), nats["subject"])
    metrics = _metrics(spec.get("metrics", {}), listeners)
    parsed = FlowCollectorSpec(
        image=_string(_required(spec, "image", "spec"), "spec.image", max_length=512),
        imagePullPolicy=_enum(
            spec.get("imagePullPolicy", "IfNotPresent"),
            "spec.imagePullPolicy",
            ("Always", "IfNotPresent", "Never"),
        ),
        listeners=listeners,
        metrics=metrics,
        nats=nats,
        service=_service(spec.get("service", {})),
        nodeSelector=_string_map(spec.get("nodeSelector", {}), "spec.nodeSelector"),
        tolerations=_list(spec.get("tolerations", []), "spec.tolerations", _toleration),
        affinity=copy.deepcopy(dict(_mapping(spec.get("affinity", {}), "spec.affinity"))),
        priorityClassName=_string(
            spec.get("priorityClassName", ""), "spec.priorityClassName", max_length=253, empty=True
        ),
        resources=_resources(spec.get("resources", {})),
        hostNetwork=_bool(spec.get("hostNetwork", False), "spec.hostNetwork"),
        config=_free_form(spec.get("config", {}), "spec.config", RESERVED_CONFIG_KEYS),
    )
    if "templateStore" in spec:
        parsed["templateStore"] = _template_store(spec["templateStore"])
    if "migration" in spec:
        parsed["migration"] = _migration(spec["migration"])
    return parsed


def check_name(name: str) -> None:
    """Refuse a FlowCollector name that cannot name its children (Services are DNS-1035)."""
    if len(name) > MAX_NAME_LENGTH or not _DNS1035.fullmatch(name):
        raise SpecError(
            "metadata.name",
            f"must be a DNS-1035 label (lower-case letters, digits and '-', starting with a "
            f"letter) of at most {MAX_NAME_LENGTH} characters, got {name!r}",
        )


def _listeners(value: object, subject: str) -> list[Listener]:
    listeners = _list(value, "spec.listeners", lambda item, field: _listener(item, field, subject))
    if not 1 <= len(listeners) <= MAX_LISTENERS:
        raise SpecError(
            "spec.listeners", f"must have between 1 and {MAX_LISTENERS} items, got {len(listeners)}"
        )
    names: list[object] = [listener["name"] for listener in listeners]
    ports: list[object] = [listener["port"] for listener in listeners]
    for key, values in (("name", names), ("port", ports)):
        for index, seen in enumerate(values):
            first = values.index(seen)
            if first != index:
                raise SpecError(
                    f"spec.listeners[{index}].{key}",
                    f"must be unique, {seen!r} is also used by spec.listeners[{first}]",
                )
    return listeners


def _listener(value: object, field: str, base_subject: str) -> Listener:
    item = _mapping(value, field, frozenset(Listener.__annotations__))
    name = _string(_required(item, "name", field), f"{field}.name", max_length=15)
    if not _PORT_NAME.fullmatch(name) or not re.search("[a-z]", name):
        raise SpecError(
            f"{field}.name",
            "must be 1-15 lower-case letters, digits and single '-', with at least one letter, "
            f"got {name!r}",
        )
    if name == RESERVED_PORT_NAME:
        raise SpecError(f"{field}.name", f"{name!r} is reserved for the metrics port")
    protocol: Protocol = _enum(
        _required(item, "protocol", field), f"{field}.protocol", ("netflow", "sflow")
    )
    subject = item.get("subject", f"{base_subject}.raw.{protocol}")
    return Listener(
        name=name,
        protocol=protocol,
        port=_int(_required(item, "port", field), f"{field}.port", 1, 65535),
        subject=_subject(subject, f"{field}.subject"),
        config=_free_form(item.get("config", {}), f"{field}.config", RESERVED_LISTENER_CONFIG_KEYS),
    )


def _metrics(value: object, listeners: Sequence[Listener]) -> Metrics:
    item = _mapping(value, "spec.metrics", frozenset(Metrics.__annotations__))
    metrics = Metrics(
        enabled=_bool(item.get("enabled", True), "spec.metrics.enabled"),
        port=_int(item.get("port", DEFAULT_METRICS_PORT), "spec.metrics.port", 1, 65535),
    )
    clash = [i for i, listener in enumerate(listeners) if listener["port"] == metrics["port"]]
    if metrics["enabled"] and clash:
        raise SpecError(
            "spec.metrics.port",
            f"must differ from every listener port, {metrics['port']} is used by "
            f"spec.listeners[{clash[0]}]",
        )
    return metrics


def _nats(value: object) -> Nats:
    item = _mapping(value, "spec.nats", frozenset(Nats.__annotations__))
    nats = Nats(
        url=_nats_url(_required(item, "url", "spec.nats"), "spec.nats.url", empty=False),
        subject=_subject(item.get("subject", DEFAULT_SUBJECT), "spec.nats.subject"),
        stream=_stream(item.get("stream", {})),
    )
    if "credsSecretRef" in item:
        nats["credsSecretRef"] = _secret_key_ref(item["credsSecretRef"])
    if "tls" in item:
        nats["tls"] = _nats_tls(item["tls"])
    return nats


def _subject(value: object, field: str) -> str:
    subject = _string(value, field, max_length=255)
    if not _NATS_SUBJECT.fullmatch(subject):
        raise SpecError(
            field, f"must be dot-separated tokens without spaces or wildcards, got {subject!r}"
        )
    return subject


def _stream(value: object) -> Stream:
    field = "spec.nats.stream"
    item = _mapping(value, field, frozenset(Stream.__annotations__))
    name = _string(item.get("name", DEFAULT_STREAM), f"{field}.name", max_length=None)
    if not _STREAM_NAME.fullmatch(name) or len(name.encode()) > MAX_STREAM_NAME_BYTES:
        raise SpecError(
            f"{field}.name",
            "must be a NATS stream name: 1-255 bytes without whitespace, '.', '*', '>', '/' or "
            f"'\\', got {name!r}",
        )
    subjects = _list(item.get("subjects", []), f"{field}.subjects", _subject_filter)
    if len(subjects) > MAX_STREAM_SUBJECTS:
        raise SpecError(
            f"{field}.subjects",
            f"must have at most {MAX_STREAM_SUBJECTS} items, got {len(subjects)}",
        )
    return Stream(
        name=name,
        subjects=subjects,
        maxBytes=_int(
            item.get("maxBytes", DEFAULT_STREAM_MAX_BYTES), f"{field}.maxBytes", -1, 2**63 - 1
        ),
        replicas=_int(item.get("replicas", 1), f"{field}.replicas", 1, MAX_STREAM_REPLICAS),
    )


def _subject_filter(value: object, field: str) -> str:
    subject = _string(value, field, max_length=255)
    if not _NATS_SUBJECT_FILTER.fullmatch(subject):
        raise SpecError(
            field,
            "must be dot-separated tokens without spaces, '*' only as a whole token and '>' "
            f"only as the whole last token, got {subject!r}",
        )
    return subject


def _nats_tls(value: object) -> NatsTls:
    field = "spec.nats.tls"
    item = _mapping(value, field, frozenset(NatsTls.__annotations__))
    name = _secret_name(_required(item, "secretName", field), f"{field}.secretName")
    keys = {
        key: _secret_key(item.get(key, default), f"{field}.{key}", empty=True)
        for key, default in (("caKey", "ca.crt"), ("certKey", "tls.crt"), ("keyKey", "tls.key"))
    }
    if bool(keys["certKey"]) != bool(keys["keyKey"]):
        raise SpecError(
            f"{field}.keyKey" if keys["certKey"] else f"{field}.certKey",
            "must be set together with "
            + ("certKey" if keys["certKey"] else "keyKey")
            + " (both empty: no client certificate)",
        )
    if not keys["caKey"] and not keys["certKey"]:
        raise SpecError(f"{field}.caKey", "must be set when certKey and keyKey are empty")
    return NatsTls(
        secretName=name, caKey=keys["caKey"], certKey=keys["certKey"], keyKey=keys["keyKey"]
    )


def _secret_key_ref(value: object) -> SecretKeyRef:
    field = "spec.nats.credsSecretRef"
    item = _mapping(value, field, frozenset(SecretKeyRef.__annotations__))
    return SecretKeyRef(
        name=_secret_name(_required(item, "name", field), f"{field}.name"),
        key=_secret_key(_required(item, "key", field), f"{field}.key", empty=False),
    )


def _secret_name(value: object, field: str) -> str:
    name = _string(value, field, max_length=253)
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise SpecError(field, f"must be a DNS-1123 subdomain, got {name!r}")
    return name


def _secret_key(value: object, field: str, *, empty: bool) -> str:
    key = _string(value, field, max_length=253, empty=empty)
    if key and not _SECRET_KEY.fullmatch(key):
        raise SpecError(field, f"must be letters, digits, '-', '_' or '.', got {key!r}")
    return key


def _template_store(value: object) -> TemplateStore:
    field = "spec.templateStore"
    item = _mapping(value, field, frozenset(TemplateStore.__annotations__))
    bucket = _string(_required(item, "kvBucket", field), f"{field}.kvBucket", max_length=255)
    if not _KV_BUCKET.fullmatch(bucket):
        raise SpecError(f"{field}.kvBucket", f"must match ^[a-zA-Z0-9_-]+$, got {bucket!r}")
    return TemplateStore(
        kvBucket=bucket,
        kvHistory=_int(item.get("kvHistory", 1), f"{field}.kvHistory", 1, 64),
        kvTtlSeconds=_int(item.get("kvTtlSeconds", 0), f"{field}.kvTtlSeconds", 0, None),
        natsUrl=_nats_url(item.get("natsUrl", ""), f"{field}.natsUrl", empty=True),
    )


def _migration(value: object) -> Migration:
    field = "spec.migration"
    item = _mapping(value, field, frozenset(Migration.__annotations__))
    migration = Migration()
    if "replaceDeployment" in item:
        name = _string(item["replaceDeployment"], f"{field}.replaceDeployment", max_length=253)
        if not _DNS1123_SUBDOMAIN.fullmatch(name):
            raise SpecError(
                f"{field}.replaceDeployment",
                f"must be the name of a Deployment (a DNS-1123 subdomain), got {name!r}",
            )
        migration["replaceDeployment"] = name
    return migration


def _service(value: object) -> ServiceSpec:
    item = _mapping(value, "spec.service", frozenset(ServiceSpec.__annotations__))
    service = ServiceSpec(
        type=_enum(
            item.get("type", "LoadBalancer"),
            "spec.service.type",
            ("LoadBalancer", "NodePort", "ClusterIP"),
        ),
        externalTrafficPolicy=_enum(
            item.get("externalTrafficPolicy", "Local"),
            "spec.service.externalTrafficPolicy",
            ("Local", "Cluster"),
        ),
        annotations=_string_map(item.get("annotations", {}), "spec.service.annotations"),
        loadBalancerIP=_string(
            item.get("loadBalancerIP", ""), "spec.service.loadBalancerIP", max_length=45, empty=True
        ),
    )
    for key in service["annotations"]:
        if key.startswith(RESERVED_ANNOTATION_PREFIX):
            raise SpecError(
                f"spec.service.annotations[{key}]",
                f"uses the reserved prefix {RESERVED_ANNOTATION_PREFIX}",
            )
    address = service["loadBalancerIP"]
    if address and service["type"] != "LoadBalancer":
        raise SpecError(
            "spec.service.loadBalancerIP",
            "needs spec.service.type LoadBalancer, got " + service["type"],
        )
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise SpecError(
                "spec.service.loadBalancerIP", f"must be an IPv4 or IPv6 address, got {address!r}"
            ) from None
    return service


def _toleration(value: object, field: str) -> dict[str, Any]:
    item = _mapping(value, field, _TOLERATION_FIELDS)
    for key in ("key", "value"):
        if key in item:
            _string(item[key], f"{field}.{key}", max_length=None, empty=True)
    if "operator" in item:
        _enum(item["operator"], f"{field}.operator", ("Exists", "Equal"))
    if "effect" in item:
        _enum(item["effect"], f"{field}.effect", ("NoSchedule", "PreferNoSchedule", "NoExecute"))
    if "tolerationSeconds" in item:
        _int(item["tolerationSeconds"], f"{field}.tolerationSeconds", None, None)
    return copy.deepcopy(dict(item))


def _resources(value: object) -> dict[str, dict[str, str | int]]:
    item = _mapping(value, "spec.resources", frozenset({"limits", "requests"}))
    resources: dict[str, dict[str, str | int]] = {}
    for kind, amounts in item.items():
        parsed: dict[str, str | int] = {}
        for resource, amount in _mapping(amounts, f"spec.resources.{kind}").items():
            where = f"spec.resources.{kind}.{resource}"
            if isinstance(amount, bool) or not isinstance(amount, str | int):
                raise SpecError(where, f"must be a quantity such as 500m or 1Gi, got {amount!r}")
            if isinstance(amount, str) and not _QUANTITY.fullmatch(amount):
                raise SpecError(where, f"must be a quantity such as 500m or 1Gi, got {amount!r}")
            parsed[str(resource)] = amount
        resources[kind] = parsed
    return resources


def _free_form(value: object, field: str, reserved_keys: frozenset[str]) -> dict[str, Any]:
    config = copy.deepcopy(dict(_mapping(value, field)))
    reserved = sorted(reserved_keys.intersection(config))
    if reserved:
        raise SpecError(
            f"{field}.{reserved[0]}",
            "is set by the operator from the typed spec fields, set those instead",
        )
    return config


def _nats_url(value: object, field: str, *, empty: bool) -> str:
    url = _string(value, field, max_length=2048, empty=empty)
    if url and not _NATS_URL.fullmatch(url):
        raise SpecError(
            field, f"must be a nats://, tls://, ws:// or wss:// URL without spaces, got {url!r}"
        )
    return url


def _required(item: Mapping[str, Any], key: str, parent: str) -> object:
    if key not in item:
        raise SpecError(f"{parent}.{key}", "is required")
    return item[key]


def _mapping(value: object, field: str, allowed: frozenset[str] | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(field, f"must be an object, got {value!r}")
    if allowed is not None:
        for key in value:
            if key not in allowed:
                raise SpecError(f"{field}.{key}", f"is not a known field of {field}")
    return value


def _list(value: object, field: str, item: Callable[[object, str], T]) -> list[T]:
    if not isinstance(value, list | tuple):
        raise SpecError(field, f"must be a list, got {value!r}")
    return [item(element, f"{field}[{index}]") for index, element in enumerate(value)]


def _string(value: object, field: str, *, max_length: int | None, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SpecError(field, f"must be a string, got {value!r}")
    if not value and not empty:
        raise SpecError(field, "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise SpecError(field, f"must be at most {max_length} characters, got {len(value)}")
    return value


def _string_map(value: object, field: str) -> dict[str, str]:
    item = _mapping(value, field)
    for key, element in item.items():
        _string(element, f"{field}[{key}]", max_length=None, empty=True)
    return dict(item)


def _int(value: object, field: str, low: int | None, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(field, f"must be an integer, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise SpecError(field, f"must be between {low} and {high}, got {value}")
    if low is not None and value < low:
        raise SpecError(field, f"must be at least {low}, got {value}")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, f"must be true or false, got {value!r}")
    return value


def _enum(value: object, field: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise SpecError(field, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value

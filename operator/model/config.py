"""The collector's config.json, built from a checked spec, and checked against the collector's
own rules before anything is applied. Pure: no I/O.

The file is exactly what the ServiceRadar flow-collector (carverauto/serviceradar d8e67a9,
`rust/flow-collector/src/config.rs`) deserializes: see collector-config.schema.json and
docs/flowcollector-reference.md for the key-by-key mapping.

Precedence with `spec.config` (and `spec.listeners[].config`): the operator's keys win. They are
derived from typed fields that the DaemonSet and the Services are built from too (ports, mounts,
probes), so a free-form override would make the pods disagree with their own manifests.
`parse_spec` already refuses the reserved keys, so nothing is overridden silently; the order
here only guards callers that skip the parser.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from flowkeeper.operator.model import collector_schema
from flowkeeper.operator.model.errors import ConfigError
from flowkeeper.operator.model.spec import FlowCollectorSpec, Listener, NatsTls

CONFIG_KEY = "config.json"
CONFIG_DIR = "/etc/flowkeeper"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_KEY}"
# Every address the collector binds: all IPv4 interfaces of the pod (or of the node, with
# hostNetwork). Rust's bind needs a host: ":2055" is refused.
BIND_HOST = "0.0.0.0"  # noqa: S104 (the pod must receive flows on every interface)
# The Secret key is projected to a fixed file name, so the path does not depend on the key.
NATS_CREDS_DIR = "/var/run/secrets/flowkeeper/nats"
NATS_CREDS_FILE = f"{NATS_CREDS_DIR}/nats.creds"
# The TLS Secret's keys are projected to fixed names in NATS_TLS_DIR (the `cert_dir`).
NATS_TLS_DIR = "/var/run/secrets/flowkeeper/nats-tls"

# config.json key -> the spec field it is made from (for messages naming the spec field).
_TYPED_FIELDS = {
    "nats_url": "spec.nats.url",
    "nats_creds_file": "spec.nats.credsSecretRef",
    "stream_name": "spec.nats.stream.name",
    "stream_subjects": "spec.nats.stream.subjects",
    "stream_max_bytes": "spec.nats.stream.maxBytes",
    "stream_replicas": "spec.nats.stream.replicas",
    "metrics_addr": "spec.metrics.port",
    "security": "spec.nats.tls",
    "template_store": "spec.templateStore",
    "listeners": "spec.listeners",
}
_TEMPLATE_STORE_FIELDS = {
    "kv_bucket": "kvBucket",
    "kv_history": "kvHistory",
    "kv_ttl_secs": "kvTtlSeconds",
    "nats_url": "natsUrl",
}
_LISTENER_FIELDS = {"protocol": "protocol", "listen_addr": "port", "subject": "subject"}


def build_collector_config(spec: FlowCollectorSpec) -> dict[str, Any]:
    """The collector's settings, in its own snake_case keys."""
    nats = spec["nats"]
    stream = nats["stream"]
    managed: dict[str, Any] = {
        "nats_url": nats["url"],
        "stream_name": stream["name"],
        "stream_max_bytes": stream["maxBytes"],
        "stream_replicas": stream["replicas"],
        "listeners": [_listener(item) for item in spec["listeners"]],
    }
    if stream["subjects"]:
        managed["stream_subjects"] = list(stream["subjects"])
    if "credsSecretRef" in nats:
        managed["nats_creds_file"] = NATS_CREDS_FILE
    if "tls" in nats:
        tls = nats["tls"]
        # nats_client.rs: mode mtls adds ca_file as a root and, when both are set, the client
        # certificate; with a CA alone the connection is TLS without a client certificate.
        managed["security"] = {
            "mode": "mtls",
            "cert_dir": NATS_TLS_DIR,
            "tls": {config_key: file for config_key, _key, file in tls_files(tls)},
        }
    if spec["metrics"]["enabled"]:
        managed["metrics_addr"] = f"{BIND_HOST}:{spec['metrics']['port']}"
    if "templateStore" in spec:
        store = spec["templateStore"]
        managed["template_store"] = {
            "kv_bucket": store["kvBucket"],
            "kv_history": store["kvHistory"],
            "kv_ttl_secs": store["kvTtlSeconds"],
        }
        if store["natsUrl"]:  # absent means the top-level nats_url; "" would be refused
            managed["template_store"]["nats_url"] = store["natsUrl"]
    return {**spec["config"], **managed}


def tls_files(tls: NatsTls) -> list[tuple[str, str, str]]:
    """(config.json key, Secret key, file name in NATS_TLS_DIR) of each TLS file set."""
    files = [
        ("cert_file", tls["certKey"], "tls.crt"),
        ("key_file", tls["keyKey"], "tls.key"),
        ("ca_file", tls["caKey"], "ca.crt"),
    ]
    return [item for item in files if item[1]]


def _listener(listener: Listener) -> dict[str, Any]:
    return {
        **listener["config"],
        "protocol": listener["protocol"],
        "listen_addr": f"{BIND_HOST}:{listener['port']}",
        "subject": listener["subject"],
    }


def check_config(spec: FlowCollectorSpec) -> list[str]:
    """Check the config.json of ``spec`` against the collector's rules: raise ConfigError naming
    the spec field of the first rule broken; return the spec fields of the keys the collector
    does not know (passed on, ignored by it, to be reported)."""
    config = build_collector_config(spec)
    broken = collector_schema.problems(config)
    if broken:
        first = broken[0]
        got = f", got {first.got}" if first.got else ""
        raise ConfigError(spec_field(first.path), f"expected {first.expected}{got}")
    return [spec_field(path) for path in collector_schema.unknown_keys(config)]


def spec_field(path: Sequence[str | int]) -> str:
    """The spec field a config.json path comes from: ("batch_size",) -> spec.config.batch_size,
    ("listeners", 1, "listen_addr") -> spec.listeners[1].port."""
    head, rest = (str(path[0]), list(path[1:])) if path else ("", [])
    if head == "listeners" and rest:
        base = f"spec.listeners[{rest[0]}]"
        if len(rest) == 2 and rest[1] in _LISTENER_FIELDS:
            return f"{base}.{_LISTENER_FIELDS[str(rest[1])]}"
        return _dotted(f"{base}.config", rest[1:]) if len(rest) > 1 else base
    if head == "template_store" and rest and rest[0] in _TEMPLATE_STORE_FIELDS:
        return f"spec.templateStore.{_TEMPLATE_STORE_FIELDS[str(rest[0])]}"
    if head in _TYPED_FIELDS:
        return _dotted(_TYPED_FIELDS[head], rest if head == "stream_subjects" else [])
    return _dotted("spec.config", path) if path else "spec"


def _dotted(base: str, path: Sequence[str | int]) -> str:
    return base + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def render_config(config: Mapping[str, Any]) -> str:
    """Canonical JSON text: sorted keys and fixed separators, so equal configs hash equally."""
    return json.dumps(config, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def config_hash(text: str) -> str:
    """A short, stable digest of the config text (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]

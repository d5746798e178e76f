"""The collector's config.json, built from a checked spec. Pure: no I/O.

Precedence with `spec.config`: the operator's keys win. They are derived from typed fields that
the DaemonSet and the Services are built from too (ports, mounts, probes), so a free-form
override would make the pods disagree with their own manifests. `parse_spec` already refuses
`spec.config` keys in `RESERVED_CONFIG_KEYS`, so nothing is overridden silently; the order here
only guards callers that skip the parser.
"""

import hashlib
import json
from typing import Any

from flowkeeper.operator.model.spec import FlowCollectorSpec

CONFIG_KEY = "config.json"
CONFIG_DIR = "/etc/flowkeeper"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_KEY}"
# The Secret key is projected to a fixed file name, so the path does not depend on the key.
NATS_CREDS_DIR = "/var/run/secrets/flowkeeper/nats"
NATS_CREDS_FILE = f"{NATS_CREDS_DIR}/nats.creds"


def build_collector_config(spec: FlowCollectorSpec) -> dict[str, Any]:
    """The collector's settings, in its own snake_case keys."""
    nats = spec["nats"]
    managed: dict[str, Any] = {
        "listeners": [
            {"name": item["name"], "protocol": item["protocol"], "port": item["port"]}
            for item in spec["listeners"]
        ],
        "nats_url": nats["url"],
        "subject": nats["subject"],
    }
    if "credsSecretRef" in nats:
        managed["nats_creds_file"] = NATS_CREDS_FILE
    if spec["metrics"]["enabled"]:
        managed["metrics_addr"] = f":{spec['metrics']['port']}"
    if "templateStore" in spec:
        store = spec["templateStore"]
        managed["template_store"] = {
            "kv_bucket": store["kvBucket"],
            "kv_history": store["kvHistory"],
            "kv_ttl_secs": store["kvTtlSeconds"],
            "nats_url": store["natsUrl"] or nats["url"],
        }
    return {**spec["config"], **managed}


def render_config(config: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys and fixed separators, so equal configs hash equally."""
    return json.dumps(config, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def config_hash(text: str) -> str:
    """A short, stable digest of the config text (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]

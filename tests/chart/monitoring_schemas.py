"""Strict schemas of the prometheus-operator objects the chart renders, for the fields it uses.

No PyPI package ships prometheus-operator's CRD schemas for offline validation (the typed model
packages ignore unknown fields), so these are written from the monitoring.coreos.com/v1 API
reference, with `additionalProperties: false` everywhere so a misspelt field fails. They cover
only what the chart sets; a field the chart starts to use must be added here first.
"""

from typing import Any

import jsonschema

# prometheus-operator's Duration pattern (monitoringv1.Duration).
DURATION = {
    "type": "string",
    "pattern": (
        r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        r"(([0-9]+)ms)?)$"
    ),
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
RELABEL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sourceLabels": {"type": "array", "items": {"type": "string"}},
        "separator": {"type": "string"},
        "targetLabel": {"type": "string"},
        "regex": {"type": "string"},
        "modulus": {"type": "integer"},
        "replacement": {"type": "string"},
        "action": {
            "enum": [
                *(
                    a
                    for name in (
                        "replace",
                        "keep",
                        "drop",
                        "hashmod",
                        "labelmap",
                        "labeldrop",
                        "labelkeep",
                        "lowercase",
                        "uppercase",
                        "keepequal",
                        "dropequal",
                    )
                    for a in (name, name.capitalize())
                ),
                "HashMod",
                "LabelMap",
                "LabelDrop",
                "LabelKeep",
                "KeepEqual",
                "DropEqual",
            ]
        },
    },
}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {"type": "array", "items": {"type": "object"}},
    },
}
NAMESPACE_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "any": {"type": "boolean"},
        "matchNames": {"type": "array", "items": {"type": "string"}},
    },
}
ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "port": {"type": "string"},
        "path": {"type": "string"},
        "interval": DURATION,
        "scrapeTimeout": DURATION,
        "relabelings": {"type": "array", "items": RELABEL},
        "metricRelabelings": {"type": "array", "items": RELABEL},
    },
}
METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string", "maxLength": 253},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}


def _kind(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
    }


def _monitor(kind: str, endpoints: str) -> dict[str, Any]:
    """ServiceMonitor and PodMonitor differ, for what the chart uses, in their endpoints key."""
    return _kind(
        kind,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", endpoints],
            "properties": {
                "namespaceSelector": NAMESPACE_SELECTOR,
                "selector": LABEL_SELECTOR,
                endpoints: {"type": "array", "items": ENDPOINT},
            },
        },
    )


RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "minLength": 1},
        "record": {"type": "string", "minLength": 1},
        "expr": {"type": ["string", "integer"], "minLength": 1},
        "for": DURATION,
        "keep_firing_for": DURATION,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}
SCHEMAS = {
    "ServiceMonitor": _monitor("ServiceMonitor", "endpoints"),
    "PodMonitor": _monitor("PodMonitor", "podMetricsEndpoints"),
    "PrometheusRule": _kind(
        "PrometheusRule",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": DURATION,
                            "rules": {"type": "array", "items": RULE},
                        },
                    },
                }
            },
        },
    ),
}


def validate(manifest: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the object does not match its kind's schema."""
    jsonschema.Draft7Validator(SCHEMAS[manifest["kind"]]).validate(manifest)

"""values.schema.json refuses wrong types, out-of-range values and unknown keys."""

import json

import helm_python as helm
import jsonschema
import pytest
import yaml

from tests.chart.helpers import CHART_DIR, SCENARIOS, chart, render, scenario_values

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
ENABLED = {"enabled": True, "remoteWriteUrl": "http://prometheus:9090/api/v1/write"}

BAD_VALUES = {
    "unknown top-level key": {"replicas": 2},
    "replica count as string": {"replicaCount": "2"},
    "negative replica count": {"replicaCount": -1},
    "anti-affinity preset not in enum": {"podAntiAffinityPreset": "strict"},
    "lease duration zero": {"leaderElection": {"leaseDuration": 0}},
    "leader election as string": {"leaderElection": {"enabled": "yes"}},
    "prometheus rule unknown key": {"prometheusRule": {"enable": True}},
    "dashboard label not a string": {"grafanaDashboard": {"labels": {"a": 1}}},
    "pod monitor namespace not a DNS label": {"metrics": {"podMonitor": {"namespaces": ["A_B"]}}},
    "pod monitor interval": {"metrics": {"podMonitor": {"interval": "fast"}}},
    "unknown nested key": {"image": {"registry": "docker.io"}},
    "unknown backfill key": {"backfill": {"resource": ["pods"]}},
    "pull policy not in enum": {"image": {"pullPolicy": "Sometimes"}},
    "digest without algorithm": {"image": {"digest": "abc123"}},
    "namespaces not a list": {"watchNamespaces": "netflow"},
    "namespace not a DNS label": {"watchNamespaces": ["Net_Flow"]},
    "duplicate namespaces": {"watchNamespaces": ["a", "a"]},
    "log format not in enum": {"logFormat": "yaml"},
    "port as string": {"livenessPort": "8080"},
    "port zero": {"metrics": {"port": 0}},
    "port too high": {"livenessPort": 70000},
    "rbac.create as string": {"rbac": {"create": "yes"}},
    "name override of the collector": {"nameOverride": "flow-collector"},
    "resources unknown key": {"resources": {"limit": {"cpu": "1"}}},
    "resources bad quantity": {"resources": {"requests": {"memory": "lots"}}},
    "toleration bad operator": {"tolerations": [{"key": "a", "operator": "Matches"}]},
    "env without name": {"extraEnv": [{"value": "x"}]},
    "service monitor interval": {"metrics": {"serviceMonitor": {"interval": "30 seconds"}}},
    "backfill without url": {"backfill": {"enabled": True}},
    "url without scheme": {"backfill": {**ENABLED, "remoteWriteUrl": "prometheus:9090"}},
    "schedule with four fields": {"backfill": {**ENABLED, "schedule": "0 * * *"}},
    "unknown kind": {"backfill": {**ENABLED, "kinds": ["secrets"]}},
    "kinds not a list": {"backfill": {**ENABLED, "kinds": "pods,nodes"}},
    "batch size zero": {"backfill": {**ENABLED, "batchSize": 0}},
    "page size above the program's 10000": {"backfill": {**ENABLED, "pageSize": 10001}},
    "batch size above the program's 50000": {"backfill": {**ENABLED, "batchSize": 50001}},
    "timeout under 0.1 s": {"backfill": {**ENABLED, "requestTimeoutSeconds": 0.05}},
    "batch size float": {"backfill": {**ENABLED, "batchSize": 10.5}},
    "negative history": {"backfill": {**ENABLED, "failedJobsHistoryLimit": -1}},
    "starting deadline under 10 s": {"backfill": {**ENABLED, "startingDeadlineSeconds": 5}},
    "negative backoff": {"backfill": {**ENABLED, "backoffLimit": -1}},
    "zero deadline": {"backfill": {**ENABLED, "activeDeadlineSeconds": 0}},
    "negative ttl": {"backfill": {**ENABLED, "ttlSecondsAfterFinished": -5}},
    "zero timeout": {"backfill": {**ENABLED, "requestTimeoutSeconds": 0}},
    "bad metric prefix": {"backfill": {**ENABLED, "metricPrefix": "kube-meta"}},
    "bad allowlist": {"backfill": {**ENABLED, "metricLabelsAllowlist": "pods:app"}},
    "reserved external label": {"backfill": {**ENABLED, "externalLabels": {"__name__": "x"}}},
    "external label bad name": {"backfill": {**ENABLED, "externalLabels": {"my-label": "x"}}},
    "external label taken by identity": {"backfill": {**ENABLED, "externalLabels": {"pod": "x"}}},
    "external label like a label": {"backfill": {**ENABLED, "externalLabels": {"label_app": "x"}}},
    "external label empty value": {"backfill": {**ENABLED, "externalLabels": {"cluster": ""}}},
    "header value with a newline": {"backfill": {**ENABLED, "headers": {"X-Scope-OrgID": "a\nb"}}},
    "header with a space": {"backfill": {**ENABLED, "headers": {"X Scope": "t"}}},
    "header value not a string": {"backfill": {**ENABLED, "headers": {"X-Scope-OrgID": 1}}},
    "secret name not DNS": {
        "backfill": {**ENABLED, "auth": {"bearerToken": {"secretName": "My_Secret"}}}
    },
    "sample name too long": {"sampleFlowCollector": {"name": "a" * 56}},
    "sample spec not an object": {"sampleFlowCollector": {"spec": "image: x"}},
}

GOOD_VALUES = {
    "defaults": {},
    "dry run without url": {"backfill": {"enabled": True, "dryRun": True}},
    "cron macro": {"backfill": {**ENABLED, "schedule": "@daily"}},
    "ttl kept forever": {"backfill": {**ENABLED, "ttlSecondsAfterFinished": None}},
    "numeric quantities": {"resources": {"requests": {"cpu": 0.5, "memory": "64Mi"}}},
    "star allowlist": {"backfill": {**ENABLED, "metricLabelsAllowlist": "*=[*]"}},
    "metric prefix with a colon": {"backfill": {**ENABLED, "metricPrefix": "kube:meta"}},
    "federated mimir tenants": {"backfill": {**ENABLED, "headers": {"X-Scope-OrgID": "a|b"}}},
    "header value with a comma": {"backfill": {**ENABLED, "headers": {"X-Tags": "a,b"}}},
    "label value with a comma": {"backfill": {**ENABLED, "externalLabels": {"region": "eu,us"}}},
    "opt-in kind": {"backfill": {**ENABLED, "kinds": ["configmaps", "storageclasses"]}},
    "global from a parent chart": {"global": {"imageRegistry": "mirror.example"}},
}


def merged(values):
    return chart().merge_values(values)


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_jsonschema_refuses(values):
    assert list(VALIDATOR.iter_errors(merged(values)))


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_render_refuses(values):
    with pytest.raises(helm.HelmValuesError):
        render(values)


@pytest.mark.parametrize("values", GOOD_VALUES.values(), ids=GOOD_VALUES.keys())
def test_accepted(values):
    VALIDATOR.validate(merged(values))
    assert render(values)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_are_valid(scenario):
    VALIDATOR.validate(merged(scenario_values(scenario)))


def test_schema_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_defaults_are_valid_as_written():
    VALIDATOR.validate(DEFAULTS)


def schema_keys(node, values, path=""):
    """(values.yaml key, in schema) pairs, down to where the schema stops listing properties."""
    properties = node.get("properties")
    if properties is None or not isinstance(values, dict):
        return
    for key in set(values) | (set(properties) - {"global"}):
        yield f"{path}{key}", key in properties and key in values
        if key in properties and key in values:
            yield from schema_keys(properties[key], values[key], f"{path}{key}.")


def test_schema_and_values_list_the_same_keys():
    mismatched = [key for key, ok in schema_keys(SCHEMA, DEFAULTS) if not ok]
    assert mismatched == []


def objects_without_closed_properties(node, path="$"):
    if node.get("type") == "object" and "properties" in node:
        if node.get("additionalProperties") is not False:
            yield path
        for key, child in node["properties"].items():
            yield from objects_without_closed_properties(child, f"{path}.{key}")


def test_every_listed_object_is_closed():
    assert list(objects_without_closed_properties(SCHEMA)) == []

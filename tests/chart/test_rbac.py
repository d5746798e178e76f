"""RBAC: the operator gets exactly the contract, the backfill reads only what it enumerates."""

import json

import pytest
from flowkeeper.backfill.lister import RBAC_VERBS

from tests.chart.helpers import (
    CHART_DIR,
    NAMESPACE,
    SCENARIOS,
    by_component,
    of_kind,
    pod_specs,
    render,
    rules,
    scenario_values,
)

# What the operator calls (docs/operator.md, "RBAC").
OPERATOR_RULES = {
    *(("flows.flowkeeper.dev", "flowcollectors", v) for v in ("get", "list", "watch")),
    *(("flows.flowkeeper.dev", "flowcollectors/status", v) for v in ("get", "patch")),
    # blockOwnerDeletion on the children (OwnerReferencesPermissionEnforcement).
    ("flows.flowkeeper.dev", "flowcollectors/finalizers", "update"),
    *(("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("get", "list", "watch")),
    *(("", "namespaces", v) for v in ("get", "list", "watch")),
    *(("", "configmaps", v) for v in ("get", "list", "watch", "create", "patch", "delete")),
    *(("", "services", v) for v in ("get", "list", "watch", "create", "patch", "delete")),
    *(("apps", "daemonsets", v) for v in ("get", "list", "watch", "create", "patch", "delete")),
    *(("apps", "deployments", v) for v in ("get", "delete")),
    *((g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")),
}

# What flowkeeper-backfill enumerates by default (DESIGN.md section 3), by API group.
DEFAULT_KINDS = {
    "namespaces": "",
    "pods": "",
    "nodes": "",
    "services": "",
    "persistentvolumeclaims": "",
    "persistentvolumes": "",
    "deployments": "apps",
    "statefulsets": "apps",
    "daemonsets": "apps",
    "replicasets": "apps",
    "jobs": "batch",
    "cronjobs": "batch",
    "ingresses": "networking.k8s.io",
}
# Kinds the program also knows and a user may opt into (never secrets).
OPTIONAL_KINDS = {
    "configmaps": "",
    "serviceaccounts": "",
    "networkpolicies": "networking.k8s.io",
    "poddisruptionbudgets": "policy",
    "horizontalpodautoscalers": "autoscaling",
    "storageclasses": "storage.k8s.io",
}
ALL_KINDS = DEFAULT_KINDS | OPTIONAL_KINDS
# What the backfill's requests need (tests/backfill/test_run.py checks it makes only LISTs).
READ = RBAC_VERBS
BACKFILL_ON = {"backfill": {"enabled": True, "dryRun": True}}


def scenario_or_default(scenario):
    return None if scenario is None else scenario_values(scenario)


def test_operator_cluster_role_is_exactly_the_contract():
    assert rules(by_component(render(), "ClusterRole", "operator")) == OPERATOR_RULES


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_no_wildcards_and_no_secrets(scenario):
    for role in of_kind(render(scenario_or_default(scenario)), "ClusterRole"):
        for group, resource, verb in rules(role):
            assert "*" not in (group, resource, verb), role["metadata"]["name"]
            assert resource != "secrets", role["metadata"]["name"]
        assert all(set(rule) == {"apiGroups", "resources", "verbs"} for rule in role["rules"])


def test_backfill_cluster_role_reads_the_default_kinds():
    role = by_component(render(BACKFILL_ON), "ClusterRole", "backfill")
    expected = {(group, kind, verb) for kind, group in DEFAULT_KINDS.items() for verb in READ}
    assert rules(role) == expected


def test_backfill_cluster_role_narrows_to_the_chosen_kinds():
    values = scenario_values("backfill-basic-auth-values.yaml")
    role = by_component(render(values), "ClusterRole", "backfill")
    kinds = values["backfill"]["kinds"]
    assert rules(role) == {(ALL_KINDS[k], k, v) for k in kinds for v in READ}


@pytest.mark.parametrize(("kind", "group"), ALL_KINDS.items())
def test_backfill_cluster_role_grants_each_kind_in_its_group(kind, group):
    values = {"backfill": {**BACKFILL_ON["backfill"], "kinds": [kind]}}
    role = by_component(render(values), "ClusterRole", "backfill")
    assert rules(role) == {(group, kind, verb) for verb in READ}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if "backfill" in s])
def test_backfill_cluster_role_is_read_only(scenario):
    role = by_component(render(scenario_values(scenario)), "ClusterRole", "backfill")
    assert {verb for _, _, verb in rules(role)} <= set(READ)


def test_schema_offers_exactly_the_kinds_the_role_can_grant():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    enum = schema["properties"]["backfill"]["properties"]["kinds"]["items"]["enum"]
    assert sorted(enum) == sorted(ALL_KINDS)
    assert "secrets" not in enum


@pytest.mark.parametrize(
    ("component", "values", "account"),
    [
        ("operator", None, "fk-flowkeeper"),
        ("operator", {"serviceAccount": {"name": "custom"}}, "custom"),
        ("backfill", BACKFILL_ON, "fk-flowkeeper-backfill"),
        (
            "backfill",
            {"backfill": {**BACKFILL_ON["backfill"], "serviceAccount": {"name": "bf"}}},
            "bf",
        ),
    ],
)
def test_bindings_tie_each_role_to_its_service_account(component, values, account):
    manifests = render(values)
    role = by_component(manifests, "ClusterRole", component)
    binding = by_component(manifests, "ClusterRoleBinding", component)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    ]
    accounts = [sa["metadata"]["name"] for sa in of_kind(manifests, "ServiceAccount")]
    assert account in accounts
    templates = [
        template
        for _, template in pod_specs(manifests)
        if template["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    assert templates
    assert {t["spec"]["serviceAccountName"] for t in templates} == {account}


def test_existing_service_accounts_are_not_created():
    manifests = render(scenario_values("backfill-basic-auth-values.yaml"))
    names = [sa["metadata"]["name"] for sa in of_kind(manifests, "ServiceAccount")]
    assert "existing-backfill" not in names
    binding = by_component(manifests, "ClusterRoleBinding", "backfill")
    assert binding["subjects"][0]["name"] == "existing-backfill"

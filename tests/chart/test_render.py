"""Every scenario renders, and every object is valid Kubernetes for the versions we support."""

import copy
import re

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.chart import monitoring_schemas
from tests.chart.helpers import (
    CHART_DIR,
    NAMESPACE,
    ROOT,
    SCENARIOS,
    notes,
    render,
    scenario_values,
)

KUBERNETES_VERSIONS = ["1.29", "1.33"]
# Custom kinds kubernetes-validate has no schema for: FlowCollector is checked against its CRD
# in test_crd.py, prometheus-operator's kinds against tests/chart/monitoring_schemas.py.
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
CUSTOM_KINDS = {
    *(("monitoring.coreos.com/v1", kind) for kind in MONITORING_KINDS),
    ("flows.flowkeeper.dev/v1alpha1", "FlowCollector"),
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


def values_for(scenario: str | None):
    return None if scenario is None else scenario_values(scenario)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_every_object_validates_strictly(scenario, version):
    manifests = render(values_for(scenario))
    assert manifests
    for manifest in manifests:
        if manifest["kind"] in MONITORING_KINDS:
            monitoring_schemas.validate(manifest)
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, version, strict=True)


def test_every_monitoring_kind_is_rendered_by_a_scenario():
    kinds = {m["kind"] for s in SCENARIOS for m in render(scenario_values(s))}
    assert kinds >= MONITORING_KINDS | {"PodDisruptionBudget", "Role", "RoleBinding", "ConfigMap"}


@pytest.mark.parametrize(
    ("kind", "path", "typo"),
    [
        ("PodMonitor", ("spec", "podMetricsEndpoints", 0), "pth"),
        ("ServiceMonitor", ("spec", "endpoints", 0), "intervall"),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0), "annotation"),
    ],
)
def test_monitoring_schemas_catch_unknown_fields(kind, path, typo):
    manifest = copy.deepcopy(
        next(m for m in render(scenario_values("ha-monitoring-values.yaml")) if m["kind"] == kind)
    )
    monitoring_schemas.validate(manifest)
    target = manifest
    for step in path:
        target = target[step]
    target[typo] = "x"
    with pytest.raises(jsonschema.ValidationError, match=typo):
        monitoring_schemas.validate(manifest)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_strict_validation_catches_unknown_fields(version):
    deployment = next(m for m in render() if m["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsRoot"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_namespaced_objects_land_in_the_release_namespace(scenario):
    for manifest in render(values_for(scenario)):
        namespace = manifest["metadata"].get("namespace")
        if manifest["kind"] in CLUSTER_SCOPED:
            assert namespace is None, manifest["metadata"]["name"]
        else:
            assert namespace == NAMESPACE, manifest["metadata"]["name"]


def test_defaults_render_the_operator_only():
    kinds = sorted(m["kind"] for m in render())
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ServiceAccount",
    ]


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ({"metrics": {"serviceMonitor": {"enabled": True}}}, {"ServiceMonitor"}),
        ({"metrics": {"podMonitor": {"enabled": True}}}, {"PodMonitor"}),
        ({"prometheusRule": {"enabled": True}}, {"PrometheusRule"}),
        ({"grafanaDashboard": {"enabled": True}}, {"ConfigMap"}),
        ({"replicaCount": 2}, {"PodDisruptionBudget", "Role", "RoleBinding"}),
        ({"leaderElection": {"enabled": True}}, {"Role", "RoleBinding"}),
        ({"sampleFlowCollector": {"enabled": True}}, {"FlowCollector"}),
        (
            {"backfill": {"enabled": True, "dryRun": True}},
            {"CronJob", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"},
        ),
        ({"backfill": {"enabled": True, "dryRun": True, "runOnInstall": True}}, {"Job"}),
    ],
)
def test_optional_objects_appear_only_when_enabled(values, kinds):
    default_kinds = [m["kind"] for m in render()]
    added = [m["kind"] for m in render(values)]
    for kind in kinds:
        assert added.count(kind) == default_kinds.count(kind) + 1, kind


def test_rbac_create_false_renders_no_rbac():
    manifests = render({"rbac": {"create": False}, "backfill": {"enabled": True, "dryRun": True}})
    assert not [m for m in manifests if m["kind"] in CLUSTER_SCOPED]


def test_notes_explain_the_first_steps():
    text = notes()
    assert "kubectl apply -f -" in text
    assert "kind: FlowCollector" in text
    assert "kubectl get fc" in text
    assert "kubectl get deploy -A -l app.kubernetes.io/name=flow-collector" in text
    assert "delete deploy -l app.kubernetes.io/name=flow-collector" in text
    assert "kubectl apply --server-side -f" in text
    assert "backfill is off" in text


def test_notes_explain_how_to_check_the_backfill():
    text = notes(scenario_values("backfill-mimir-values.yaml"))
    assert f"kubectl -n {NAMESPACE} get cronjob fk-flowkeeper-backfill" in text
    assert "get jobs -l app.kubernetes.io/instance=fk,app.kubernetes.io/component=backfill" in text
    assert "logs -l app.kubernetes.io/instance=fk,app.kubernetes.io/component=backfill" in text
    assert "one-off backfill Job" in text


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_helm_lint_strict_finds_nothing_above_info(scenario, version):
    report = helm.lint(
        CHART_DIR,
        values_for(scenario),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{version}.0",
    )
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] > 1] == []


def crd_schema():
    crd = yaml.safe_load((ROOT / "crds" / "flowcollector.yaml").read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def schema_has(schema, path):
    """Whether ``spec.a.b`` is a field of ``schema`` (the spec's); lists are looked through."""
    for part in path.split(".")[1:]:
        schema = schema.get("items", schema).get("properties", {}).get(part)
        if schema is None:
            return False
    return True


@pytest.mark.parametrize(
    "values", [None, {"replicaCount": 2}, {"backfill": {"enabled": True, "dryRun": True}}]
)
def test_notes_name_only_fields_the_crd_has(values):
    """Every `spec.x.y` the notes tell users to set exists in the CRD's schema."""
    text = " ".join(notes(values).split())
    paths = set(re.findall(r"\bspec(?:\.[A-Za-z]+)+", text))
    assert "spec.migration.replaceDeployment" in paths  # the check finds what it checks
    spec = crd_schema()["properties"]["spec"]
    assert schema_has(spec, "spec.listeners.port")
    assert not schema_has(spec, "spec.migration.deleteDeployment")
    assert {path for path in paths if not schema_has(spec, path)} == set()


def test_notes_say_only_a_named_deployment_is_replaced():
    """The operator deletes the Deployment named in spec.migration.replaceDeployment and no
    other (operator/migration.py); the notes must not promise a deletion by labels."""
    text = " ".join(notes().split())
    assert "names it in spec.migration.replaceDeployment" in text
    assert "never deletes a Deployment that is not named there" in text
    assert "same app.kubernetes.io/instance" not in text

"""Several operator replicas: leader election flags, Lease RBAC, rollout, disruption budget."""

import helm_python as helm
import pytest
from flowkeeper.operator.cli import parse_args

from tests.chart.helpers import NAMESPACE, notes, of_kind, one, render, rules, scenario_values

LEADER_ARGS = [
    "--leader-election",
    f"--leader-election-namespace={NAMESPACE}",
    "--leader-election-id=fk-flowkeeper",
    "--lease-duration=15",
    "--renew-deadline=10",
    "--retry-period=2",
]


def deployment(values=None):
    return one(render(values), "Deployment")


def args(values=None):
    return deployment(values)["spec"]["template"]["spec"]["containers"][0]["args"]


def test_one_replica_recreates_without_election_or_budget():
    manifests = render()
    spec = one(manifests, "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert not set(LEADER_ARGS) & set(args())
    for kind in ("PodDisruptionBudget", "Role", "RoleBinding"):
        assert of_kind(manifests, kind) == [], kind


def test_two_replicas_elect_a_leader_and_roll():
    manifests = render({"replicaCount": 2})
    spec = one(manifests, "Deployment")["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }
    assert args({"replicaCount": 2})[-6:] == LEADER_ARGS


def test_lease_timings_reach_the_flags():
    values = scenario_values("ha-monitoring-values.yaml")
    assert args(values)[-3:] == ["--lease-duration=20", "--renew-deadline=15", "--retry-period=3"]


def test_election_can_be_forced_on_with_one_replica():
    values = {"leaderElection": {"enabled": True}}
    assert args(values)[-6:] == LEADER_ARGS
    assert deployment(values)["spec"]["strategy"] == {"type": "Recreate"}


def test_budget_keeps_one_operator_pod():
    manifests = render({"replicaCount": 3})
    budget = one(manifests, "PodDisruptionBudget")
    pod_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_lease_role_is_namespaced_and_minimal():
    manifests = render({"replicaCount": 2})
    role, binding = one(manifests, "Role"), one(manifests, "RoleBinding")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert rules(role) == {
        ("coordination.k8s.io", "leases", verb) for verb in ("get", "create", "update")
    }
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    account = one(manifests, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    ]


def test_rbac_create_false_leaves_the_lease_role_out():
    manifests = render({"replicaCount": 2, "rbac": {"create": False}})
    assert of_kind(manifests, "Role") == []
    assert of_kind(manifests, "RoleBinding") == []


def test_pod_knows_its_name_and_namespace():
    env = deployment()["spec"]["template"]["spec"]["containers"][0]["env"]
    fields = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in env if "valueFrom" in e}
    assert fields == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}


def test_several_replicas_without_election_are_refused():
    with pytest.raises(helm.HelmRenderError, match="replicaCount > 1 needs leaderElection"):
        render({"replicaCount": 2, "leaderElection": {"enabled": False}})


@pytest.mark.parametrize(
    "timings",
    [
        {"leaseDuration": 10, "renewDeadline": 10},
        {"renewDeadline": 5, "retryPeriod": 5},
    ],
)
def test_lease_timings_out_of_order_are_refused(timings):
    with pytest.raises(helm.HelmRenderError, match="retryPeriod < renewDeadline < leaseDuration"):
        render({"replicaCount": 2, "leaderElection": timings})


def anti_affinity(values):
    return deployment(values)["spec"]["template"]["spec"].get("affinity")


def test_soft_preset_prefers_other_nodes():
    manifests = render({"replicaCount": 2})
    selector = one(manifests, "Deployment")["spec"]["selector"]
    (term,) = anti_affinity({"replicaCount": 2})["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term["podAffinityTerm"] == {
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": selector,
    }


def test_hard_preset_requires_other_nodes():
    affinity = anti_affinity({"replicaCount": 2, "podAntiAffinityPreset": "hard"})
    (term,) = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_no_preset_and_explicit_affinity_win():
    assert anti_affinity({"podAntiAffinityPreset": ""}) is None
    mine = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["infra"]}]}
                ]
            }
        }
    }
    assert anti_affinity({"affinity": mine, "podAntiAffinityPreset": "hard"}) == mine


@pytest.mark.parametrize(
    "values",
    [None, {"replicaCount": 2}, scenario_values("ha-monitoring-values.yaml")],
    ids=["one replica", "two replicas", "ha scenario"],
)
def test_the_operator_accepts_the_flags_the_chart_passes(values):
    """The chart's arguments, parsed by the operator's own CLI (in the pod's environment)."""
    options = parse_args(args(values), {"POD_NAME": "fk-flowkeeper-0", "POD_NAMESPACE": NAMESPACE})
    election = getattr(options, "election", None)
    if values is None:
        assert election is None
        return
    timings = {"leaseDuration": 15, "renewDeadline": 10, "retryPeriod": 2}
    timings |= values.get("leaderElection", {})
    assert election.namespace == NAMESPACE
    assert election.name == "fk-flowkeeper"
    assert election.timings == (
        timings["leaseDuration"],
        timings["renewDeadline"],
        timings["retryPeriod"],
    )


def test_notes_say_who_reconciles():
    text = notes({"replicaCount": 2})
    assert "(2 replicas; the holder of Lease fk-flowkeeper reconciles, the others stand by)" in text
    assert "replicas" not in notes().split("1. Check the operator")[0]

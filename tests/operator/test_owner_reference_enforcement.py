"""The chart's ClusterRole is enough on a cluster with OwnerReferencesPermissionEnforcement
(OpenShift's default): the emulator enforces the plugin with the role's rules, as rendered.

Without ``update`` on ``flowcollectors/finalizers`` every child is refused (403), because the
children's ownerReferences set ``blockOwnerDeletion``; the second case shows the emulator does
enforce it, so the first one can fail.
"""

from typing import Any

from e2e.cluster import eventually
from tests.chart.helpers import by_component, render
from tests.operator.harness import (
    CM,
    DS,
    FC,
    SVC,
    condition,
    fc_status,
    sample,
    settled,
)

FINALIZERS = "flowcollectors/finalizers"


def operator_rules(*, finalizers: bool) -> list[dict[str, Any]]:
    role = by_component(render(), "ClusterRole", "operator")
    rules = [dict(rule) for rule in role["rules"]]
    assert any(FINALIZERS in rule["resources"] for rule in rules)
    if not finalizers:
        rules = [rule for rule in rules if FINALIZERS not in rule["resources"]]
    return rules


async def test_the_charts_cluster_role_can_create_the_children(api, k8s, operator):
    k8s.enforce_owner_references(operator_rules(finalizers=True))
    await api.create(FC.format(ns="netflow"), sample())
    status = await settled(api, "netflow", "core")
    assert condition(status, "Ready")["reason"] != "ApplyFailed", status
    daemonset = await api.get(f"{DS.format(ns='netflow')}/core")
    assert daemonset is not None
    assert daemonset["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is True


async def test_without_the_finalizers_rule_every_child_is_forbidden(api, k8s, operator):
    k8s.enforce_owner_references(operator_rules(finalizers=False))
    await api.create(FC.format(ns="netflow"), sample())

    async def refused() -> None:
        ready = condition(await fc_status(api, "netflow", "core"), "Ready")
        assert ready["status"] == "False", ready
        assert ready["reason"] == "ApplyFailed", ready
        assert "403" in ready["message"], ready
        assert f'cannot update resource "{FINALIZERS}"' in ready["message"], ready

    await eventually(refused)
    for path, name in ((CM, "core-config"), (DS, "core"), (SVC, "core")):
        assert await api.get(f"{path.format(ns='netflow')}/{name}") is None

"""What a real server stores: canonical quantities, omitempty, defaults (create and update)."""

import copy

from tests.emulator.conftest import (
    DS,
    FC,
    JSON_PATCH,
    LEASES,
    SVC,
    daemonset,
    flowcollector,
    service,
)


async def test_quantities_are_canonical_on_create_and_update(http):
    body = daemonset()
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": 1}}
    created = await http.create(DS, body)
    stored = created["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert stored == {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "1"}}
    patch = {"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/cpu"}
    patched = await http.patch(f"{DS}/d", [{**patch, "value": "2000m"}], JSON_PATCH)
    limits = patched["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "2", "memory": "1Gi"}


async def test_a_bad_quantity_is_invalid(http):
    body = daemonset()
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "lots"}}
    status, answer = await http.call("POST", DS, body)
    assert (status, answer["reason"]) == (422, "Invalid")
    assert "resources.limits[cpu]" in answer["message"]


async def test_omitempty_drops_empty_values(http):
    body = daemonset(
        tolerations=[{"key": "", "operator": "Exists"}],
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "k", "operator": "Exists", "values": []}]}
                    ]
                }
            }
        },
        nodeSelector={},
        hostNetwork=False,
        volumes=[{"name": "tmp", "emptyDir": {}}],
    )
    body["metadata"]["annotations"] = {}
    created = await http.create(DS, body)
    spec = created["spec"]["template"]["spec"]
    assert spec["tolerations"] == [{"operator": "Exists"}]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "k", "operator": "Exists"}]}
    ]
    assert "nodeSelector" not in spec
    assert "hostNetwork" not in spec
    assert "annotations" not in created["metadata"]
    # A Go struct pointer keeps its empty object: emptyDir: {} is a volume source.
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {}}]


async def test_custom_resources_are_stored_as_sent(http):
    # No omitempty for custom resources: what the schema allows stays as sent (empty values
    # included); unknown fields are pruned and defaults filled (tests/emulator/test_crd_*).
    body = flowcollector(tolerations=[], config={"x": ""})
    body["metadata"]["labels"] = {}
    created = await http.create(FC, body)
    assert (created["spec"]["tolerations"], created["spec"]["config"]) == ([], {"x": ""})
    assert "labels" not in created["metadata"]


async def test_daemonset_defaults(http):
    body = daemonset()
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"containerPort": 2055}]
    container["readinessProbe"] = {"httpGet": {"port": 9100, "path": "/metrics"}}
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "c", "configMap": {"name": "c"}}]
    created = await http.create(DS, body)
    spec = created["spec"]
    assert spec["revisionHistoryLimit"] == 10
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    pod = spec["template"]["spec"]
    assert {k: pod[k] for k in ("dnsPolicy", "restartPolicy", "schedulerName")} == {
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
    }
    assert (pod["terminationGracePeriodSeconds"], pod["securityContext"]) == (30, {})
    assert pod["volumes"][0]["configMap"]["defaultMode"] == 420
    container = pod["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"] == [{"containerPort": 2055, "protocol": "TCP"}]
    assert container["readinessProbe"] == {
        "httpGet": {"port": 9100, "path": "/metrics", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert spec["template"]["metadata"] == {"labels": {"app": "d"}, "creationTimestamp": None}


async def test_a_patch_that_removes_a_default_gets_it_back(http):
    created = await http.create(DS, daemonset())
    patched = await http.patch(
        f"{DS}/d",
        {"spec": {"revisionHistoryLimit": None, "template": {"spec": {"dnsPolicy": None}}}},
    )
    assert patched["spec"]["revisionHistoryLimit"] == 10
    assert patched["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    # ... and so the write changed nothing at all.
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_service_defaults_and_allocations(http):
    created = await http.create(SVC, service(type="LoadBalancer", externalTrafficPolicy="Local"))
    spec = created["spec"]
    assert spec["clusterIP"]
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
    assert (spec["sessionAffinity"], spec["internalTrafficPolicy"]) == ("None", "Cluster")
    assert spec["allocateLoadBalancerNodePorts"] is True
    port = spec["ports"][0]
    assert (port["protocol"], port["targetPort"]) == ("TCP", 2055)
    assert 30000 <= port["nodePort"] <= 32767
    assert 30000 <= spec["healthCheckNodePort"] <= 32767
    assert spec["healthCheckNodePort"] != port["nodePort"]

    # A patch that drops allocated values keeps them, as PatchAllocatedValues does.
    ports = [{"name": "p", "port": 2055}]
    patched = await http.patch(f"{SVC}/s", {"spec": {"ports": ports, "clusterIP": None}})
    assert patched["spec"]["ports"] == spec["ports"]
    assert patched["spec"]["clusterIP"] == spec["clusterIP"]

    cluster_ip = await http.create(SVC, service("plain"))
    assert "nodePort" not in cluster_ip["spec"]["ports"][0]
    assert cluster_ip["spec"]["type"] == "ClusterIP"
    assert "externalTrafficPolicy" not in cluster_ip["spec"]


async def test_service_cluster_ip_is_immutable(http):
    created = await http.create(SVC, service())
    status, answer = await http.call(
        "PATCH", f"{SVC}/s", {"spec": {"clusterIP": "10.96.99.99"}}, "application/merge-patch+json"
    )
    assert (status, answer["reason"]) == (422, "Invalid")
    assert "spec.clusterIPs[0]" in answer["message"]
    assert "may not change once set" in answer["message"]
    kept = await http.get(f"{SVC}/s")
    assert kept["spec"]["clusterIP"] == created["spec"]["clusterIP"]


async def test_defaults_leave_what_was_set(http):
    body = daemonset(dnsPolicy="ClusterFirstWithHostNet", hostNetwork=True)
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 2055}]
    sent = copy.deepcopy(body)
    created = await http.create(DS, body)
    pod = created["spec"]["template"]["spec"]
    assert pod["dnsPolicy"] == sent["spec"]["template"]["spec"]["dnsPolicy"]
    # With host networking, the kubelet binds the container port on the node.
    assert pod["containers"][0]["ports"][0]["hostPort"] == 2055


async def test_a_service_that_stops_being_external_loses_its_node_ports(http, k8s):
    await http.create(SVC, service(type="LoadBalancer", externalTrafficPolicy="Local"))
    patched = await http.patch(f"{SVC}/s", {"spec": {"type": "ClusterIP"}})
    spec = patched["spec"]
    assert "nodePort" not in spec["ports"][0]
    for field in ("healthCheckNodePort", "externalTrafficPolicy", "allocateLoadBalancerNodePorts"):
        assert field not in spec, field
    assert not k8s.api.allocator.ports


async def test_a_node_port_is_used_once(http):
    first = await http.create(SVC, service("a", type="NodePort"))
    taken = first["spec"]["ports"][0]["nodePort"]
    body = service("b", type="NodePort", ports=[{"port": 80, "nodePort": taken}])
    status, answer = await http.call("POST", SVC, body)
    assert (status, answer["reason"]) == (422, "Invalid")
    assert (
        f"spec.ports[0].nodePort: Invalid value: {taken}: provided port is already allocated"
        in (answer["message"])
    )
    # The Service holding it may keep sending it.
    ports = [{"name": "p", "port": 2055, "nodePort": taken}]
    assert (await http.patch(f"{SVC}/a", {"spec": {"ports": ports}}))["spec"]["ports"][0][
        "nodePort"
    ] == taken


async def test_lease_times_are_micro_times(http):
    lease = {
        "metadata": {"name": "l"},
        "spec": {"holderIdentity": "a", "renewTime": "2026-11-23T20:44:01.5+01:00"},
    }
    created = await http.create(LEASES, lease)
    assert created["spec"]["renewTime"] == "2026-11-23T19:44:01.500000Z"


async def test_a_lease_keeps_an_empty_holder(http):
    """holderIdentity is a *string: Go keeps "" (released), unlike an omitempty string."""
    lease = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "", "leaseDurationSeconds": 0}}
    created = await http.create(LEASES, lease)
    assert created["spec"] == {"holderIdentity": "", "leaseDurationSeconds": 0}

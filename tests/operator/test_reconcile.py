import copy
import json
from pathlib import Path

import pytest
import yaml
from flowkeeper.operator import constants
from flowkeeper.operator.model import manifests
from flowkeeper.operator.model.spec import parse_spec
from flowkeeper.operator.plan import merge as reconcile

SAMPLE = Path(__file__).parent / "samples" / "good" / "full.yaml"
LAST = reconcile.LAST_APPLIED_ANNOTATION


def children():
    fc = yaml.safe_load(SAMPLE.read_text())
    return manifests.build_children(
        name=fc["metadata"]["name"], namespace="ns", spec=parse_spec(fc["spec"])
    )


def as_served(manifest):
    """The object as an API server returns it after we sent it: what we sent (with its
    last-applied record), plus server-owned and defaulted fields."""
    live = copy.deepcopy(reconcile.applied(manifest))
    live["metadata"].update(
        uid="u-1", resourceVersion="7", creationTimestamp="2024-01-01T00:00:00Z"
    )
    live["metadata"]["annotations"]["deprecated.daemonset.template.generation"] = "1"
    if manifest["kind"] == "DaemonSet":
        pod = live["spec"]["template"]["spec"]
        pod.update(
            dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler"
        )
        pod["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
        live["spec"]["revisionHistoryLimit"] = 10
        live["status"] = {"numberReady": 1}
    if manifest["kind"] == "Service":
        live["spec"].update(clusterIP="10.0.0.1", clusterIPs=["10.0.0.1"], sessionAffinity="None")
        for port in live["spec"]["ports"]:
            port["nodePort"] = 31000
    return live


def pod_spec(manifest):
    return manifest["spec"]["template"]["spec"]


@pytest.mark.parametrize("child", ["configmap", "daemonset", "service", "metrics_service"])
def test_server_defaults_need_no_write(child):
    desired = getattr(children(), child)
    assert reconcile.plan(desired, as_served(desired)) is None


def test_missing_child_is_created_whole_with_its_record():
    desired = children().configmap
    write = reconcile.plan(desired, None)
    assert write is not None
    assert write.verb == "create"
    record = write.body["metadata"]["annotations"].pop(LAST)
    assert write.body == desired
    assert "data" not in json.loads(record)  # owned whole: no record needed, and it may be large


def test_canonicalised_quantities_and_dropped_empties_are_in_sync():
    desired = children().daemonset
    container = pod_spec(desired)["containers"][0]
    container["resources"] = {"limits": {"cpu": "0.5", "memory": "1024Mi"}, "requests": {"cpu": 1}}
    pod_spec(desired)["tolerations"] = [{"operator": "Exists", "key": ""}]
    pod_spec(desired)["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]}
                ]
            }
        }
    }
    live = as_served(desired)
    served = pod_spec(live)
    served["containers"][0]["resources"] = {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "1"},
    }
    assert served["tolerations"] == [{"operator": "Exists"}]  # pruned before sending
    assert "values" not in str(served["affinity"])
    assert reconcile.plan(desired, live) is None


def test_hand_edited_image_patches_only_the_containers():
    desired = children().daemonset
    live = as_served(desired)
    pod_spec(live)["containers"][0]["image"] = "evil:latest"
    write = reconcile.plan(desired, live)
    assert write == reconcile.Write(
        "patch",
        {
            "metadata": {"resourceVersion": "7"},
            "spec": {"template": {"spec": {"containers": pod_spec(desired)["containers"]}}},
        },
    )


def test_hand_added_node_selector_key_is_removed():
    desired = children().daemonset
    live = as_served(desired)
    pod_spec(live)["nodeSelector"]["extra"] = "yes"
    write = reconcile.plan(desired, live)
    assert write is not None
    assert write.body["spec"] == {"template": {"spec": {"nodeSelector": {"extra": None}}}}


def test_configmap_extra_key_is_removed_and_changed_key_sent():
    desired = children().configmap
    live = as_served(desired)
    live["data"]["debug.json"] = "{}"
    live["data"]["config.json"] = "{}"
    write = reconcile.plan(desired, live)
    assert write is not None
    assert write.body["data"] == {"config.json": desired["data"]["config.json"], "debug.json": None}


def test_foreign_labels_and_annotations_are_left_alone():
    desired = children().service
    live = as_served(desired)
    live["metadata"]["labels"]["team"] = "netops"
    live["metadata"]["annotations"]["note"] = "hi"
    assert reconcile.plan(desired, live) is None


def test_lost_label_is_patched_back():
    desired = children().service
    live = as_served(desired)
    del live["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    write = reconcile.plan(desired, live)
    assert write == reconcile.Write(
        "patch",
        {
            "metadata": {
                "labels": {"app.kubernetes.io/managed-by": "flowkeeper"},
                "resourceVersion": "7",
            }
        },
    )


def test_removed_annotation_is_removed_but_foreign_one_kept():
    before = children().service
    live = as_served(before)
    live["metadata"]["annotations"]["note"] = "hi"  # someone else's
    after = copy.deepcopy(before)
    del after["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"]
    write = reconcile.plan(after, live)
    assert write is not None
    annotations = write.body["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] is None
    assert "note" not in annotations


def test_removed_list_item_field_replaces_the_list():
    before = children().daemonset
    live = as_served(before)
    after = copy.deepcopy(before)
    del pod_spec(after)["containers"][0]["resources"]
    write = reconcile.plan(after, live)
    assert write is not None
    sent = write.body["spec"]["template"]["spec"]["containers"]
    assert sent == pod_spec(after)["containers"]


def test_server_default_never_applied_is_not_removed():
    desired = children().daemonset
    live = as_served(desired)
    assert pod_spec(live)["dnsPolicy"] == "ClusterFirst"
    assert reconcile.plan(desired, live) is None


def test_without_a_record_nothing_but_owned_fields_is_removed():
    desired = children().service
    live = as_served(desired)
    del live["metadata"]["annotations"][LAST]
    live["metadata"]["annotations"]["old"] = "x"
    write = reconcile.plan(desired, live)
    assert write is not None  # the record is added, nothing else
    assert set(write.body["metadata"]) == {"annotations", "resourceVersion"}
    assert set(write.body["metadata"]["annotations"]) == {LAST}


def test_three_way_on_atomic_map_replaces_nested_keys():
    patch = reconcile.three_way(
        {"spec": {"affinity": {"a": {"b": 1}}}},
        {},
        {"spec": {"affinity": {"a": {"b": 2, "c": 3}, "d": 4}}},
        atomic={("spec", "affinity")},
    )
    assert patch == {"spec": {"affinity": {"a": {"b": 1, "c": None}, "d": None}}}


def test_three_way_on_atomic_map_keeps_equal_keys_out():
    patch = reconcile.three_way(
        {"data": {"a": "1", "b": "2"}}, {}, {"data": {"a": "1", "b": "3"}}, atomic={("data",)}
    )
    assert patch == {"data": {"b": "2"}}


@pytest.mark.parametrize(
    ("live_hash", "has_live", "applied_before", "expected"),
    [
        (None, False, False, "Created"),
        (None, False, True, "Restored"),
        ("old", True, True, "Updated"),
        ("same", True, True, "Restored"),
    ],
)
def test_reason(live_hash, has_live, applied_before, expected):
    annotation = constants.DESIRED_HASH_ANNOTATION
    desired = {"metadata": {"annotations": {annotation: "same"}}}
    live = {"metadata": {"annotations": {annotation: live_hash}}} if has_live else None
    assert reconcile.reason(desired, live, applied_before=applied_before) == expected

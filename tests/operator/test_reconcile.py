import copy
from pathlib import Path

import pytest
import yaml
from flowkeeper.operator import manifests, reconcile
from flowkeeper.operator.spec import parse_spec

SAMPLE = Path(__file__).parent / "samples" / "good" / "full.yaml"


def children():
    fc = yaml.safe_load(SAMPLE.read_text())
    return manifests.build_children(
        name=fc["metadata"]["name"], namespace="ns", spec=parse_spec(fc["spec"])
    )


def as_served(manifest):
    """The object as an API server returns it: our fields plus server-owned and defaulted ones."""
    live = copy.deepcopy(manifest)
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


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, True),
        ({"a": [{"x": 1}]}, {"a": [{"x": 1, "default": True}]}, True),
        ({"a": [{"x": 1}]}, {"a": [{"x": 1}, {"x": 2}]}, False),
        ({"a": [1, 2]}, {"a": [2, 1]}, False),
        ({"a": 1}, {"a": "1"}, False),
        ({"a": {"b": 1}}, {"a": None}, False),
        ({"a": 1}, {}, False),
    ],
)
def test_is_subset(desired, live, expected):
    assert reconcile.is_subset(desired, live) is expected


@pytest.mark.parametrize("child", ["configmap", "daemonset", "service", "metrics_service"])
def test_server_defaults_need_no_write(child):
    desired = getattr(children(), child)
    assert reconcile.plan(desired, as_served(desired)) is None


def test_missing_child_is_created_whole():
    desired = children().configmap
    assert reconcile.plan(desired, None) == reconcile.Write("create", desired)


def test_hand_edited_image_patches_only_the_containers():
    desired = children().daemonset
    live = as_served(desired)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:latest"
    write = reconcile.plan(desired, live)
    assert write == reconcile.Write(
        "patch",
        {
            "spec": {
                "template": {
                    "spec": {"containers": desired["spec"]["template"]["spec"]["containers"]}
                }
            }
        },
    )


def test_hand_added_node_selector_key_is_removed():
    desired = children().daemonset
    live = as_served(desired)
    live["spec"]["template"]["spec"]["nodeSelector"]["extra"] = "yes"
    write = reconcile.plan(desired, live)
    assert write is not None
    assert write.body == {"spec": {"template": {"spec": {"nodeSelector": {"extra": None}}}}}


def test_field_dropped_from_spec_is_removed():
    desired = children().daemonset
    live = as_served(desired)
    del desired["spec"]["template"]["spec"]["tolerations"]
    write = reconcile.plan(desired, live)
    assert write is not None
    assert write.body == {"spec": {"template": {"spec": {"tolerations": None}}}}


def test_configmap_extra_key_is_removed_and_changed_key_sent():
    desired = children().configmap
    live = as_served(desired)
    live["data"]["debug.json"] = "{}"
    live["data"]["config.json"] = "{}"
    write = reconcile.plan(desired, live)
    assert write is not None
    assert write.body == {
        "data": {"config.json": desired["data"]["config.json"], "debug.json": None}
    }


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
        "patch", {"metadata": {"labels": {"app.kubernetes.io/managed-by": "flowkeeper"}}}
    )


def test_merge_patch_on_exact_map_replaces_nested_keys():
    patch = reconcile.merge_patch(
        {"spec": {"affinity": {"a": {"b": 1}}}},
        {"spec": {"affinity": {"a": {"b": 2, "c": 3}, "d": 4}}},
        exact={("spec", "affinity")},
    )
    assert patch == {"spec": {"affinity": {"a": {"b": 1, "c": None}, "d": None}}}


def test_merge_patch_on_exact_map_keeps_equal_keys_out():
    patch = reconcile.merge_patch(
        {"data": {"a": "1", "b": "2"}}, {"data": {"a": "1", "b": "3"}}, exact={("data",)}
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
    annotation = manifests.DESIRED_HASH_ANNOTATION
    desired = {"metadata": {"annotations": {annotation: "same"}}}
    live = {"metadata": {"annotations": {annotation: live_hash}}} if has_live else None
    assert reconcile.reason(desired, live, applied_before=applied_before) == expected

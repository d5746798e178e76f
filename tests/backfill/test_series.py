import pytest
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.objects import metadata_from
from flowkeeper.backfill.series import SeriesLimits, Tally, kind_series_spec, object_series

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def spec(kind="pods", labels="*=[*]", annotations="*=[*]", external=None, limits=None):
    return kind_series_spec(
        KINDS[kind],
        prefix="kube",
        labels=parse_allowlist("l", labels).for_kind(kind),
        annotations=parse_allowlist("a", annotations).for_kind(kind),
        external=external or {},
        limits=limits or SeriesLimits(),
    )


def series_of(kind_spec, metadata, tally=None):
    """The series of `metadata`, given as the JSON the API sends (read as the lister does);
    what was dropped or altered goes into `tally`."""
    return object_series(kind_spec, metadata_from(metadata), tally or Tally())


POD = {
    "name": "web-1",
    "namespace": "shop",
    "uid": "u-1",
    "resourceVersion": "7",
    "labels": {"app.kubernetes.io/name": "web", "canary": "", "team": "core"},
    "annotations": {"example.com/owner": "alice", LAST_APPLIED: '{"big": true}', "empty": ""},
}

# kube-state-metrics v2.20 desc<Kind>LabelsDefaultLabels, written out from its source
# (internal/store/<kind>.go), one line per kind the backfill can list.
KSM_IDENTITY = {
    "namespaces": ("kube_namespace_labels", {"namespace": "obj"}),
    "pods": ("kube_pod_labels", {"namespace": "ns", "pod": "obj", "uid": "u"}),
    "nodes": ("kube_node_labels", {"node": "obj"}),
    "deployments": ("kube_deployment_labels", {"namespace": "ns", "deployment": "obj"}),
    "statefulsets": ("kube_statefulset_labels", {"namespace": "ns", "statefulset": "obj"}),
    "daemonsets": ("kube_daemonset_labels", {"namespace": "ns", "daemonset": "obj"}),
    "replicasets": ("kube_replicaset_labels", {"namespace": "ns", "replicaset": "obj"}),
    "jobs": ("kube_job_labels", {"namespace": "ns", "job_name": "obj"}),
    "cronjobs": ("kube_cronjob_labels", {"namespace": "ns", "cronjob": "obj"}),
    "services": ("kube_service_labels", {"namespace": "ns", "service": "obj", "uid": "u"}),
    "persistentvolumeclaims": (
        "kube_persistentvolumeclaim_labels",
        {"namespace": "ns", "persistentvolumeclaim": "obj"},
    ),
    "persistentvolumes": ("kube_persistentvolume_labels", {"persistentvolume": "obj"}),
    "ingresses": ("kube_ingress_labels", {"namespace": "ns", "ingress": "obj"}),
    "configmaps": ("kube_configmap_labels", {"namespace": "ns", "configmap": "obj"}),
    "secrets": ("kube_secret_labels", {"namespace": "ns", "secret": "obj"}),
    "serviceaccounts": (
        "kube_serviceaccount_labels",
        {"namespace": "ns", "serviceaccount": "obj", "uid": "u"},
    ),
    "networkpolicies": ("kube_networkpolicy_labels", {"namespace": "ns", "networkpolicy": "obj"}),
    "poddisruptionbudgets": (
        "kube_poddisruptionbudget_labels",
        {"namespace": "ns", "poddisruptionbudget": "obj"},
    ),
    "horizontalpodautoscalers": (
        "kube_horizontalpodautoscaler_labels",
        {"namespace": "ns", "horizontalpodautoscaler": "obj"},
    ),
    "storageclasses": ("kube_storageclass_labels", {"storageclass": "obj"}),
}


def test_every_kind_has_an_identity_case():
    assert set(KSM_IDENTITY) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KSM_IDENTITY))
def test_identity_labels_are_kube_state_metrics_ones(kind):
    metadata = {"name": "obj", "uid": "u", "labels": {"team": "core"}}
    if KINDS[kind].namespaced:
        metadata["namespace"] = "ns"
    built = series_of(spec(kind, annotations=""), metadata)
    name, identity = KSM_IDENTITY[kind]
    assert built is not None
    assert dict(built.labels) == {"__name__": name, **identity, "label_team": "core"}
    assert built.annotations is None


def test_pod_series_sorted_with_identity_and_external_labels():
    tally = Tally()
    built = series_of(spec(external={"cluster": "eu1"}), POD, tally)
    assert built is not None
    assert built.labels == (
        ("__name__", "kube_pod_labels"),
        ("cluster", "eu1"),
        ("label_app_kubernetes_io_name", "web"),
        ("label_team", "core"),
        ("namespace", "shop"),
        ("pod", "web-1"),
        ("uid", "u-1"),
    )
    assert built.annotations == (
        ("__name__", "kube_pod_annotations"),
        ("annotation_example_com_owner", "alice"),
        ("cluster", "eu1"),
        ("namespace", "shop"),
        ("pod", "web-1"),
        ("uid", "u-1"),
    )
    assert tally.empty == 2
    assert tally.last_applied == 1


def test_job_is_named_job_name_never_job():
    built = series_of(spec("jobs"), {"name": "backup", "namespace": "db", "uid": "u"})
    assert built is not None
    assert dict(built.labels) == {
        "__name__": "kube_job_labels",
        "job_name": "backup",
        "namespace": "db",
    }


def test_deployment_has_no_uid():
    built = series_of(spec("deployments"), {"name": "web", "namespace": "a", "uid": "u"})
    assert built is not None
    assert "uid" not in dict(built.labels)


@pytest.mark.parametrize("key", [LAST_APPLIED, "flows.flowkeeper.dev/last-applied"])
def test_last_applied_configuration_is_never_exported_even_when_allowlisted(key):
    pod = {**POD, "annotations": {**POD["annotations"], key: '{"big": true}'}}
    tally = Tally()
    built = series_of(spec(annotations=f"pods=[{key}]"), pod, tally)
    assert built is not None
    assert built.annotations == (
        ("__name__", "kube_pod_annotations"),
        ("namespace", "shop"),
        ("pod", "web-1"),
        ("uid", "u-1"),
    )
    assert tally.last_applied == 1


def test_default_annotation_allowlist_gives_no_annotations_series():
    tally = Tally()
    built = series_of(spec(annotations=""), POD, tally)
    assert built is not None
    assert built.annotations is None
    assert built.series == (built.labels,)
    assert tally.last_applied == 0


def test_empty_labels_allowlist_for_a_kind_gives_no_labels_series():
    built = series_of(spec(labels="nodes=[*],pods=[]", annotations="pods=[x]"), POD)
    assert built is not None
    assert built.labels is None
    assert built.annotations is not None


def test_list_matching_nothing_gives_identity_only_series():
    built = series_of(spec(labels="pods=[absent]", annotations=""), POD)
    assert built is not None
    assert built.labels == (
        ("__name__", "kube_pod_labels"),
        ("namespace", "shop"),
        ("pod", "web-1"),
        ("uid", "u-1"),
    )


def test_empty_values_take_part_in_conflict_naming_then_are_left_out():
    # KSM names "dup-key" and "dup.key" _conflict1 and _conflict2 (sorted keys); the
    # empty one is then absent, as Prometheus treats empty values.
    tally = Tally()
    built = series_of(spec(), {"name": "p", "labels": {"dup.key": "", "dup-key": "kept"}}, tally)
    assert built is not None
    assert dict(built.labels) == {
        "__name__": "kube_pod_labels",
        "label_dup_key_conflict1": "kept",
        "pod": "p",
    }
    assert tally.empty == 1


def test_cluster_scoped_kind_has_no_namespace_label():
    node = {"name": "n1", "uid": "u-9", "labels": {"kubernetes.io/hostname": "n1"}}
    built = series_of(spec("nodes"), node)
    assert built is not None
    assert built.labels == (
        ("__name__", "kube_node_labels"),
        ("label_kubernetes_io_hostname", "n1"),
        ("node", "n1"),
    )


def test_colliding_keys_get_suffixes():
    built = series_of(spec(), {"name": "p", "labels": {"a.b": "1", "a/b": "2"}})
    assert built is not None
    assert ("label_a_b_conflict1", "1") in built.labels
    assert ("label_a_b_conflict2", "2") in built.labels


def test_upper_case_external_label_still_sorts_before_name():
    built = series_of(spec(external={"Region": "eu"}), {"name": "p", "namespace": "n"})
    assert built is not None
    assert [name for name, _ in built.labels] == ["Region", "__name__", "namespace", "pod"]


def test_object_without_name_is_skipped():
    tally = Tally()
    assert series_of(spec(), {"namespace": "x"}, tally) is None
    assert tally.skipped == 1


def test_long_values_are_cut_in_utf8_bytes_on_a_character_boundary():
    limits = SeriesLimits(max_value_bytes=10)
    labels = {"ascii": "a" * 11, "short": "fits", "euro": "€" * 4}  # € is 3 bytes
    tally = Tally()
    built = series_of(spec(limits=limits), {"name": "p", "labels": labels}, tally)
    assert built is not None
    values = dict(built.labels)
    assert values["label_ascii"] == "a" * 10
    assert values["label_short"] == "fits"
    assert values["label_euro"] == "€" * 3
    assert tally.truncated == 2


def test_no_value_limit_with_zero():
    tally = Tally()
    built = series_of(
        spec(limits=SeriesLimits(max_value_bytes=0)),
        {"name": "p", "labels": {"a": "x" * 70000}},
        tally,
    )
    assert built is not None
    assert dict(built.labels)["label_a"] == "x" * 70000
    assert tally.truncated == 0


def test_label_count_limit_keeps_identity_and_first_labels_in_sorted_order():
    limits = SeriesLimits(max_labels=6)
    labels = {f"k{i:02d}": "v" for i in range(10)}
    metadata = {"name": "p", "namespace": "n", "uid": "u", "labels": labels}
    tally = Tally()
    built = series_of(spec(limits=limits, external={"cluster": "c"}), metadata, tally)
    assert built is not None
    assert [name for name, _ in built.labels] == [
        "__name__",
        "cluster",
        "label_k00",
        "namespace",
        "pod",
        "uid",
    ]
    assert tally.limited == 1  # the annotations series has room


def test_lone_surrogates_become_replacement_characters():
    metadata = {"name": "p", "labels": {"bad": "a\ud800b", "key\udfff": "v"}}
    tally = Tally()
    built = series_of(spec(), metadata, tally)
    assert built is not None
    assert dict(built.labels)["label_bad"] == "a\ufffdb"
    assert dict(built.labels)["label_key_"] == "v"
    assert tally.invalid == 1
    for name, value in built.labels:
        name.encode()
        value.encode()


@pytest.mark.parametrize(
    "metadata",
    [
        {"name": "p", "labels": None, "annotations": None},
        {"name": "p", "labels": [], "annotations": "x"},
        {"name": "p", "labels": {"a": None, "b": 3, "c": True}},
        {"name": 7},
        None,
        [],
    ],
)
def test_malformed_metadata_never_raises(metadata):
    built = series_of(spec(), metadata)
    if built is not None:
        for name, value in built.labels or ():
            assert isinstance(name, str)
            assert isinstance(value, str)

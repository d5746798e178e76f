import msgspec
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.objects import ObjectMeta
from flowkeeper.backfill.series import kind_series_spec, object_series

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def spec(kind="pods", labels="*=[*]", annotations="*=[*]", external=None):
    return kind_series_spec(
        KINDS[kind],
        prefix="kube",
        labels=parse_allowlist("l", labels).for_kind(kind),
        annotations=parse_allowlist("a", annotations).for_kind(kind),
        external=external or {},
    )


def series_of(kind_spec, metadata):
    """The series of `metadata`, given as the JSON dict the API sends."""
    return object_series(kind_spec, msgspec.convert(metadata, ObjectMeta))


POD = {
    "name": "web-1",
    "namespace": "shop",
    "uid": "u-1",
    "resourceVersion": "7",
    "labels": {"app.kubernetes.io/name": "web", "canary": "", "team": "core"},
    "annotations": {"example.com/owner": "alice", LAST_APPLIED: '{"big": true}', "empty": ""},
}


def test_pod_gives_labels_and_annotations_series_sorted_with_identity():
    built = series_of(spec(external={"cluster": "eu1"}), POD)
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
    assert built.empty_values_dropped == 2
    assert built.last_applied_dropped == 1


def test_last_applied_configuration_is_never_exported_even_when_allowlisted():
    built = series_of(spec(annotations=f"pods=[{LAST_APPLIED}]"), POD)
    assert built is not None
    assert built.annotations == (
        ("__name__", "kube_pod_annotations"),
        ("namespace", "shop"),
        ("pod", "web-1"),
        ("uid", "u-1"),
    )


def test_default_annotation_allowlist_keeps_identity_only():
    built = series_of(spec(annotations=""), POD)
    assert built is not None
    assert [name for name, _ in built.annotations] == ["__name__", "namespace", "pod", "uid"]
    assert built.last_applied_dropped == 0


def test_cluster_scoped_kind_has_no_namespace_label():
    node = {"name": "n1", "uid": "u-9", "labels": {"kubernetes.io/hostname": "n1"}}
    built = series_of(spec("nodes"), node)
    assert built is not None
    assert built.labels == (
        ("__name__", "kube_node_labels"),
        ("label_kubernetes_io_hostname", "n1"),
        ("node", "n1"),
        ("uid", "u-9"),
    )


def test_kind_name_is_singular_lower_case():
    built = series_of(spec("persistentvolumeclaims"), {"name": "data", "namespace": "db"})
    assert built is not None
    assert built.labels == (
        ("__name__", "kube_persistentvolumeclaim_labels"),
        ("namespace", "db"),
        ("persistentvolumeclaim", "data"),
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
    assert series_of(spec(), {"namespace": "x"}) is None

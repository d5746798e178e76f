import pytest
from flowkeeper.backfill.labelnames import label_name

from tests.backfill.reference import prometheus_labels


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("app", "label_app"),
        ("app.kubernetes.io/name", "label_app_kubernetes_io_name"),
        ("pod-template-hash", "label_pod_template_hash"),
        ("topology.kubernetes.io/zone", "label_topology_kubernetes_io_zone"),
        ("camelCase", "label_camel_case"),
        ("HTTPServer", "label_httpserver"),
        ("version2Beta", "label_version2_beta"),
        ("ünïcode", "label__n_code"),
        ("9lives", "label_9lives"),
        ("a b=c", "label_a_b_c"),
    ],
)
def test_label_name_is_sanitized_like_kube_state_metrics(key, expected):
    assert label_name("label", key) == expected


def test_annotation_prefix():
    assert label_name("annotation", "example.com/owner") == "annotation_example_com_owner"


def test_no_collision_keeps_every_name():
    assert sorted(prometheus_labels("label", {"app": "web", "team": "core"})) == [
        ("label_app", "web"),
        ("label_team", "core"),
    ]


def test_two_keys_colliding_are_both_suffixed_in_sorted_key_order():
    labels = {"a/b": "slash", "a.b": "dot"}
    assert sorted(prometheus_labels("label", labels)) == [
        ("label_a_b_conflict1", "dot"),  # "a.b" sorts before "a/b"
        ("label_a_b_conflict2", "slash"),
    ]


def test_three_keys_colliding():
    labels = {"a-b": "dash", "a.b": "dot", "a_b": "underscore"}
    assert sorted(prometheus_labels("label", labels)) == [
        ("label_a_b_conflict1", "dash"),
        ("label_a_b_conflict2", "dot"),
        ("label_a_b_conflict3", "underscore"),
    ]


def test_generated_suffix_never_reuses_a_name_already_taken():
    labels = {"a.b": "1", "a/b": "2", "a_b_conflict1": "3"}
    result = prometheus_labels("label", labels)
    names = [name for name, _ in result]
    assert len(names) == len(set(names))
    assert sorted(result) == [
        ("label_a_b_conflict1_conflict1", "1"),
        ("label_a_b_conflict1_conflict2", "3"),
        ("label_a_b_conflict2", "2"),
    ]


def test_camel_case_collides_with_snake_case():
    assert sorted(prometheus_labels("label", {"fooBar": "camel", "foo_bar": "snake"})) == [
        ("label_foo_bar_conflict1", "camel"),
        ("label_foo_bar_conflict2", "snake"),
    ]


# kube-state-metrics v2.20 internal/store/utils_test.go TestKubeLabelsToPrometheusLabels:
# its inputs and expected (name, value) pairs. KSM returns them in sorted key order.
KSM_CASES = [
    ({"app1": "normal"}, [("label_app1", "normal")]),
    ({"0_app3": "starts_with_digit"}, [("label_0_app3", "starts_with_digit")]),
    ({"": "empty"}, [("label_", "empty")]),
    ({"$app4": "special_char"}, [("label__app4", "special_char")]),
    ({"_app5": "starts_with_underscore"}, [("label__app5", "starts_with_underscore")]),
    (
        {"an": "", "order": "", "test": ""},
        [("label_an", ""), ("label_order", ""), ("label_test", "")],
    ),
    (
        {
            "conflicting_label1": "underscore",
            "conflicting.label1": "dot",
            "conflicting-label1": "hyphen",
            "conflicting.label2": "dot",
            "conflicting-label2": "hyphen",
            "conflicting_label2": "underscore",
            "conflicting-label3": "hyphen",
            "conflicting_label3": "underscore",
            "conflicting.label3": "dot",
        },
        [
            ("label_conflicting_label1_conflict1", "hyphen"),
            ("label_conflicting_label2_conflict1", "hyphen"),
            ("label_conflicting_label3_conflict1", "hyphen"),
            ("label_conflicting_label1_conflict2", "dot"),
            ("label_conflicting_label2_conflict2", "dot"),
            ("label_conflicting_label3_conflict2", "dot"),
            ("label_conflicting_label1_conflict3", "underscore"),
            ("label_conflicting_label2_conflict3", "underscore"),
            ("label_conflicting_label3_conflict3", "underscore"),
        ],
    ),
    ({"camelCase": "camel_case"}, [("label_camel_case", "camel_case")]),
    (
        {"snake_camelCase": "snake_and_camel_case"},
        [("label_snake_camel_case", "snake_and_camel_case")],
    ),
    (
        {"conflicting_camelCase": "camel_case", "conflicting_camel_case": "snake_case"},
        [
            ("label_conflicting_camel_case_conflict1", "camel_case"),
            ("label_conflicting_camel_case_conflict2", "snake_case"),
        ],
    ),
    (
        {"A.b.conflict1": "already_taken", "a-b": "dash", "a.b": "dot"},
        [
            ("label_a_b_conflict1", "already_taken"),
            ("label_a_b_conflict2", "dash"),
            ("label_a_b_conflict3", "dot"),
        ],
    ),
]


@pytest.mark.parametrize(("labels", "expected"), KSM_CASES)
def test_kube_state_metrics_cases(labels, expected):
    assert sorted(prometheus_labels("label", labels)) == sorted(expected)


# KSM TestCreatePrometheusLabelKeysValues: the sanitized names with the prefix "metric".
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("keyA", "metric_key_a"),
        ("keyB", "metric_key_b"),
        ("otherKeyA", "metric_other_key_a"),
        ("otherKeyB", "metric_other_key_b"),
    ],
)
def test_kube_state_metrics_prefixed_names(key, expected):
    assert label_name("metric", key) == expected

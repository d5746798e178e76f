import pytest
from flowkeeper.operator.plan import semantic

LIMITS = ("spec", "containers", "[]", "resources", "limits")


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        (1, "1"),
        ("1000m", "1"),
        ("0.1", "100m"),
        ("1e3", "1k"),
    ],
)
def test_quantities_compare_as_numbers(want, have):
    assert semantic.same(want, have, (*LIMITS, "cpu"))


def test_different_quantities_differ():
    assert not semantic.same("500m", "1", (*LIMITS, "cpu"))


def test_strings_outside_resources_compare_as_strings():
    assert not semantic.same("1", 1, ("spec", "replicas"))


@pytest.mark.parametrize("empty", ["", [], {}, None])
def test_empty_is_absent(empty):
    assert semantic.same({"a": 1, "key": empty}, {"a": 1})
    assert semantic.prune({"a": 1, "key": empty}) == {"a": 1}


def test_false_and_zero_are_kept():
    assert semantic.prune({"a": False, "b": 0}) == {"a": False, "b": 0}


def test_string_map_values_are_kept_even_empty():
    pruned = semantic.prune({"nodeSelector": {"edge": ""}, "x": {"values": []}})
    assert pruned == {"nodeSelector": {"edge": ""}}


def test_pruning_reaches_list_items():
    tolerations = [{"operator": "Exists", "key": ""}]
    assert semantic.prune({"tolerations": tolerations}) == {"tolerations": [{"operator": "Exists"}]}


def test_extra_live_keys_are_defaults_but_not_equal():
    assert semantic.same({"a": 1}, {"a": 1, "b": 2})
    assert not semantic.equal({"a": 1}, {"a": 1, "b": 2})
    assert semantic.equal({"a": 1, "b": ""}, {"a": 1})


def test_lists_need_the_same_length_and_order():
    assert not semantic.same([1, 2], [2, 1])
    assert not semantic.same([{"a": 1}], [{"a": 1}, {"a": 2}])
    assert semantic.same([{"a": 1}], [{"a": 1, "default": True}])

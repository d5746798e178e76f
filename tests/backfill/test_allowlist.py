"""Allowlist parsing and matching. The cases marked KSM are kube-state-metrics v2.20's own unit
tests (pkg/options/types_test.go TestLabelsAllowListSet, internal/store/builder_test.go
TestWithAllowLabels, internal/store/utils_test.go TestCreatePrometheusLabelKeysValues):
their inputs and expected outputs, restated for our API."""

import pytest
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.errors import UsageError

FLAG = "--metric-labels-allowlist"
LABELS = {"app": "web", "team": "core", "app.kubernetes.io/name": "x", "tier": "db"}


def keys_by_resource(text):
    return {name: list(keys.keys) for name, keys in parse_allowlist(FLAG, text).by_resource.items()}


# KSM TestLabelsAllowListSet: accepted inputs and the lists they give.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("cronjobs=[somelabel.io,label2/blah]", {"cronjobs": ["somelabel.io", "label2/blah"]}),
        (
            "pods=[podsone,pods-two],nodes=[nodesone,nodestwo],namespaces=[nsone,nstwo]",
            {
                "pods": ["podsone", "pods-two"],
                "nodes": ["nodesone", "nodestwo"],
                "namespaces": ["nsone", "nstwo"],
            },
        ),
        ("cronjobs=[somelabel,label2],pods=[]", {"cronjobs": ["somelabel", "label2"], "pods": []}),
        (
            "cronjobs=[*],pods=[*,foo],namespaces=[bar,*]",
            {"cronjobs": ["*"], "pods": ["*", "foo"], "namespaces": ["bar", "*"]},
        ),
        ("*=[*]", {"*": ["*"]}),
        ("*=[somelabel/*]", {"*": ["somelabel/*"]}),
        # KSM's parser resets a resource each time it is named: the last entry wins.
        ("pods=[app],nodes=[x],pods=[team]", {"pods": ["team"], "nodes": ["x"]}),
    ],
)
def test_ksm_accepted_inputs(text, expected):
    assert keys_by_resource(text) == expected


# KSM TestLabelsAllowListSet: refused inputs (plus our error text naming the problem).
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cronjobs=[somelabel,label2] cronjobs=[label3,label4]", "cannot parse"),
        ("cronjobs=[somelabel,label2],cronjobs=label3,label4]", "cannot parse"),
        ("cronjobs=[somelabel,label2]cronjobs=[label3,label4]", "cannot parse"),
        ("cronjobs[somelabel,label2]cronjobs=[label3,label4]", "cannot parse"),
        ("*=[somelabel/*-foo-*]", "key 'somelabel/*-foo-*' for '*' has more than one '*'"),
        ("pods=[foo-*-bar-*]", "has more than one '*'"),
    ],
)
def test_ksm_refused_inputs(text, message):
    with pytest.raises(UsageError) as error:
        parse_allowlist(FLAG, text)
    assert message in str(error.value)


# KSM TestWithAllowLabels: a `*` resource gives its list to every kind, whatever else is named.
@pytest.mark.parametrize(
    "text", ["*=[*]", "*=[*],pods=[*],cronjobs=[*]", "pods=[app],*=[*]", "*=[*],pods=[app]"]
)
def test_ksm_wildcard_resource_overrides_every_kind(text):
    allowlist = parse_allowlist(FLAG, text)
    for kind in ("cronjobs", "pods", "deployments"):
        assert allowlist.for_kind(kind).select(LABELS) == LABELS


def test_ksm_unknown_resource_is_an_error_naming_it():
    # KSM: {"*": ["*"], "foo": ["*"], "bar": ["*"], "cronjobs": ["*"]} -> error.
    with pytest.raises(UsageError) as error:
        parse_allowlist(FLAG, "*=[*],foo=[*],cronjobs=[*]")
    assert "unknown resource 'foo'; allowed: * or namespaces, pods" in str(error.value)


KSM_DATA = {"keyA": "valueA", "keyB": "valueB", "otherKeyA": "valueC", "otherKeyB": "valueD"}


# KSM TestCreatePrometheusLabelKeysValues: which keys of an object pass a kind's list.
@pytest.mark.parametrize(
    ("keys", "data", "expected"),
    [
        ("keyA,keyB", {"keyA": "valueA", "keyB": "valueB"}, ["keyA", "keyB"]),  # allMatches
        ("keyA,keyB,keyC", {"keyA": "valueA", "keyB": "valueB"}, ["keyA", "keyB"]),
        ("keyA,keyC", {"keyA": "valueA", "keyB": "valueB"}, ["keyA"]),  # partialMatches
        ("key*", KSM_DATA, ["keyA", "keyB"]),  # wildcardAsSuffix
        ("*A", KSM_DATA, ["keyA", "otherKeyA"]),  # wildcardAsPrefix
        ("*", KSM_DATA, ["keyA", "keyB", "otherKeyA", "otherKeyB"]),  # onlyFullWildcard
        ("keyA,*", KSM_DATA, ["keyA"]),  # additionalFullWildcard: `*` counts only first
        ("*,keyA", KSM_DATA, ["keyA", "keyB", "otherKeyA", "otherKeyB"]),
    ],
)
def test_ksm_key_matching(keys, data, expected):
    selected = parse_allowlist(FLAG, f"pods=[{keys}]").for_kind("pods").select(data)
    assert sorted(selected) == expected
    assert all(selected[key] == data[key] for key in selected)


def test_kind_without_entry_emits_no_series():
    allowlist = parse_allowlist(FLAG, "pods=[app]")
    assert allowlist.for_kind("pods").emits
    assert not allowlist.for_kind("namespaces").emits


def test_empty_list_emits_no_series():
    assert not parse_allowlist(FLAG, "").for_kind("pods").emits
    assert not parse_allowlist(FLAG, "pods=[]").for_kind("pods").emits
    assert not parse_allowlist(FLAG, "*=[]").for_kind("pods").emits


def test_list_matching_no_key_still_emits_identity_only():
    allowlist = parse_allowlist(FLAG, "pods=[absent]")
    assert allowlist.for_kind("pods").emits
    assert allowlist.for_kind("pods").select(LABELS) == {}


def test_partial_wildcard_matches_anywhere():
    allowlist = parse_allowlist(FLAG, "pods=[app*]")
    assert allowlist.for_kind("pods").select(LABELS) == {
        "app": "web",
        "app.kubernetes.io/name": "x",
    }


def test_whitespace_is_tolerated():
    allowlist = parse_allowlist(FLAG, " pods = [ app , tier ] , nodes=[team]")
    assert allowlist.for_kind("pods").select(LABELS) == {"app": "web", "tier": "db"}
    assert allowlist.for_kind("nodes").select(LABELS) == {"team": "core"}


def test_prefixed_key_is_exact():
    allowlist = parse_allowlist(FLAG, "deployments=[app.kubernetes.io/name]")
    assert allowlist.for_kind("deployments").select(LABELS) == {"app.kubernetes.io/name": "x"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pods=[app", "cannot parse 'pods=[app'"),
        ("pods=app", "cannot parse 'pods=app'"),
        ("pods[app]", "cannot parse 'pods[app]'"),
        ("=[app]", "cannot parse '=[app]'"),
        (",pods=[app]", "cannot parse ',pods=[app]'"),
        ("pods=[app],", "trailing comma"),
        ("pods=[app]nodes=[x]", "cannot parse"),
        ("podz=[app]", "unknown resource 'podz'; allowed: * or namespaces, pods"),
        ("pods=[app,,team]", "invalid key '' for 'pods'"),
        ("pods=[a:b]", "invalid key 'a:b' for 'pods'"),
        ("pods=[**]", "more than one '*'"),
    ],
)
def test_bad_syntax_names_the_flag_and_the_problem(text, message):
    with pytest.raises(UsageError) as error:
        parse_allowlist(FLAG, text)
    assert str(error.value).startswith(f"{FLAG}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)

import pytest
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.errors import UsageError

FLAG = "--metric-labels-allowlist"
LABELS = {"app": "web", "team": "core", "app.kubernetes.io/name": "x", "tier": "db"}


def test_kind_entry_overrides_wildcard_resource():
    allowlist = parse_allowlist(FLAG, "pods=[app,team],*=[*]")
    assert allowlist.for_kind("pods").select(LABELS) == {"app": "web", "team": "core"}
    assert allowlist.for_kind("nodes").select(LABELS) == LABELS


def test_kind_without_entry_exports_nothing():
    allowlist = parse_allowlist(FLAG, "pods=[app]")
    assert allowlist.for_kind("namespaces").select(LABELS) == {}


def test_empty_allowlist_exports_nothing():
    assert parse_allowlist(FLAG, "").for_kind("pods").select(LABELS) == {}


def test_empty_key_list_exports_nothing_even_with_a_wildcard_resource():
    allowlist = parse_allowlist(FLAG, "pods=[],*=[*]")
    assert allowlist.for_kind("pods").select(LABELS) == {}


def test_partial_wildcard():
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
        ("pods=[app],pods=[team]", "resource 'pods' is listed twice"),
        ("pods=[app,,team]", "invalid key '' for 'pods'"),
        ("pods=[a:b]", "invalid key 'a:b' for 'pods'"),
    ],
)
def test_bad_syntax_names_the_flag_and_the_problem(text, message):
    with pytest.raises(UsageError) as error:
        parse_allowlist(FLAG, text)
    assert str(error.value).startswith(f"{FLAG}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)

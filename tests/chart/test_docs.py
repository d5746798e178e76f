"""values.yaml documents every key, and docs/helm.md lists every key in its values table."""

import json
import re

import yaml

from tests.chart.helpers import CHART_DIR, ROOT

VALUES_TEXT = (CHART_DIR / "values.yaml").read_text()
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
HELM_DOC = ROOT / "docs" / "helm.md"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w-]*):")


def leaves(values, schema, path=""):
    """Documented keys: recurse while the schema lists properties (free-form maps are leaves)."""
    for key, value in values.items():
        child = schema["properties"][key]
        if isinstance(value, dict) and "properties" in child:
            yield from leaves(value, child, f"{path}{key}.")
        else:
            yield f"{path}{key}"


LEAVES = sorted(leaves(VALUES, SCHEMA))


def commented_keys():
    """Dotted keys of values.yaml whose line has a `# --` comment block right above it."""
    stack, found, comment = [], set(), False
    for line in VALUES_TEXT.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = comment or stripped.startswith("# --")
            continue
        match = KEY_LINE.match(line)
        if match:
            depth = len(match["indent"])
            stack = [(d, k) for d, k in stack if d < depth] + [(depth, match["key"])]
            if comment:
                found.add(".".join(k for _, k in stack))
        comment = False
    return found


def test_every_value_has_a_doc_comment():
    assert sorted(set(LEAVES) - commented_keys()) == []


def test_leaves_are_found():
    # Guard against a parser that finds nothing and so can never fail.
    assert {
        "image.repository",
        "backfill.auth.bearerToken.secretName",
        "sampleFlowCollector.spec",
    } <= set(LEAVES)
    assert len(LEAVES) > 60


def test_helm_doc_table_lists_every_value():
    table = {
        match[1]
        for match in re.finditer(r"^\| `([^`]+)` \|", HELM_DOC.read_text(), flags=re.MULTILINE)
    }
    assert sorted(set(LEAVES) - table) == [], "keys missing from docs/helm.md"
    assert sorted(table - set(LEAVES)) == [], "docs/helm.md lists keys values.yaml does not have"

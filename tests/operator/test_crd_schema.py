"""The FlowCollector CRD: its names, its schema against good and bad samples, its CEL rules, and
the reference page generated from it.

The API server is not available here, so the schema is exercised the way it would be: defaults
applied top-down, the OpenAPI part checked with jsonschema (unknown fields refused, as kubectl's
default strict field validation does), the CEL rules evaluated with cel-python. parse_spec must
refuse every bad sample too, naming the same field.

Regenerate the reference page after changing the CRD: `.venv/bin/python -m
tests.operator.test_crd_schema`.
"""

import copy
import functools
import json
import pathlib
import re
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import pytest
import yaml
from flowkeeper.operator.model.config import check_config
from flowkeeper.operator.model.errors import SpecError
from flowkeeper.operator.model.spec import check_name, parse_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "flowcollector.yaml"
DOC_PATH = ROOT / "docs" / "flowcollector-reference.md"
SAMPLES = pathlib.Path(__file__).parent / "samples"
GOOD = sorted((SAMPLES / "good").glob("*.yaml"))
BAD = sorted((SAMPLES / "bad").glob("*.yaml"))
BEGIN = "<!-- BEGIN GENERATED from crds/flowcollector.yaml -->"
END = "<!-- END GENERATED -->"
ANNOTATION = "test.flowkeeper.dev/"


@functools.cache
def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


def schema() -> dict[str, Any]:
    return crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def load(path: pathlib.Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def expectation(sample: dict[str, Any], key: str) -> str | None:
    return sample["metadata"].get("annotations", {}).get(ANNOTATION + key)


# --- the API server's behaviour, emulated ------------------------------------------------


def to_jsonschema(node: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """OpenAPI v3 as the API server reads it -> plain JSON Schema (unknown fields refused,
    except in metadata, whose schema only restricts the name)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {
                name: to_jsonschema(sub, strict=name != "metadata") for name, sub in value.items()
            }
        elif key in {"items", "additionalProperties"} and isinstance(value, dict):
            out[key] = to_jsonschema(value)
        elif key in {"anyOf", "allOf", "oneOf"}:
            out[key] = [to_jsonschema(sub) for sub in value]
        else:
            out[key] = value
    if strict and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def apply_defaults(node: dict[str, Any], value: Any) -> Any:
    """Structural defaulting: top-down, so a defaulted {} receives its properties' defaults."""
    value = copy.deepcopy(value)
    if isinstance(value, dict):
        for name, sub in node.get("properties", {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(sub, value[name])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for name in set(value) - set(node.get("properties", {})):
                value[name] = apply_defaults(extra, value[name])
    elif isinstance(value, list) and "items" in node:
        value = [apply_defaults(node["items"], item) for item in value]
    return value


def schema_errors(obj: dict[str, Any]) -> set[str]:
    """Fields jsonschema refuses, named like SpecError fields (spec.listeners[0].port)."""
    validator = jsonschema.Draft7Validator(to_jsonschema(schema()))
    fields = set()
    for error in validator.iter_errors(obj):
        path = field_name(error.absolute_path)
        if error.validator == "required":
            missing = re.match(r"'([^']+)' is a required property", error.message)
            assert missing is not None
            path = join(path, missing.group(1))
        elif error.validator == "additionalProperties":
            path = join(path, re.findall(r"'([^']+)'", error.message)[0])
        fields.add(path)
    return fields


def field_name(path: Any) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


@functools.cache
def cel_program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def cel_rules(node: dict[str, Any], path: str = "") -> list[tuple[str, str, str]]:
    """Every (schema path, rule, message) in the schema."""
    found = [(path, r["rule"], r["message"]) for r in node.get("x-kubernetes-validations", [])]
    for name, sub in node.get("properties", {}).items():
        found += cel_rules(sub, join(path, name))
    if "items" in node:
        found += cel_rules(node["items"], path + "[]")
    return found


def cel_failures(node: dict[str, Any], value: Any) -> list[str]:
    """Messages of the CEL rules the (defaulted) value breaks, as the API server evaluates them."""
    failed = [
        rule["message"]
        for rule in node.get("x-kubernetes-validations", [])
        if not cel_program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value)})
    ]
    if isinstance(value, dict):
        for name, sub in node.get("properties", {}).items():
            if name in value:
                failed += cel_failures(sub, value[name])
    elif isinstance(value, list) and "items" in node:
        for item in value:
            failed += cel_failures(node["items"], item)
    return failed


def admit(obj: dict[str, Any]) -> tuple[set[str], list[str]]:
    """(schema errors, CEL failures) of an object, after defaulting: what a create would see."""
    defaulted = apply_defaults(schema(), obj)
    errors = schema_errors(defaulted)
    return errors, ([] if errors else cel_failures(schema(), defaulted))


def operator_check(obj: dict[str, Any]) -> str | None:
    """The field parse_spec/check_name/check_config refuse, or None (as the operator does)."""
    try:
        check_name(obj["metadata"]["name"])
        check_config(parse_spec(obj["spec"]))
    except SpecError as error:
        return error.field
    return None


# --- the reference page --------------------------------------------------------------------


def describe_type(node: dict[str, Any]) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "int or string"
    if node.get("x-kubernetes-preserve-unknown-fields"):
        return "object (free-form)"
    if node.get("type") == "array":
        return f"array of {describe_type(node['items'])}"
    if isinstance(node.get("additionalProperties"), dict):
        return f"map of {describe_type(node['additionalProperties'])}"
    return str(node["type"])


def bounds(node: dict[str, Any], low_key: str, high_key: str, unit: str) -> list[str]:
    low, high = node.get(low_key), node.get(high_key)
    if low is not None and high is not None:
        return [f"{low}..{high} {unit}"]
    if high is not None:
        return [f"at most {high} {unit}"]
    return [f"at least {low} {unit}"] if low is not None else []


def describe_rules(node: dict[str, Any], required: bool) -> str:
    rules = ["required"] if required else []
    if "enum" in node:
        rules.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None or high is not None:
        rules.append(f"{low}..{high}" if high is not None else f">= {low}")
    rules += bounds(node, "minItems", "maxItems", "items")
    rules += bounds(node, "minLength", "maxLength", "characters")
    if "format" in node:
        rules.append(f"format {node['format']}")
    if "pattern" in node:
        rules.append(f"pattern `{node['pattern']}`")
    return "; ".join(rules)


def html(text: str) -> str:
    return text.replace("<", "&lt;")


def describe_default(node: dict[str, Any]) -> str:
    if "default" not in node:
        return ""
    return f"`{json.dumps(node['default'])}`"


def reference_rows(node: dict[str, Any], path: str) -> list[str]:
    rows = []
    required = set(node.get("required", []))
    for name, sub in node.get("properties", {}).items():
        field = join(path, name)
        cells = [
            f"`{field}`",
            describe_type(sub),
            describe_default(sub),
            describe_rules(sub, name in required),
            html(" ".join(sub["description"].split())),
        ]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        target = sub["items"] if sub.get("type") == "array" else sub
        rows += reference_rows(target, field + ("[]" if sub.get("type") == "array" else ""))
    return rows


def render_reference() -> str:
    version = crd()["spec"]["versions"][0]
    header = "| Field | Type | Default | Validation | Description |\n|---|---|---|---|---|\n"
    parts = []
    for top in ("spec", "status"):
        rows = reference_rows(schema()["properties"][top], top)
        parts.append(f"### {top}\n\n{header}" + "\n".join(rows) + "\n")
    rules = "\n".join(
        f"- `{path or '(object)'}`: {html(' '.join(message.split()))}  \n"
        f"  rule: `{' '.join(rule.split())}`"
        for path, rule, message in cel_rules(schema())
    )
    parts.append(f"### Validation rules (CEL)\n\n{rules}\n")
    columns = "\n".join(
        f"| {column['name']} | `{column['jsonPath']}` |"
        for column in version["additionalPrinterColumns"]
    )
    parts.append(f"### `kubectl get fc` columns\n\n| Column | From |\n|---|---|\n{columns}\n")
    return "\n".join(parts)


def generated_section(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def regenerate() -> None:
    text = DOC_PATH.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC_PATH.write_text(text[:start] + "\n" + render_reference() + "\n" + text[end:])


# --- the tests -----------------------------------------------------------------------------


def test_crd_names_and_version():
    spec = crd()["spec"]
    assert crd()["metadata"]["name"] == "flowcollectors.flows.flowkeeper.dev"
    assert spec["group"] == "flows.flowkeeper.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "FlowCollector",
        "listKind": "FlowCollectorList",
        "plural": "flowcollectors",
        "singular": "flowcollector",
        "shortNames": ["fc"],
        "categories": ["flowkeeper"],
    }
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_printer_columns():
    columns = crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"], c["jsonPath"]) for c in columns] == [
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        ("Nodes", "string", ".status.nodes"),
        ("Address", "string", ".status.serviceAddresses[0]"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]


def test_crd_validates_against_kubernetes_schema():
    assert kubernetes_validate.validate(crd(), "1.31", strict=True) == "1.31"


def walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, sub in node.get("properties", {}).items():
        found += walk(sub, join(path, name))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += walk(node[key], f"{path}[{key}]")
    return found


@pytest.mark.parametrize(("path", "node"), walk(schema()["properties"]["spec"], "spec"))
def test_spec_schema_is_structural_and_described(path, node):
    assert "type" in node or node.get("x-kubernetes-int-or-string"), path
    if node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields"):
        assert "properties" in node or "additionalProperties" in node, path
    if not path.endswith("]"):
        assert node.get("description"), f"{path} has no description"


def test_status_schema_is_described():
    for path, node in walk(schema()["properties"]["status"], "status"):
        assert path.endswith("]") or node.get("description"), path


def test_unknown_fields_are_kept_only_where_free_form():
    kept = [
        path for path, node in walk(schema()) if node.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert kept == ["spec.listeners[items].config", "spec.affinity", "spec.config"]


def test_name_fits_the_children():
    # A schema restriction, not a CEL rule: metadata.name has no maxLength the API server's CEL
    # cost estimator could use.
    assert schema()["properties"]["metadata"] == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 55, "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$"}
        },
    }


@pytest.mark.parametrize(
    ("path", "key", "bound"),
    [
        # The CEL rules iterate the listeners and read their names: the API server estimates
        # their cost from these bounds and refuses the CRD without them.
        ("spec.listeners", "maxItems", 16),
        ("spec.listeners[items].name", "maxLength", 15),
    ],
)
def test_cel_inputs_are_bounded(path, key, bound):
    assert dict(walk(schema()))[path][key] == bound


def test_cel_rules_exist():
    assert [(path, rule) for path, rule, _ in cel_rules(schema())] == [
        (
            "spec",
            "!has(self.metrics) || !self.metrics.enabled || "
            "self.listeners.all(l, l.port != self.metrics.port)",
        ),
        ("spec.listeners", "self.all(l, self.exists_one(m, m.name == l.name))"),
        ("spec.listeners", "self.all(l, self.exists_one(m, m.port == l.port))"),
        ("spec.listeners[].name", "self.matches('[a-z]')"),
        ("spec.listeners[].name", "self != 'metrics'"),
        ("spec.nats.tls", "(self.certKey == '') == (self.keyKey == '')"),
        ("spec.nats.tls", "self.caKey != '' || self.certKey != ''"),
        (
            "spec.service",
            "!has(self.loadBalancerIP) || self.loadBalancerIP == '' || self.type == 'LoadBalancer'",
        ),
    ]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_samples_are_admitted_and_parsed(path):
    sample = load(path)
    assert admit(sample) == (set(), [])
    assert operator_check(sample) is None


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_samples_are_refused_naming_the_field(path):
    sample = load(path)
    field = expectation(sample, "field")
    errors, failures = admit(sample)
    match expectation(sample, "rejected-by"):
        case "schema":
            assert field in errors
        case "cel":
            assert errors == set()
            assert failures == [expectation(sample, "cel-message")]
        case "operator":
            assert (errors, failures) == (set(), [])
        case other:
            pytest.fail(f"unknown rejected-by {other!r}")
    assert operator_check(sample) == field


def test_defaults_fill_an_empty_spec():
    minimal = load(SAMPLES / "good" / "minimal.yaml")
    assert apply_defaults(schema(), minimal)["spec"] == {
        **minimal["spec"],
        "imagePullPolicy": "IfNotPresent",
        "metrics": {"enabled": True, "port": 50046},
        "nats": {
            "url": "nats://nats:4222",
            "subject": "flows",
            "stream": {
                "name": "events",
                "subjects": [],
                "maxBytes": 10737418240,
                "replicas": 1,
            },
        },
        "service": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
        "hostNetwork": False,
    }


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_parse_spec_applies_the_crd_defaults(path):
    # Whether the API server defaulted the object or not, the operator sees the same spec.
    spec = load(path)["spec"]
    assert parse_spec(spec) == parse_spec(apply_defaults(schema()["properties"]["spec"], spec))


def test_template_store_defaults_match():
    spec = load(SAMPLES / "good" / "host-network.yaml")["spec"]
    defaulted = apply_defaults(schema()["properties"]["spec"], spec)
    assert defaulted["templateStore"] == {
        "kvBucket": "border-templates",
        "kvHistory": 1,
        "kvTtlSeconds": 0,
    }
    assert parse_spec(spec)["templateStore"] == {**defaulted["templateStore"], "natsUrl": ""}


def test_reference_page_is_generated_from_the_crd():
    assert generated_section(DOC_PATH.read_text()) == render_reference(), (
        "docs/flowcollector-reference.md is stale: "
        "run .venv/bin/python -m tests.operator.test_crd_schema"
    )


def test_reference_page_lists_every_field():
    text = DOC_PATH.read_text()
    fields = [
        path.replace("[items]", "[]")
        for path, _ in walk(schema())
        if path.startswith(("spec.", "status."))
        and not path.endswith("]")
        and "[additionalProperties]" not in path
    ]
    assert len(fields) == 66
    assert [path for path in fields if f"| `{path}` |" not in text] == []


if __name__ == "__main__":
    regenerate()

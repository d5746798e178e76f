"""Rendering the chart offline and picking objects out of the result."""

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "flowkeeper"
SCENARIO_DIR = CHART_DIR / "ci"
SCENARIOS = sorted(path.name for path in SCENARIO_DIR.glob("*.yaml"))
NAMESPACE = "flows"
RELEASE = "fk"
# Helm's own limit on release names is 53 characters.
LONG_RELEASE = "a-release-name-of-the-longest-length-helm-allows-1234"
assert len(LONG_RELEASE) == 53

Manifest = dict[str, Any]


@functools.cache
def chart() -> helm.Chart:
    return helm.Chart.load(CHART_DIR)


def scenario_values(scenario: str) -> dict[str, Any]:
    return yaml.safe_load((SCENARIO_DIR / scenario).read_text()) or {}


def render_files(
    values: dict[str, Any] | None = None, *, release: str = RELEASE, revision: int = 1
) -> dict[str, str]:
    return chart().render(values=values, name=release, namespace=NAMESPACE, revision=revision)


def render(
    values: dict[str, Any] | None = None, *, release: str = RELEASE, revision: int = 1
) -> list[Manifest]:
    """Every object the chart renders (NOTES.txt left out)."""
    return [
        doc
        for path, text in sorted(render_files(values, release=release, revision=revision).items())
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def notes(values: dict[str, Any] | None = None) -> str:
    files = render_files(values)
    return next(text for path, text in files.items() if path.endswith("NOTES.txt"))


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, got {[m['metadata']['name'] for m in found]}"
    return found[0]


def by_component(manifests: list[Manifest], kind: str, component: str) -> Manifest:
    found = [
        m
        for m in of_kind(manifests, kind)
        if m["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {component} {kind}, got {len(found)}"
    return found[0]


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(object name, pod template) of every workload."""
    for m in manifests:
        kind, spec = m["kind"], m.get("spec", {})
        if kind in {"Deployment", "DaemonSet", "StatefulSet", "Job"}:
            yield f"{kind}/{m['metadata']['name']}", spec["template"]
        elif kind == "CronJob":
            yield f"{kind}/{m['metadata']['name']}", spec["jobTemplate"]["spec"]["template"]


def rules(role: Manifest) -> set[tuple[str, str, str]]:
    """An RBAC role flattened to (apiGroup, resource, verb) triples."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }

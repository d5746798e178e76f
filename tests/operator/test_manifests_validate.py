"""Every child the builders render is a valid Kubernetes 1.31 object (strict: no unknown fields)."""

import pathlib

import kubernetes_validate
import pytest
import yaml
from flowkeeper.operator.model.manifests import build_children
from flowkeeper.operator.model.spec import parse_spec

KUBERNETES = "1.31"
SAMPLES = sorted((pathlib.Path(__file__).parent / "samples" / "good").glob("*.yaml"))
KINDS = ["configmap", "daemonset", "service", "metrics_service"]


def rendered():
    for path in SAMPLES:
        sample = yaml.safe_load(path.read_text())
        spec = parse_spec(sample["spec"])
        built = build_children(name=sample["metadata"]["name"], namespace="netflow", spec=spec)
        for kind in KINDS:
            if getattr(built, kind) is not None:
                yield pytest.param(getattr(built, kind), id=f"{path.stem}-{kind}")


@pytest.mark.parametrize("manifest", list(rendered()))
def test_child_validates_strictly(manifest):
    assert kubernetes_validate.validate(manifest, KUBERNETES, strict=True) == KUBERNETES


def test_every_kind_is_covered():
    ids = [param.id for param in rendered()]
    assert {i.rsplit("-", 1)[-1] for i in ids} >= {"configmap", "daemonset", "service"}
    assert any(i.endswith("metrics_service") for i in ids)
    assert any(i.startswith("host-network") for i in ids)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["spec", "template", "spec", "containers", 0, "probe"], {}),
        (["spec", "updateStrategy", "type"], 1),
    ],
    ids=["unknown-field", "wrong-type"],
)
def test_validator_catches_a_broken_daemonset(path, value):
    sample = yaml.safe_load(SAMPLES[0].read_text())
    manifest = build_children(
        name="edge", namespace="netflow", spec=parse_spec(sample["spec"])
    ).daemonset
    target = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)

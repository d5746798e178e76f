"""The chart ships the one CRD, and its sample FlowCollector passes the CRD's own schema."""

import helm_python as helm
import jsonschema
import pytest
import yaml

from tests.chart.helpers import CHART_DIR, ROOT, chart, one, render, scenario_values

SOURCE = ROOT / "crds" / "flowcollector.yaml"
COPY = CHART_DIR / "crds" / "flowcollector.yaml"


def crd_schema():
    crd = yaml.safe_load(SOURCE.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return version["schema"]["openAPIV3Schema"]


def test_chart_crd_is_identical_to_the_source():
    assert COPY.read_bytes() == SOURCE.read_bytes(), (
        "charts/flowkeeper/crds/flowcollector.yaml drifted: cp crds/flowcollector.yaml "
        "charts/flowkeeper/crds/"
    )


def test_chart_ships_only_that_crd():
    crds = chart().crds
    assert [c["filename"] for c in crds] == ["flowkeeper/crds/flowcollector.yaml"]
    assert crds[0]["data"].encode() == SOURCE.read_bytes()


@pytest.mark.parametrize(
    "values",
    [
        {"sampleFlowCollector": {"enabled": True}},
        scenario_values("servicemonitor-sample-values.yaml"),
        scenario_values("long-names-values.yaml"),
    ],
)
def test_sample_flow_collector_passes_the_crd_schema(values):
    sample = one(render(values), "FlowCollector")
    crd = yaml.safe_load(SOURCE.read_text())
    assert sample["apiVersion"] == f"{crd['spec']['group']}/v1alpha1"
    assert sample["kind"] == crd["spec"]["names"]["kind"]
    jsonschema.Draft7Validator(crd_schema()).validate(sample)


def test_crd_schema_check_can_fail():
    sample = one(render({"sampleFlowCollector": {"enabled": True}}), "FlowCollector")
    sample["spec"]["listeners"][0]["protocol"] = "jflow"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(crd_schema()).validate(sample)


def test_sample_must_be_in_a_watched_namespace():
    values = {"sampleFlowCollector": {"enabled": True}, "watchNamespaces": ["elsewhere"]}
    with pytest.raises(helm.HelmRenderError, match="watchNamespaces leaves out"):
        render(values)

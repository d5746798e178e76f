"""A CRD schema's ``default`` and ``example`` are raw JSON: stored as sent, empty values too."""

import yaml

from e2e.apiserver import normalize
from tests.chart.helpers import CHART_DIR


def test_schema_defaults_survive_storage() -> None:
    schema = {
        "type": "object",
        "properties": {
            "subjects": {"type": "array", "items": {"type": "string"}, "default": []},
            "tls": {"type": "object", "default": {}},
            "enabled": {"type": "boolean", "default": False},
            "prefix": {"type": "string", "default": "", "example": ""},
            "empty": {"type": "array", "items": {"type": "string"}, "enum": []},
        },
    }
    crd = {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]}}
    stored = normalize.prune_top(crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    properties = stored["properties"]
    assert properties["subjects"]["default"] == []
    assert properties["tls"]["default"] == {}
    assert properties["enabled"]["default"] is False
    assert (properties["prefix"]["default"], properties["prefix"]["example"]) == ("", "")
    assert "enum" not in properties["empty"]  # omitempty still applies elsewhere


def test_the_chart_crd_is_stored_as_applied() -> None:
    crd = yaml.safe_load((CHART_DIR / "crds" / "flowcollector.yaml").read_text())
    assert normalize.prune_top(crd)["spec"] == crd["spec"]

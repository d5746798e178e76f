"""Helm 4 (helm-python-sdk) installs, upgrades, rolls back and uninstalls with server-side apply.

A throwaway chart (a ConfigMap and a Service, no ``crds/``). Helm validates what it renders
against the server's ``/openapi/v2`` first. The release history is kept in memory
(``storage_driver="memory"``), so that only the chart's objects are written here; Helm's
release Secrets (protobuf bodies, protobuf.py) go through e2e/test_journey.py's installs.
"""

import asyncio
from pathlib import Path
from typing import Any

import helm_python as helm

CHART = "apiVersion: v2\nname: tiny\nversion: 0.1.0\n"
TEMPLATES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: tiny
  labels: {app: tiny}
data:
  value: {{ .Values.value | quote }}
{{- if .Values.extra }}
  extra: {{ .Values.extra | quote }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: tiny
spec:
  selector: {app: tiny}
  ports:
    - {name: http, port: 80}
{{- if .Values.extra }}
    - {name: extra, port: 81}
{{- end }}
"""
CM = "/api/v1/namespaces/ns/configmaps/tiny"


def chart(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(CHART)
    (root / "values.yaml").write_text('value: "1"\n')
    (root / "templates" / "tiny.yaml").write_text(TEMPLATES)
    return root


def appliers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"]]


async def test_helm_install_upgrade_rollback_uninstall(k8s, http, tmp_path: Path):
    path = chart(tmp_path / "tiny")
    config = helm.Config(kubeconfig_path=k8s.kubeconfig, namespace="ns", storage_driver="memory")
    await asyncio.to_thread(config.install, path, "tiny")
    installed = k8s.object("configmaps", "ns", "tiny")
    assert installed["data"] == {"value": "1"}
    [(manager, operation)] = appliers(installed)
    assert operation == "Apply"
    assert appliers(k8s.object("services", "ns", "tiny")) == [(manager, "Apply")]

    # Another writer's label (an Update) survives Helm's applies: Helm does not own it.
    await http.patch(f"{CM}?fieldManager=labeller", {"metadata": {"labels": {"team": "a"}}})
    await asyncio.to_thread(config.upgrade, path, "tiny", {"value": "2", "extra": "x"})
    upgraded = k8s.object("configmaps", "ns", "tiny")
    assert upgraded["data"] == {"value": "2", "extra": "x"}
    assert upgraded["metadata"]["labels"]["team"] == "a"
    ports = k8s.object("services", "ns", "tiny")["spec"]["ports"]
    assert [p["name"] for p in ports] == ["http", "extra"]

    # Rolling back applies revision 1 again: what only Helm applied and revision 1 lacks goes.
    await asyncio.to_thread(config.rollback, "tiny")
    rolled = k8s.object("configmaps", "ns", "tiny")
    assert rolled["data"] == {"value": "1"}
    assert rolled["metadata"]["labels"] == {
        "app": "tiny",
        "app.kubernetes.io/managed-by": "Helm",
        "team": "a",
    }
    assert [p["name"] for p in k8s.object("services", "ns", "tiny")["spec"]["ports"]] == ["http"]
    assert sorted(appliers(rolled)) == sorted([(manager, "Apply"), ("labeller", "Update")])

    await asyncio.to_thread(config.uninstall, "tiny")
    for _ in range(50):  # Helm deletes and returns; the emulator answers at once
        if k8s.object("configmaps", "ns", "tiny") is None:
            break
        await asyncio.sleep(0.02)
    assert k8s.object("configmaps", "ns", "tiny") is None
    assert k8s.object("services", "ns", "tiny") is None

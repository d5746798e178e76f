"""Every pod runs under the restricted Pod Security Standard and every image is configurable."""

import pytest
import yaml

from tests.chart.helpers import CHART_DIR, SCENARIOS, of_kind, pod_specs, render, scenario_values

EVERYTHING_ON = scenario_values("long-names-values.yaml")
# The default tag is the chart's appVersion (the package's version: tests/test_version.py).
APP_VERSION = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]


def workloads(scenario):
    values = EVERYTHING_ON if scenario is None else scenario_values(scenario)
    found = list(pod_specs(render(values)))
    assert found
    return found


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_pods_are_restricted(scenario):
    for name, template in workloads(scenario):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 65532, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host_namespace), name
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["runAsNonRoot"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context.get("privileged", False) is False, name


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_read_only_root_has_a_writable_tmp(scenario):
    for name, template in workloads(scenario):
        pod = template["spec"]
        emptydirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1, name
            assert tmp[0]["name"] in emptydirs, name
            assert not tmp[0].get("readOnly"), name


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_tokens_are_mounted_only_by_the_pods_that_call_the_api(scenario):
    manifests = render(EVERYTHING_ON if scenario is None else scenario_values(scenario))
    for account in of_kind(manifests, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    for name, template in pod_specs(manifests):
        assert template["spec"]["automountServiceAccountToken"] is True, name


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_no_pod_gets_service_link_variables(scenario):
    """Both programs refuse unknown FLOWKEEPER_* variables, and kubelet's Service links
    (pkg/kubelet/envvars) would make one of a Service named after the release, e.g. release
    flowkeeper-backfill: FLOWKEEPER_BACKFILL_METRICS_SERVICE_HOST in the backfill's pod."""
    for name, template in workloads(scenario):
        assert template["spec"]["enableServiceLinks"] is False, name


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({}, f"ghcr.io/flowkeeper/flowkeeper:{APP_VERSION}"),
        ({"repository": "mirror.example/fk", "tag": "9.9.9"}, "mirror.example/fk:9.9.9"),
        (
            {"repository": "mirror.example:5000/fk", "digest": "sha256:" + "ab" * 32},
            "mirror.example:5000/fk@sha256:" + "ab" * 32,
        ),
    ],
)
def test_every_container_uses_the_configured_image(image, expected):
    values = {**EVERYTHING_ON, "image": {**image, "pullPolicy": "Always"}}
    containers = [
        container
        for _, template in pod_specs(render(values))
        for container in template["spec"]["containers"] + template["spec"].get("initContainers", [])
    ]
    assert len(containers) == 3
    for container in containers:
        assert container["image"] == expected
        assert container["imagePullPolicy"] == "Always"


def test_pull_secrets_reach_every_pod():
    values = {**EVERYTHING_ON, "imagePullSecrets": [{"name": "regcred"}]}
    for name, template in pod_specs(render(values)):
        assert template["spec"]["imagePullSecrets"] == [{"name": "regcred"}], name

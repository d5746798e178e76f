"""Names stay within Kubernetes limits, and selectors survive chart upgrades."""

import pytest

from tests.chart.helpers import LONG_RELEASE, RELEASE, SCENARIOS, render, scenario_values

RELEASES = [RELEASE, "flowkeeper", LONG_RELEASE]
# The CronJob controller appends "-<10 digits>" to the Job names it creates.
CRONJOB_NAME_LIMIT = 52
SUFFIXES = {
    ("Service", "operator"): "-metrics",
    ("CronJob", "backfill"): "-backfill",
    ("ServiceAccount", "backfill"): "-backfill",
    ("ClusterRole", "backfill"): "-backfill",
}


def manifests_for(scenario, release):
    return render(scenario_values(scenario), release=release)


def component(manifest):
    return manifest["metadata"]["labels"].get("app.kubernetes.io/component")


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_names_fit_and_keep_their_suffix(scenario, release):
    seen = set()
    for manifest in manifests_for(scenario, release):
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        limit = CRONJOB_NAME_LIMIT if kind == "CronJob" else 63
        assert len(name) <= limit, f"{kind}/{name}"
        assert not name.endswith("-"), f"{kind}/{name}"
        suffix = SUFFIXES.get((kind, component(manifest)))
        if suffix:
            assert name.endswith(suffix), f"{kind}/{name}"
        assert (kind, name) not in seen, f"{kind}/{name} rendered twice"
        seen.add((kind, name))
        for value in manifest["metadata"]["labels"].values():
            assert len(value) <= 63, f"{kind}/{name}: label value {value}"


@pytest.mark.parametrize("release", RELEASES)
def test_install_job_name_fits_with_its_hash(release):
    for manifest in manifests_for("long-names-values.yaml", release):
        if manifest["kind"] == "Job":
            name = manifest["metadata"]["name"]
            assert len(name) <= 63
            assert name.rsplit("-", 1)[0].endswith("-backfill")
            assert len(name.rsplit("-", 1)[1]) == 8


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_selectors_are_stable_and_match_their_pods(scenario, release):
    for manifest in manifests_for(scenario, release):
        selector = None
        if manifest["kind"] == "Deployment":
            selector = manifest["spec"]["selector"]["matchLabels"]
            pod_labels = manifest["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items()
        elif manifest["kind"] == "Service":
            selector = manifest["spec"]["selector"]
        elif manifest["kind"] == "ServiceMonitor":
            selector = manifest["spec"]["selector"]["matchLabels"]
        if selector is not None:
            assert "helm.sh/chart" not in selector
            assert "app.kubernetes.io/version" not in selector
            assert selector["app.kubernetes.io/instance"] == release


def test_long_release_names_are_cut_not_refused():
    names = {m["kind"]: m["metadata"]["name"] for m in render(release=LONG_RELEASE)}
    assert names["Deployment"] == f"{LONG_RELEASE}-flowkeeper"[:63]


def test_release_named_like_the_chart_is_not_doubled():
    names = {m["kind"]: m["metadata"]["name"] for m in render(release="flowkeeper")}
    assert names["Deployment"] == "flowkeeper"


def test_own_deployment_is_never_taken_for_a_legacy_collector():
    # The operator deletes Deployments labelled app.kubernetes.io/name=flow-collector.
    for scenario in SCENARIOS:
        for manifest in manifests_for(scenario, RELEASE):
            labels = manifest["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] != "flow-collector"

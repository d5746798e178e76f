"""The backfill CronJob and install-time Job: policy, arguments, mounts, and upgrade safety."""

import helm_python as helm
import kubernetes_validate
import pytest
from flowkeeper.backfill.settings import parse_settings

from tests.chart.helpers import of_kind, one, render, scenario_values

DRY_RUN = {"backfill": {"enabled": True, "dryRun": True}}
MIMIR = scenario_values("backfill-mimir-values.yaml")
BASIC = scenario_values("backfill-basic-auth-values.yaml")


def job_spec(values):
    return one(render(values), "CronJob")["spec"]["jobTemplate"]["spec"]


def container(spec):
    (only,) = spec["template"]["spec"]["containers"]
    return only


def with_backfill(base, **changes):
    return {**base, "backfill": {**base["backfill"], **changes}}


def test_cron_job_policy_defaults():
    cron = one(render(DRY_RUN), "CronJob")["spec"]
    assert cron["schedule"] == "0 * * * *"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["successfulJobsHistoryLimit"] == 3
    assert cron["failedJobsHistoryLimit"] == 1
    assert cron["startingDeadlineSeconds"] == 300
    assert cron["suspend"] is False
    assert "timeZone" not in cron
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 2
    assert job["activeDeadlineSeconds"] == 3600
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_cron_job_policy_from_values():
    cron = one(render(BASIC), "CronJob")["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["suspend"] is True
    assert (cron["successfulJobsHistoryLimit"], cron["failedJobsHistoryLimit"]) == (1, 3)
    assert cron["startingDeadlineSeconds"] == 60
    job = cron["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (0, 600)
    assert one(render(MIMIR), "CronJob")["spec"]["timeZone"] == "Europe/Paris"


def test_mimir_arguments_and_mounts():
    spec = job_spec(MIMIR)
    main = container(spec)
    assert main["command"] == ["flowkeeper-backfill"]
    assert main["args"] == [
        "--remote-write-url=https://mimir.example.com/api/v1/push",
        "--metric-labels-allowlist=pods=[app,team],namespaces=[*],deployments=[*]",
        "--metric-annotations-allowlist=namespaces=[owner]",
        "--metric-prefix=kube",
        "--batch-size=500",
        "--page-size=500",
        "--external-label=cluster=prod-eu1",
        "--external-label=source=flowkeeper",
        "--header=X-Scope-OrgID=platform",
        "--bearer-token-file=/var/run/secrets/flowkeeper/bearer-token/token",
        "--ca-file=/etc/flowkeeper/ca/ca.crt",
        "--timeout=30",
        "--max-retry-seconds=300",
        "--log-format=json",
    ]
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["bearer-token"]["secret"] == {
        "secretName": "mimir-remote-write",
        "items": [{"key": "token", "path": "token"}],
    }
    assert volumes["ca"]["secret"] == {
        "secretName": "mimir-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    mounts = {m["name"]: m for m in main["volumeMounts"]}
    assert mounts["bearer-token"]["mountPath"] == "/var/run/secrets/flowkeeper/bearer-token"
    assert mounts["ca"]["mountPath"] == "/etc/flowkeeper/ca"
    assert all(m.get("readOnly") for name, m in mounts.items() if name != "tmp")
    assert spec["template"]["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    assert main["resources"] == MIMIR["backfill"]["resources"]


def test_basic_auth_arguments_and_mounts():
    spec = job_spec(BASIC)
    main = container(spec)
    assert main["args"] == [
        "--remote-write-url=https://vm.example.com/api/v1/write",
        "--resources=namespaces,pods,deployments,ingresses",
        "--metric-prefix=kube_meta",
        "--batch-size=2000",
        "--page-size=250",
        "--basic-auth-username=flowkeeper",
        "--basic-auth-password-file=/var/run/secrets/flowkeeper/basic-auth/password",
        "--ca-file=/etc/flowkeeper/ca/ca.crt",
        "--log-format=json",
        "--kubeconfig=/dev/null",
    ]
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["basic-auth"]["secret"]["items"] == [{"key": "password", "path": "password"}]
    assert volumes["ca"]["configMap"] == {
        "name": "corp-ca",
        "items": [{"key": "bundle.pem", "path": "ca.crt"}],
    }
    pod = spec["template"]["spec"]
    for key in ("nodeSelector", "tolerations", "affinity"):
        assert pod[key] == BASIC["backfill"][key], key
    assert main["env"] == BASIC["backfill"]["extraEnv"]
    assert spec["template"]["metadata"]["labels"]["team"] == "observability"


def test_dry_run_needs_no_receiver():
    args = container(job_spec(DRY_RUN))["args"]
    assert args[0] == "--dry-run"
    assert not [a for a in args if a.startswith("--remote-write-url")]


def test_secrets_are_referenced_never_inlined():
    rendered = render(MIMIR) + render(BASIC)
    assert not of_kind(rendered, "Secret")


@pytest.mark.parametrize(
    ("backfill", "message"),
    [
        (
            {
                "auth": {
                    "bearerToken": {"secretName": "a"},
                    "basicAuth": {"username": "u", "passwordSecretName": "b"},
                }
            },
            "not both",
        ),
        ({"tls": {"caSecretName": "a", "caConfigMapName": "b"}}, "not both"),
        (
            {"auth": {"basicAuth": {"username": "u"}}},
            "needs backfill.auth.basicAuth.passwordSecretName",
        ),
        ({"auth": {"basicAuth": {"passwordSecretName": "b"}}}, "basicAuth.username is required"),
    ],
)
def test_contradictory_auth_is_refused(backfill, message):
    values = {
        "backfill": {"enabled": True, "remoteWriteUrl": "http://prom:9090/api/v1/write", **backfill}
    }
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


def test_install_job_is_a_plain_job_not_a_hook():
    values = with_backfill(MIMIR)
    job = one(render(values), "Job")
    annotations = job["metadata"].get("annotations") or {}
    assert not [key for key in annotations if key.startswith("helm.sh/")]
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    cron_job_spec = job_spec(values)
    assert {k: v for k, v in job["spec"].items() if k != "ttlSecondsAfterFinished"} == cron_job_spec


def test_install_job_can_be_kept():
    job = one(render(with_backfill(MIMIR, ttlSecondsAfterFinished=None)), "Job")
    assert "ttlSecondsAfterFinished" not in job["spec"]


def test_install_job_only_with_run_on_install():
    assert not of_kind(render(with_backfill(MIMIR, runOnInstall=False)), "Job")


def install_job_name(values, revision=1):
    return one(render(values, revision=revision), "Job")["metadata"]["name"]


def test_install_job_name_follows_its_spec():
    base = install_job_name(MIMIR)
    assert base.startswith("fk-flowkeeper-backfill-")
    assert install_job_name(MIMIR) == base
    # `helm upgrade` with the same settings (and GitOps tools, which always render revision 1)
    # keep the Job: it runs once, not on every upgrade.
    assert install_job_name(MIMIR, revision=7) == base
    # The schedule belongs to the CronJob only: the Job keeps its name, so no new run.
    assert install_job_name(with_backfill(MIMIR, schedule="@daily")) == base
    # A changed Job spec is a new Job, never an in-place edit of an immutable template.
    assert install_job_name(with_backfill(MIMIR, batchSize=1000)) != base
    assert install_job_name({**MIMIR, "image": {"tag": "0.2.0"}}) != base


def test_one_shard_is_a_plain_job():
    spec = job_spec(DRY_RUN)
    assert not {"completionMode", "completions", "parallelism"} & set(spec)
    assert not any(arg.startswith("--shard") for arg in container(spec)["args"])


@pytest.mark.parametrize("shards", [2, 5])
def test_shards_run_as_an_indexed_job_all_at_once(shards):
    values = with_backfill(DRY_RUN, shards=shards, runOnInstall=True)
    rendered = render(values)
    cron_job = one(rendered, "CronJob")["spec"]["jobTemplate"]["spec"]
    for spec in (cron_job, one(rendered, "Job")["spec"]):
        assert spec["completionMode"] == "Indexed"
        assert (spec["completions"], spec["parallelism"]) == (shards, shards)
        args = container(spec)["args"]
        # The index is JOB_COMPLETION_INDEX, which Kubernetes sets in each pod of the Job.
        assert f"--shard-count={shards}" in args
        assert not any(arg.startswith("--shard-index") for arg in args)
    for manifest in (one(rendered, "CronJob"), one(rendered, "Job")):
        kubernetes_validate.validate(manifest, "1.29", strict=True)


@pytest.mark.parametrize("shards", [0, 1001, "2"])
def test_shards_out_of_range_are_refused_by_the_schema(shards):
    with pytest.raises(helm.HelmError, match="shards"):
        render(with_backfill(DRY_RUN, shards=shards))


@pytest.mark.parametrize("labels", ["*=[*]", "pods=[app]", "*=[]", ""])
def test_labels_allowlist_means_what_it_means_to_the_program(labels):
    # One meaning (issue 16, item 3): the chart's value, as the arguments it renders, is
    # what the same string is to the program; before, the chart read "" as `*=[*]`.
    annotations = "pods=[note]"
    values = with_backfill(
        DRY_RUN, metricLabelsAllowlist=labels, metricAnnotationsAllowlist=annotations
    )
    from_chart = parse_settings(container(job_spec(values))["args"], {})
    from_cli = parse_settings(
        [
            "--dry-run",
            f"--metric-labels-allowlist={labels}",
            f"--metric-annotations-allowlist={annotations}",
        ],
        {},
    )
    assert from_chart.labels_allowlist == from_cli.labels_allowlist
    assert from_chart.annotations_allowlist == from_cli.annotations_allowlist


def test_empty_labels_allowlist_exports_no_labels():
    values = with_backfill(DRY_RUN, metricLabelsAllowlist="", metricAnnotationsAllowlist="pods=[a]")
    settings = parse_settings(container(job_spec(values))["args"], {})
    assert not settings.labels_allowlist.for_kind("pods").emits


def test_default_labels_allowlist_is_every_label():
    settings = parse_settings(container(job_spec(DRY_RUN))["args"], {})
    assert settings.labels_allowlist.for_kind("pods").allow_all


def test_allowlists_that_export_nothing_are_refused():
    values = with_backfill(DRY_RUN, metricLabelsAllowlist="", metricAnnotationsAllowlist="")
    with pytest.raises(helm.HelmRenderError, match="the backfill would export nothing"):
        render(values)

import pytest
from flowkeeper.backfill.cli import main
from flowkeeper.backfill.errors import UsageError
from flowkeeper.backfill.kinds import DEFAULT_RESOURCES
from flowkeeper.backfill.settings import parse_settings
from flowkeeper.backfill.sharding import Shard

URL = "http://receiver:8428/api/v1/write"


def test_defaults():
    settings = parse_settings([f"--remote-write-url={URL}"], {})
    assert settings.resources == DEFAULT_RESOURCES
    assert settings.metric_prefix == "kube"
    assert (settings.batch_size, settings.page_size) == (500, 500)
    assert settings.labels_allowlist.for_kind("pods").allow_all
    assert settings.annotations_allowlist.for_kind("pods").select({"a": "b"}) == {}
    assert settings.dry_run is False
    assert settings.log_format == "plain"
    assert (settings.timeout, settings.max_retry_seconds) == (30, 120)
    assert (settings.max_label_value_length, settings.max_labels_per_series) == (2048, 0)


def test_job_is_free_as_an_external_label():
    # `job` is Prometheus's own target label; the Job kind's identity is `job_name`.
    settings = parse_settings([f"--remote-write-url={URL}", "--external-label=job=backfill"], {})
    assert settings.external_labels == (("job", "backfill"),)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, Shard(0, 1)),
        (["--shard-count=4", "--shard-index=3"], {}, Shard(3, 4)),
        ([], {"FLOWKEEPER_BACKFILL_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "2"}, Shard(2, 4)),
        (
            ["--shard-index=1"],
            {"FLOWKEEPER_BACKFILL_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "2"},
            Shard(1, 4),
        ),
        (
            [],
            {"FLOWKEEPER_BACKFILL_SHARD_COUNT": "4", "FLOWKEEPER_BACKFILL_SHARD_INDEX": "0"},
            Shard(0, 4),
        ),
    ],
)
def test_shard_from_flags_then_environment_then_job_completion_index(argv, environ, expected):
    assert parse_settings(["--dry-run", *argv], environ).shard == expected


def test_every_flag_has_an_environment_variable():
    environ = {
        "FLOWKEEPER_BACKFILL_REMOTE_WRITE_URL": URL,
        "FLOWKEEPER_BACKFILL_RESOURCES": "pods, nodes",
        "FLOWKEEPER_BACKFILL_METRIC_LABELS_ALLOWLIST": "pods=[app]",
        "FLOWKEEPER_BACKFILL_METRIC_ANNOTATIONS_ALLOWLIST": "*=[*]",
        "FLOWKEEPER_BACKFILL_METRIC_PREFIX": "k8s",
        "FLOWKEEPER_BACKFILL_BATCH_SIZE": "100",
        "FLOWKEEPER_BACKFILL_PAGE_SIZE": "50",
        "FLOWKEEPER_BACKFILL_EXTERNAL_LABEL": "cluster=eu1,env=prod",
        "FLOWKEEPER_BACKFILL_HEADER": "X-Scope-OrgID=team-a",
        "FLOWKEEPER_BACKFILL_BEARER_TOKEN_FILE": "/var/run/token",
        "FLOWKEEPER_BACKFILL_CA_FILE": "/etc/ca.pem",
        "FLOWKEEPER_BACKFILL_DRY_RUN": "false",
        "FLOWKEEPER_BACKFILL_KUBECONFIG": "/kc",
        "FLOWKEEPER_BACKFILL_LOG_FORMAT": "json",
        "FLOWKEEPER_BACKFILL_TIMEOUT": "2.5",
        "FLOWKEEPER_BACKFILL_MAX_RETRY_SECONDS": "60",
        "FLOWKEEPER_BACKFILL_MAX_LABEL_VALUE_LENGTH": "1024",
        "FLOWKEEPER_BACKFILL_MAX_LABELS_PER_SERIES": "30",
    }
    settings = parse_settings([], environ)
    assert settings.remote_write_url == URL
    assert settings.resources == ("pods", "nodes")
    assert settings.labels_allowlist.for_kind("pods").select({"app": "1", "x": "2"}) == {"app": "1"}
    assert settings.annotations_allowlist.for_kind("nodes").allow_all
    assert settings.metric_prefix == "k8s"
    assert (settings.batch_size, settings.page_size) == (100, 50)
    assert settings.external_labels == (("cluster", "eu1"), ("env", "prod"))
    assert settings.headers == (("X-Scope-OrgID", "team-a"),)
    assert settings.bearer_token_file == "/var/run/token"
    assert settings.ca_file == "/etc/ca.pem"
    assert settings.kubeconfig == "/kc"
    assert settings.log_format == "json"
    assert (settings.timeout, settings.max_retry_seconds) == (2.5, 60)
    assert (settings.max_label_value_length, settings.max_labels_per_series) == (1024, 30)


def test_basic_auth_from_environment():
    settings = parse_settings(
        [],
        {
            "FLOWKEEPER_BACKFILL_DRY_RUN": "1",
            "FLOWKEEPER_BACKFILL_BASIC_AUTH_USERNAME": "u",
            "FLOWKEEPER_BACKFILL_BASIC_AUTH_PASSWORD_FILE": "/p",
        },
    )
    assert (settings.basic_auth_username, settings.basic_auth_password_file) == ("u", "/p")
    assert settings.dry_run is True


def test_flag_wins_over_environment_and_repeats_accumulate():
    settings = parse_settings(
        ["--batch-size=7", "--external-label=a=1", "--external-label", "b=2", "--dry-run"],
        {"FLOWKEEPER_BACKFILL_BATCH_SIZE": "9", "FLOWKEEPER_BACKFILL_EXTERNAL_LABEL": "c=3"},
    )
    assert settings.batch_size == 7
    assert settings.external_labels == (("a", "1"), ("b", "2"))


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (
            [],
            {},
            "--remote-write-url (FLOWKEEPER_BACKFILL_REMOTE_WRITE_URL) is required unless --dry-run",  # noqa: E501
        ),
        (["--remote-write-url=ftp://x"], {}, "must be an http:// or https:// URL"),
        (
            ["--dry-run", "--batch-size=0"],
            {},
            "--batch-size (FLOWKEEPER_BACKFILL_BATCH_SIZE) must be an integer in 1..50000, got '0'",
        ),
        (
            ["--dry-run"],
            {"FLOWKEEPER_BACKFILL_PAGE_SIZE": "lots"},
            "--page-size (FLOWKEEPER_BACKFILL_PAGE_SIZE) must be an integer in 1..10000, got 'lots'",  # noqa: E501
        ),
        (
            ["--dry-run", "--timeout=0"],
            {},
            "--timeout (FLOWKEEPER_BACKFILL_TIMEOUT) must be a number in 0.1..3600",
        ),
        (["--dry-run", "--max-retry-seconds=-1"], {}, "must be a number in 0..86400"),
        (
            ["--dry-run", "--resources=pods,widgets"],
            {},
            "--resources (FLOWKEEPER_BACKFILL_RESOURCES) unknown resource 'widgets'; allowed: namespaces, pods",  # noqa: E501
        ),
        (["--dry-run", "--resources=pods,pods"], {}, "must list each resource once"),
        (
            ["--dry-run", "--metric-prefix=9x"],
            {},
            "--metric-prefix (FLOWKEEPER_BACKFILL_METRIC_PREFIX) must match",
        ),
        (["--dry-run", "--external-label=cluster"], {}, "must look like NAME=VALUE, got 'cluster'"),
        (["--dry-run", "--external-label=pod=x"], {}, "name 'pod' is taken"),
        (["--dry-run", "--external-label=job_name=x"], {}, "name 'job_name' is taken"),
        (["--dry-run", "--max-label-value-length=-1"], {}, "in 0..1048576, got '-1'"),
        (["--dry-run", "--max-labels-per-series=x"], {}, "an integer in 0..10000"),
        (
            ["--dry-run", "--max-labels-per-series=4", "--external-label=c=1"],
            {},
            "--max-labels-per-series (FLOWKEEPER_BACKFILL_MAX_LABELS_PER_SERIES) must be 0 or "
            "at least 5 (__name__, identity and external labels), got 4",
        ),
        (["--dry-run", "--external-label=label_x=1"], {}, "name 'label_x' is taken"),
        (["--dry-run", "--external-label=__x=1"], {}, "without a leading __"),
        (
            ["--dry-run", "--external-label=a=1", "--external-label=a=2"],
            {},
            "name 'a' is given twice",
        ),
        (
            ["--dry-run", "--header=Content-Type=x"],
            {},
            "Content-Type is set by the remote-write protocol",
        ),
        (["--dry-run", "--header=Bad Name=x"], {}, "is not a valid HTTP header name"),
        (
            ["--dry-run", "--basic-auth-username=u"],
            {},
            "and --basic-auth-password-file go together",
        ),
        (
            [
                "--dry-run",
                "--bearer-token-file=/t",
                "--basic-auth-username=u",
                "--basic-auth-password-file=/p",
            ],
            {},
            "cannot be combined with basic auth",
        ),
        (
            ["--dry-run", "--log-format=xml"],
            {},
            "--log-format (FLOWKEEPER_BACKFILL_LOG_FORMAT) must be plain or json, got 'xml'",
        ),
        (
            [],
            {"FLOWKEEPER_BACKFILL_DRY_RUN": "maybe"},
            "--dry-run (FLOWKEEPER_BACKFILL_DRY_RUN) must be true or false, got 'maybe'",
        ),
        (
            [],
            {"FLOWKEEPER_BACKFILL_BATCHSIZE": "5"},
            "unknown environment variable FLOWKEEPER_BACKFILL_BATCHSIZE",
        ),
        (
            ["--dry-run", "--metric-annotations-allowlist=pods=[a"],
            {},
            "--metric-annotations-allowlist (FLOWKEEPER_BACKFILL_METRIC_ANNOTATIONS_ALLOWLIST): cannot parse",  # noqa: E501
        ),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (
            ["--dry-run", "--shard-count=0"],
            {},
            "--shard-count (FLOWKEEPER_BACKFILL_SHARD_COUNT) must be an integer in 1..1000, "
            "got '0'",
        ),
        (
            ["--dry-run", "--shard-count=2", "--shard-index=2"],
            {},
            "--shard-index (FLOWKEEPER_BACKFILL_SHARD_INDEX) must be an integer in 0..1, got '2'",
        ),
        (
            ["--dry-run", "--shard-count=2"],
            {"JOB_COMPLETION_INDEX": "2"},
            "--shard-index (FLOWKEEPER_BACKFILL_SHARD_INDEX) defaults to JOB_COMPLETION_INDEX, "
            "which must be an integer in 0..1",
        ),
        (["--dry-run", "--external-label=shard=1"], {}, "name 'shard' is taken"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(argv, environ, message):
    with pytest.raises(UsageError) as error:
        parse_settings(argv, environ)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_cli_exits_2_with_one_line_on_bad_usage(capsys, monkeypatch):
    monkeypatch.setenv("FLOWKEEPER_BACKFILL_BATCH_SIZE", "-3")
    assert main(["--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "flowkeeper-backfill: error: --batch-size (FLOWKEEPER_BACKFILL_BATCH_SIZE) "
        "must be an integer in 1..50000, got '-3'\n"
    )


def test_cli_exits_2_when_no_cluster_is_reachable(capsys, monkeypatch, tmp_path):
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(
        "flowkeeper-backfill: error: no Kubernetes connection"
    )


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "FLOWKEEPER_BACKFILL_" in capsys.readouterr().out


def test_repeated_flags_keep_commas_in_values():
    settings = parse_settings(
        [
            "--dry-run",
            "--header=X-Scope-OrgID=team-a|team-b",
            "--header=X-Tags=a,b",
            "--external-label=cluster=eu1",
            "--external-label=env=prod",
        ],
        {},
    )
    assert dict(settings.headers) == {"X-Scope-OrgID": "team-a|team-b", "X-Tags": "a,b"}
    assert settings.external_labels == (("cluster", "eu1"), ("env", "prod"))

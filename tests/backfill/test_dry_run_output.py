"""`--dry-run` output as its readers take it (issue 16, item 4): `promtool check metrics` (the
Prometheus text format's own linter), a pipe closed early (`| head -1`), and no deliveries
reported for a run that delivers nothing."""

import shlex
import subprocess

import pytest

from tests.backfill.clirun import cli_command
from tests.backfill.listserver import ListServer, serving
from tests.monitoring.helpers import promtool


def dry_run(tmp_path, api, *args):
    command, env = cli_command(
        tmp_path,
        api,
        "--dry-run",
        "--resources=namespaces,pods",
        "--metric-annotations-allowlist=pods=[*]",
        *args,
    )
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, timeout=60, check=False
    )


@pytest.fixture
def output(tmp_path):
    with serving(ListServer(counts={"namespaces": 3, "pods": 40})) as api:
        done = dry_run(tmp_path, api, "--batch-size=7")
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode(), done.stderr.decode()


def test_promtool_check_metrics_passes(output):
    text, _ = output
    checked = subprocess.run(
        [promtool(), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""


def test_counters_and_histograms_are_typed_and_every_family_has_help(output):
    lines = output[0].splitlines()
    types = dict(line.split()[2:4] for line in lines if line.startswith("# TYPE "))
    helps = {line.split()[2] for line in lines if line.startswith("# HELP ")}
    assert types["kube_pod_labels"] == "gauge"
    assert types["kube_backfill_objects"] == "gauge"
    assert types["kube_backfill_dropped_values_total"] == "counter"
    assert types["kube_backfill_request_duration_seconds"] == "histogram"
    assert set(types) == helps
    names = {line.split("{")[0].split()[0] for line in lines if not line.startswith("#")}
    for name in names:
        family = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
        assert name in types or family in types, name


def test_a_dry_run_reports_no_deliveries(output):
    text, err = output
    assert "kube_backfill_batches_total" not in text
    assert 'result="delivered"' not in text
    assert "delivered_series" not in err
    assert "result=success" in err


def test_output_closed_early_ends_quietly(tmp_path):
    # `flowkeeper-backfill --dry-run | head -1`. Before: `error: : Broken pipe`, exit 2.
    with serving(ListServer(counts={"pods": 5000})) as api:
        command, env = cli_command(tmp_path, api, "--dry-run", "--resources=pods")
        script = f'{shlex.join(command)} | head -1; echo "exit=${{PIPESTATUS[0]}}" >&2'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    err = done.stderr
    assert done.stdout.startswith("# HELP kube_pod_labels ")
    assert done.stdout.count("\n") == 1
    assert err.splitlines()[-1] == "exit=141"
    assert "error" not in err.lower()
    assert "Broken pipe" not in err
    assert "Traceback" not in err
    assert 'reason="output closed"' in err

"""The alert rules: one source (the chart's file), valid for promtool, each alert unit-tested."""

import copy
import re

import pytest
import yaml

from tests.monitoring.helpers import (
    ALERT_TESTS,
    OPERATIONS,
    RULES_FILE,
    alerts,
    github_anchors,
    rendered_rules,
    run_promtool,
    write_rules,
)

RULES = rendered_rules()
ALERTS = {rule["alert"]: rule for rule in alerts(RULES)}
RUNBOOK_BASE = "https://github.com/flowkeeper/flowkeeper/blob/main/docs/OPERATIONS.md#"


def test_the_chart_renders_its_rule_file_unchanged():
    assert yaml.safe_load(RULES_FILE.read_text()) == RULES
    assert len(ALERTS) == 12


def test_promtool_checks_the_rendered_rules(tmp_path):
    result = run_promtool(
        "check", "rules", write_rules(tmp_path / "rules.yaml", RULES), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_promtool_check_refuses_a_broken_expression(tmp_path):
    broken = copy.deepcopy(RULES)
    broken["groups"][0]["rules"][0]["expr"] = "sum by (namespace (flowkeeper_operator_leader)"
    result = run_promtool(
        "check", "rules", write_rules(tmp_path / "rules.yaml", broken), cwd=tmp_path
    )
    assert result.returncode != 0


def unit_test_dir(tmp_path, alert, rules=RULES):
    """The alert's test file beside the rules, annotations left out: promtool compares them
    whole, and their templates are checked by `promtool check rules` above."""
    bare = copy.deepcopy(rules)
    for rule in alerts(bare):
        rule.pop("annotations", None)
    write_rules(tmp_path / "rules.yaml", bare)
    test_file = tmp_path / f"{alert}.yaml"
    test_file.write_text((ALERT_TESTS / f"{alert}.yaml").read_text())
    return test_file


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_promtool_unit_tests_of_the_alert(tmp_path, alert):
    test_file = unit_test_dir(tmp_path, alert)
    result = run_promtool("test", "rules", test_file, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_the_unit_tests_fail_when_the_alert_never_fires(tmp_path, alert):
    never = copy.deepcopy(RULES)
    for rule in alerts(never):
        if rule["alert"] == alert:
            rule["expr"] = "vector(1) < 0"
    test_file = unit_test_dir(tmp_path, alert, never)
    result = run_promtool("test", "rules", test_file, cwd=tmp_path)
    assert result.returncode != 0, result.stdout


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_each_alert_has_a_case_that_fires_and_one_that_must_not(alert):
    cases = [
        case
        for test in yaml.safe_load((ALERT_TESTS / f"{alert}.yaml").read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    assert {case["alertname"] for case in cases} == {alert}
    assert any(case["exp_alerts"] for case in cases), "no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), "no case where it must stay silent"


def test_every_test_file_is_for_an_alert():
    assert sorted(path.stem for path in ALERT_TESTS.glob("*.yaml")) == sorted(ALERTS)


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alert_has_severity_summary_description_and_runbook(alert):
    rule = ALERTS[alert]
    assert rule["labels"]["severity"] in {"warning", "critical"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert annotations["runbook_url"] == RUNBOOK_BASE + alert.lower()


def test_every_runbook_anchor_exists_in_operations_md():
    anchors = github_anchors(OPERATIONS.read_text())
    missing = [
        rule["annotations"]["runbook_url"]
        for rule in ALERTS.values()
        if rule["annotations"]["runbook_url"].rpartition("#")[2] not in anchors
    ]
    assert missing == []


def test_anchor_finder_finds_headings():
    assert github_anchors("## The backfill\n### `FlowkeeperOperatorDown`\n") == {
        "the-backfill",
        "flowkeeperoperatordown",
    }


def test_backfill_alerts_only_with_the_backfill():
    groups = rendered_rules({"prometheusRule": {"enabled": True}})["groups"]
    assert [group["name"] for group in groups] == ["flowkeeper-operator", "flowkeeper-collectors"]


def test_backfill_alerts_follow_the_metric_prefix():
    values = {
        "prometheusRule": {"enabled": True},
        "backfill": {"enabled": True, "dryRun": True, "metricPrefix": "k8s"},
    }
    exprs = " ".join(rule["expr"] for rule in alerts(rendered_rules(values)))
    assert "k8s_backfill_duration_seconds" in exprs
    assert not re.search(r"\bkube_backfill_", exprs)


def test_additional_alert_labels_do_not_override_severity():
    values = {
        "prometheusRule": {
            "enabled": True,
            "additionalAlertLabels": {"team": "network", "severity": "info"},
        },
        "backfill": {"enabled": True, "dryRun": True},
    }
    for rule in alerts(rendered_rules(values)):
        assert rule["labels"]["team"] == "network"
        assert rule["labels"]["severity"] == ALERTS[rule["alert"]]["labels"]["severity"]

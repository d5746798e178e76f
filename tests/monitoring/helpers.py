"""The chart's monitoring artefacts as the tests see them, and promtool to check them."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from e2e.receivers import ReceiverUnavailableError, binary, skip_unless_required
from tests.chart.helpers import CHART_DIR, ROOT, one, render

RULES_FILE = CHART_DIR / "files" / "prometheus-rules.yaml"
DASHBOARD_FILE = CHART_DIR / "files" / "grafana-dashboard.json"
ALERT_TESTS = Path(__file__).parent / "alerts"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
# Every group renders only with the backfill on (its group is left out otherwise).
ALL_ON = {"prometheusRule": {"enabled": True}, "backfill": {"enabled": True, "dryRun": True}}


def rendered_rules(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The PrometheusRule's spec as the chart renders it: a Prometheus rule file."""
    return one(render(values or ALL_ON), "PrometheusRule")["spec"]


def alerts(rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text())


def panel_targets(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel, rows' nested panels included."""
    found = []
    for panel in board["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found.extend((inner, target) for target in inner.get("targets", []))
    return found


def promtool() -> str:
    """promtool (Debian's prometheus package); skipped when missing, unless CI requires it."""
    try:
        return binary("promtool")
    except ReceiverUnavailableError as error:
        skip_unless_required(error)


def run_promtool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_rules(path: Path, rules: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    return path


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (lower case, punctuation out)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
        anchors.add(text.replace(" ", "-"))
    return anchors


def pod_meta_label(pod_label: str) -> str:
    """The service-discovery label Prometheus gives a pod label (role: pod): characters outside
    `[a-zA-Z0-9_]` become `_` (Prometheus' strutil.SanitizeLabelName)."""
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)

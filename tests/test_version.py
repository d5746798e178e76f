"""One version: the package's (pyproject.toml). The chart, the image, both programs'
`--version` and the changelog say the same, and the changelog keeps Keep a Changelog's shape."""

import importlib.metadata
import re
import subprocess
import sys
import tomllib

import pytest
import yaml
from flowkeeper.operator.kube import client

from tests.chart.helpers import CHART_DIR, ROOT, one, render
from tests.chart.test_dockerfile import arguments_of, runtime

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CHANGELOG = (ROOT / "CHANGELOG.md").read_text() if (ROOT / "CHANGELOG.md").exists() else ""
# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>.+))?$", re.MULTILINE)


def test_the_version_is_semver():
    assert SEMVER.fullmatch(VERSION), VERSION


def test_the_installed_package_has_it():
    # A stale editable install would make --version lie: `make install` reinstalls on change.
    assert importlib.metadata.version("flowkeeper") == VERSION


def test_the_chart_has_it():
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert chart["version"] == VERSION
    assert chart["appVersion"] == VERSION
    # The image the chart runs by default is this version's.
    container = one(render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(f":{VERSION}")


def test_the_image_label_has_it_and_the_build_pins_the_package_to_it():
    stage = runtime()
    assert f"VERSION={VERSION}" in arguments_of(stage, "ARG")
    assert 'org.opencontainers.image.version="${VERSION}"' in " ".join(arguments_of(stage, "LABEL"))
    # A --build-arg VERSION other than the package's fails the build: pip finds no such wheel.
    assert any('"flowkeeper==${VERSION}"' in run for run in arguments_of(stage, "RUN"))


@pytest.mark.parametrize("program", ["operator", "backfill"])
def test_both_programs_print_it(program):
    run = subprocess.run(
        [sys.executable, "-m", f"flowkeeper.{program}", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, f"flowkeeper-{program} {VERSION}\n", "")


def sections():
    return [(match["version"], match["date"]) for match in SECTION.finditer(CHANGELOG)]


def test_the_changelog_starts_with_this_version():
    found = sections()
    assert found, "CHANGELOG.md has no `## [version] - date` section"
    released = [version for version, _ in found if version != "Unreleased"]
    assert released[0] == VERSION


def test_the_changelog_is_keep_a_changelog():
    assert CHANGELOG.startswith("# Changelog\n")
    found = sections()
    released = [(version, date) for version, date in found if version != "Unreleased"]
    for index, (version, date) in enumerate(released):
        assert SEMVER.fullmatch(version), version
        # Only the newest may still be unreleased; the others carry their ISO date.
        if not (index == 0 and date == "Unreleased"):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date or ""), (version, date)
        # Every version links to its changes.
        assert re.search(rf"^\[{re.escape(version)}\]: https://\S+$", CHANGELOG, re.MULTILINE)
    versions = [tuple(int(part) for part in v.split("-")[0].split(".")) for v, _ in released]
    assert versions == sorted(versions, reverse=True), "newest first"
    kinds = set(re.findall(r"^### (.+)$", CHANGELOG, re.MULTILINE))
    allowed = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security", "Upgrading"}
    assert kinds <= allowed, kinds - allowed


def test_the_changelog_covers_the_earlier_releases():
    assert {"0.1.0", "0.2.0"} <= {version for version, _ in sections()}


def test_the_operators_user_agent_has_it():
    """API servers' audit logs name the operator's requests with its version."""
    product, _, version = client.USER_AGENT.partition("/")
    assert (product, version) == ("flowkeeper-operator", VERSION)

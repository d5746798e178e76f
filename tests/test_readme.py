"""The README's examples are what users copy first: they must stay valid as the code changes."""

import re
import shlex
from pathlib import Path

import yaml
from flowkeeper.backfill.settings import parse_settings
from flowkeeper.operator.model.spec import parse_spec

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_flowcollector_example_is_a_valid_spec():
    block = re.search(r"```yaml\n(apiVersion: flows\.flowkeeper\.dev/.*?)```", README, re.S)
    assert block is not None
    example = yaml.safe_load(block.group(1))
    spec = parse_spec(example["spec"])
    assert [listener["name"] for listener in spec["listeners"]] == ["netflow", "ipfix", "sflow"]
    assert spec["templateStore"]["kvHistory"] == 1


def test_backfill_example_parses():
    block = re.search(r"```sh\n(flowkeeper-backfill .*?)```", README, re.S)
    assert block is not None
    argv = shlex.split(block.group(1).replace("\\\n", " "))
    settings = parse_settings(argv[1:], {})
    assert settings.remote_write_url == "http://prometheus:9090/api/v1/write"
    assert settings.labels_allowlist.for_kind("pods").select({"app": "a", "x": "b"}) == {"app": "a"}


def test_what_the_readme_says_ci_runs_is_what_it_runs():
    script = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    run_targets = re.findall(r"^make (\w+)$", script, re.MULTILINE)
    exported = re.findall(r"^export (\w+)=", script, re.MULTILINE)
    paragraph = next(p for p in README.split("\n\n") if "CI runs `.ci/run`" in p)
    assert re.findall(r"`make (\w+)`", paragraph.split(";")[0]) == run_targets
    assert run_targets == ["install", "lint", "test"]  # guard: the parse finds them
    for name in exported:
        assert f"`{name}=" in paragraph, name

"""The backfill's docs agree with its code (issue 16, item 11): `result=` values, batch results,
exit codes, flags, run-summary series and the module table, read from docs/OPERATIONS.md and
docs/backfill.md and compared with what the code defines."""

import re
import signal
from pathlib import Path

import flowkeeper.backfill
import pytest
from flowkeeper.backfill import cli, stopping
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import BATCH_RESULTS, RESULTS
from flowkeeper.backfill.settings import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
BACKFILL_MD = (DOCS / "backfill.md").read_text()
OPERATIONS_MD = (DOCS / "OPERATIONS.md").read_text()
PACKAGE = Path(flowkeeper.backfill.__file__).parent


def section(markdown, heading):
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = markdown.index(f"\n{heading}\n")
    end = re.search(rf"\n#{{1,{len(level)}}} ", markdown[start + 1 :])
    return markdown[start : start + 1 + end.start()] if end else markdown[start:]


@pytest.mark.parametrize("doc", ["OPERATIONS.md", "backfill.md"])
def test_result_values_of_the_last_log_line_are_the_codes(doc):
    written = re.findall(r"result=([a-z]+(?:\|[a-z]+)+)", (DOCS / doc).read_text())
    assert written, f"{doc} documents no result= values"
    for values in written:
        assert set(values.split("|")) == set(RESULTS), values


@pytest.mark.parametrize("doc", ["OPERATIONS.md", "backfill.md"])
def test_batch_results_are_the_codes(doc):
    row = next(
        line
        for line in (DOCS / doc).read_text().splitlines()
        if line.startswith("| `") and "backfill_batches_total{result}" in line
    )
    meaning = row.split("|")[2]
    assert set(re.findall(r"`([a-z]+)`", meaning)) == set(BATCH_RESULTS)


def test_exit_codes_table_is_every_code_the_cli_returns():
    table = section(BACKFILL_MD, "## Exit codes and logs")
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    codes = {
        cli.EXIT_OK,
        cli.EXIT_FAILED,
        cli.EXIT_USAGE,
        cli.EXIT_OUTPUT_CLOSED,
        stopping.EXIT_INTERRUPTED,
        stopping.EXIT_TERMINATED,
    }
    assert codes == {0, 1, 2, 128 + signal.SIGINT, 128 + signal.SIGPIPE, 128 + signal.SIGTERM}
    assert documented == codes


def test_flag_table_lists_every_flag():
    table = section(BACKFILL_MD, "## Flags and environment variables")
    documented = set(re.findall(r"`(--[a-z-]+)", table))
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert sorted(flags - documented) == [], "flags missing from docs/backfill.md"


@pytest.mark.parametrize("doc", ["OPERATIONS.md", "backfill.md"])
def test_run_summary_series_exist(doc):
    families = RunMetrics().summary(prefix="kube", external=(), success=True)
    names = {family.name for family in families}
    # Labelled families without samples yet are left out of a summary: add them by name.
    names |= {
        f"kube_{metric._name}" + ("_total" if metric._type == "counter" else "")
        for metric in vars(RunMetrics()).values()
        if hasattr(metric, "_type")
    }
    text = (DOCS / doc).read_text()
    documented = set(re.findall(r"`(?:kube|<prefix>)(_backfill_[a-z_]+)", text))
    documented = {f"kube{name}" for name in documented}
    assert sorted(documented - names) == [], f"{doc} documents series the code does not have"
    if doc == "backfill.md":
        assert sorted(names - documented) == [], "run series missing from docs/backfill.md"


def test_module_table_lists_every_module():
    table = section(BACKFILL_MD, "### Modules")
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", table, flags=re.MULTILINE))
    modules = {path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("__")}
    assert sorted(modules - documented) == [], "modules missing from the table"
    assert sorted(documented - modules) == [], "the table lists modules that do not exist"

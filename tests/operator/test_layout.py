"""The operator's layout: docs/operator.md's module table names every module, and importing
a pure module registers nothing: no kopf handler, no metric (only app/handlers.py registers
kopf handlers; kubernetes.utils' quantity parser is a pure function and allowed)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator"
DOC = ROOT / "docs" / "operator.md"


def modules() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def documented() -> set[str]:
    text = DOC.read_text()
    table = text[text.index("### Code layout") : text.index("## Status reference")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([\w/]+\.py)`", row.split("|")[1])}


def test_the_module_table_names_every_module():
    assert documented() == modules()


def test_every_subpackage_is_packaged():
    text = (ROOT / "pyproject.toml").read_text()
    for init in PACKAGE.rglob("__init__.py"):
        parts = init.parent.relative_to(PACKAGE).parts
        name = ".".join(("flowkeeper", "operator", *parts))
        assert f'"{name}"' in text, name


def test_imports_have_no_side_effects():
    pure = [
        "flowkeeper.operator." + str(path.relative_to(PACKAGE).with_suffix("")).replace("/", ".")
        for sub in ("model", "plan")
        for path in (PACKAGE / sub).glob("*.py")
    ]
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in pure)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('kopf', 'prometheus_client', 'aiohttp')"
        " or m == 'flowkeeper.operator.app.handlers'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]", run.stdout

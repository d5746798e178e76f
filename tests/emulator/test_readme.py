"""e2e/README.md describes the emulator module by module: its table must name every one."""

import re
from pathlib import Path

E2E = Path(__file__).resolve().parents[2] / "e2e"


def test_module_table_lists_every_module_of_the_emulator() -> None:
    text = (E2E / "README.md").read_text()
    table = re.search(r"^\| module \| concern \|\n((?:\|.*\n)+)", text, re.M)
    assert table is not None, "e2e/README.md has no `| module | concern |` table"
    listed = set(re.findall(r"`([a-z_]+\.py)`", table.group(1)))
    modules = {p.name for p in (E2E / "apiserver").glob("*.py")} - {"__init__.py"}
    assert sorted(modules - listed) == [], "modules the table does not list"
    assert sorted(listed - modules) == [], "the table lists modules that do not exist"

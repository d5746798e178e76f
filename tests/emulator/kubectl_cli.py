"""Real kubectl against the emulator of a test (the binaries are e2e/kubectl.py's).

The emulator runs on the test's event loop, so kubectl runs in a worker thread while the loop
serves it. Each ``Kubectl`` keeps its discovery and OpenAPI cache in the test's own ``home``
across its calls (e2e/kubectl.py's ``run`` with ``cache``).
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e import kubectl

VERSIONED = [k.path for k in kubectl.binaries() if k.path is not None]
# The oldest and the newest kubectl present (1.27 and 1.33 on the machine image).
EDGES = sorted({VERSIONED[0], VERSIONED[-1]}) if VERSIONED else []


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Kubectl:
    binary: Path
    kubeconfig: Path
    home: Path

    async def __call__(self, *args: str, stdin: str | None = None) -> Result:
        done = await asyncio.to_thread(
            kubectl.run, self.binary, self.kubeconfig, *args, stdin=stdin, cache=self.home
        )
        return Result(done.returncode, done.stdout, done.stderr)


def _params(paths: list[Path]) -> list[object]:
    if not paths:
        reason = f"no versioned kubectl in {kubectl.KUBECTL_DIR}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-kubectl")]
    return [pytest.param(path, id=path.name) for path in paths]


def versions() -> list[object]:
    """pytest params: the oldest and newest kubectl, or one skipped param saying why."""
    return _params(EDGES)


def every_version() -> list[object]:
    """pytest params: every kubectl present, oldest first, or one skipped param."""
    return _params(VERSIONED)

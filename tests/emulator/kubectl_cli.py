"""Real kubectl against the emulator: the oldest and newest versions present here.

kubectl caches discovery and OpenAPI under $HOME/.kube/cache: each call gets the test's own
HOME. The emulator runs on the test's event loop, so kubectl runs as an asyncio subprocess.
"""

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

SDK = Path("/usr/lib/google-cloud-sdk/bin")
VERSIONED = sorted(SDK.glob("kubectl.1.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
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
        env = {**os.environ, "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig)}
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), 60
        )
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())


def versions() -> list[object]:
    """pytest params: the edge versions, or one skipped param saying why."""
    if not EDGES:
        reason = f"no versioned kubectl in {SDK}" + (
            "" if shutil.which("kubectl") else " nor on PATH"
        )
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-kubectl")]
    return [pytest.param(path, id=path.name) for path in EDGES]

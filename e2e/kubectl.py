"""The real kubectl binaries on this machine, oldest to newest, and a way to run them.

The Google Cloud CLI package ships ``kubectl.1.27`` ... ``kubectl.1.33`` beside the ``kubectl``
on PATH; $KUBECTL_DIR points elsewhere. Every call gets its own kubeconfig and a private
discovery cache, so versions never share cached discovery documents.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

KUBECTL_DIR = Path(os.environ.get("KUBECTL_DIR", "/usr/lib/google-cloud-sdk/bin"))
VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
TIMEOUT = 60.0


class Kubectl(NamedTuple):
    version: str
    path: Path | None
    missing: str  # why it is absent ("" when present)

    def __str__(self) -> str:
        return f"kubectl-{self.version}"


def binaries() -> list[Kubectl]:
    """Every supported version, present or not (``missing`` says why not)."""
    found = []
    for version in VERSIONS:
        path = KUBECTL_DIR / f"kubectl.{version}"
        present = path.is_file() and os.access(path, os.X_OK)
        found.append(
            Kubectl(version, path if present else None, "" if present else f"{path} absent")
        )
    return found


def on_path() -> Path | None:
    """The ``kubectl`` a user would run (None when there is none)."""
    found = shutil.which("kubectl")
    return Path(found) if found else None


def run(
    binary: Path,
    kubeconfig: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
    cache: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against ``kubeconfig``; never raises on a failing exit code (callers assert
    on ``returncode``, ``stdout`` and ``stderr``). Call it off the emulator's event loop.
    ``cache`` (its HOME and discovery cache) is a fresh temporary directory unless given."""
    with tempfile.TemporaryDirectory(prefix="kubectl-cache-") as fresh:
        home = str(cache or fresh)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": home,
        }
        return subprocess.run(
            [str(binary), f"--cache-dir={home}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )

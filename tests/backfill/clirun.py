"""The real CLI as a subprocess: its command line and environment for a given API server."""

import os
import sys
from pathlib import Path

from e2e.local import write_kubeconfig


def cli_command(tmp_path: Path, api_url: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """`python -m flowkeeper.backfill --kubeconfig=... *args` and an environment without the
    caller's KUBE*/FLOWKEEPER_* variables. Run it with cwd=tmp_path: the repo's `operator/`
    folder would shadow the standard library module."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "FLOWKEEPER_"))}
    return [sys.executable, "-m", "flowkeeper.backfill", f"--kubeconfig={kubeconfig}", *args], env

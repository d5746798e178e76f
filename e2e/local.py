"""Loopback helpers shared by the test servers, the demo and the benches (standard library only)."""

import json
import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig for a local API server (the emulator, a list server) with a dummy token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server}}],
        "users": [{"name": "local", "user": {"token": "local-token"}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local"}}],
        "current-context": "local",
    }
    path.write_text(json.dumps(config))  # JSON is YAML: every kubeconfig reader takes it
    return path

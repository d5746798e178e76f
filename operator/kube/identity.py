"""Who this operator process is: the Lease holder name and the User-Agent of its clients.

Each replica tells the API server who it is (as client-go controllers do), so audit logs and
the test emulator can attribute every request, kopf's included, to one replica.
"""

import dataclasses
import importlib.metadata
import os
import socket
import uuid

import kopf

# The pod name (from the Downward API in the chart), else the host name; plus a random part,
# so two processes on one host, or a restarted container, never share an identity.
NAME = f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"

KOPF_PRODUCT = f"kopf/{importlib.metadata.version('kopf')}"


def user_agent(product: str) -> str:
    """``product (identity)``, e.g. ``flowkeeper-operator/0.3.0 (flowkeeper-5d9c_1a2b3c4d)``."""
    return f"{product} ({NAME})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectionInfo(kopf.ConnectionInfo):
    """kopf's connection settings, plus this replica's User-Agent on every request kopf makes
    (kopf keeps a User-Agent it is given and sets ``kopf/<version>`` only when none is)."""

    def as_http_headers(self) -> dict[str, str]:
        return {**super().as_http_headers(), "User-Agent": user_agent(KOPF_PRODUCT)}

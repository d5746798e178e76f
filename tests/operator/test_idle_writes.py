"""Defect 1: against a server that canonicalises quantities, drops empty values and fills in
defaults, an idle operator makes zero writes, for every good sample and for the spellings the
server rewrites (``cpu: "0.5"`` -> ``500m``, ``1024Mi`` -> ``1Gi``, ``cpu: 1`` -> ``"1"``, a
toleration's ``key: ""``, an affinity term's ``values: []``).

The issue asks for 60 idle seconds at a 5 s resync (12 resyncs); the default here is 4 s at a
1 s resync (at least 3 resyncs of each FlowCollector, checked), to keep the suite fast.
FLOWKEEPER_TEST_IDLE_SECONDS=60 FLOWKEEPER_TEST_IDLE_RESYNC=5 runs the issue's window.
"""

import asyncio
import copy
import os
from pathlib import Path
from typing import Any

import pytest

from tests.operator.harness import SAMPLES, create_fc, quiet, resyncs, sample, settled

IDLE_SECONDS = float(os.environ.get("FLOWKEEPER_TEST_IDLE_SECONDS", "4"))
IDLE_RESYNC = float(os.environ.get("FLOWKEEPER_TEST_IDLE_RESYNC", "1"))
RESYNCS_AT_LEAST = 3


def variant(name: str, **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(sample("minimal.yaml"))
    body["metadata"]["name"] = name
    body["spec"].update(spec)
    return body


NORMALISED = [
    variant("cpu-half", resources={"limits": {"cpu": "0.5"}}),
    variant("memory-mi", resources={"limits": {"memory": "1024Mi"}}),
    variant("cpu-int", resources={"requests": {"cpu": 1}, "limits": {"cpu": 1}}),
    variant("toleration", tolerations=[{"operator": "Exists", "key": ""}]),
    variant(
        "affinity",
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "edge", "operator": "Exists", "values": []}]}
                    ]
                }
            }
        },
    ),
]


@pytest.mark.parametrize("operator", [IDLE_RESYNC], indirect=True)
async def test_idle_operator_makes_no_writes_on_a_normalising_server(api, k8s, operator):
    bodies = [sample(path.name) for path in sorted(Path(SAMPLES).glob("*.yaml"))] + NORMALISED
    for body in bodies:
        await create_fc(api, body)
    for body in bodies:
        metadata, metrics = body["metadata"], body["spec"].get("metrics", {})
        await settled(
            api, metadata["namespace"], metadata["name"], metrics=metrics.get("enabled", True)
        )
    await quiet(k8s)

    mark, passes = k8s.mark(), resyncs()
    await asyncio.sleep(IDLE_SECONDS)
    # The window saw resyncs (at least 3 of each FlowCollector, or as many as fit in it).
    expected = min(RESYNCS_AT_LEAST, int(IDLE_SECONDS / IDLE_RESYNC) - 1)
    assert resyncs() - passes >= expected * len(bodies)
    assert k8s.calls(since=mark, writes=True) == {}

"""JSONPath and ages as kube-apiserver computes Table cells (rules cited in e2e/apiserver)."""

from typing import Any

import pytest

from e2e.apiserver import jsonpath, tables
from e2e.apiserver.resources import BY_KIND

OBJ: dict[str, Any] = {
    "metadata": {"name": "edge", "labels": {"app.kubernetes.io/name": "fk"}},
    "status": {
        "conditions": [
            {"type": "Progressing", "status": "False", "count": 1},
            {"type": "Ready", "status": "True", "count": 3},
            {"type": "Ready", "status": "Unknown", "count": 5},
        ],
        "serviceAddresses": ["203.0.113.10", "198.51.100.7"],
        "nodes": "3/3",
    },
}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        (".status.nodes", ["3/3"]),
        ("{.status.nodes}", ["3/3"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True", "Unknown"]),
        (".status.conditions[?(@.type=='Ready')].status", ["True", "Unknown"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Progressing"]),
        (".status.conditions[?(@.count>2)].count", [3, 5]),
        (".status.conditions[?(@.missing)].type", []),
        (".status.serviceAddresses[0]", ["203.0.113.10"]),
        (".status.serviceAddresses[-1]", ["198.51.100.7"]),
        (".status.serviceAddresses[5]", []),
        (".status.serviceAddresses[0:1]", ["203.0.113.10"]),
        (".status.serviceAddresses[*]", ["203.0.113.10", "198.51.100.7"]),
        (".metadata.labels['app.kubernetes.io/name']", ["fk"]),
        (".status.missing.deeper", []),
        ("..nodes", ["3/3"]),
    ],
)
def test_jsonpath(path: str, found: list[Any]) -> None:
    assert jsonpath.find(OBJ, path) == found


def test_jsonpath_refuses_what_it_does_not_support() -> None:
    with pytest.raises(ValueError, match="unrecognized JSONPath"):
        jsonpath.parse(".a[0,1]")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (5 * 3600 + 30 * 60, "5h30m"),
        (8 * 3600 + 59, "8h"),
        (47 * 3600, "47h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (9 * 86400, "9d"),
        (800 * 86400, "2y70d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, shown: str) -> None:
    assert tables.human_duration(seconds) == shown


def test_custom_cells_follow_the_column_type() -> None:
    columns = [
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        },
        {"name": "Count", "type": "integer", "jsonPath": ".status.conditions[1].count"},
        {"name": "Addresses", "type": "string", "jsonPath": ".status.serviceAddresses"},
        {"name": "Missing", "type": "string", "jsonPath": ".status.absent"},
        {"name": "Wrong", "type": "boolean", "jsonPath": ".status.nodes"},
    ]
    definitions, row = tables.custom_printer(columns)
    assert [d["name"] for d in definitions] == [
        "Name",
        "Ready",
        "Count",
        "Addresses",
        "Missing",
        "Wrong",
    ]
    # The first match only; a list printed as JSON; a missing value or a wrong type is null.
    assert row(OBJ) == ["edge", "True", 3, '["203.0.113.10","198.51.100.7"]', None, None]


def test_a_crd_without_columns_gets_age() -> None:
    assert tables.printer_columns([]) == [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]


def pod(*statuses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    containers = [{"name": f"c{i}"} for i in range(len(statuses))]
    return {
        "metadata": {"name": "p", **extra.pop("metadata", {})},
        "spec": {"containers": containers},
        "status": {"phase": "Running", "containerStatuses": list(statuses), **extra},
    }


RUNNING = {"ready": True, "restartCount": 0, "state": {"running": {}}}


@pytest.mark.parametrize(
    ("obj", "cells"),
    [
        (pod(RUNNING, RUNNING), ["2/2", "Running", "0"]),
        (
            pod(
                RUNNING,
                {
                    "ready": False,
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ),
            ["1/2", "CrashLoopBackOff", "3"],
        ),
        (pod({"state": {"terminated": {"exitCode": 2}}}), ["0/1", "ExitCode:2", "0"]),
        (
            pod(RUNNING, metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"}),
            ["1/1", "Terminating", "0"],
        ),
    ],
)
def test_pod_cells(obj: dict[str, Any], cells: list[str]) -> None:
    _, row = tables.builtin_printer(BY_KIND["", "Pod"])
    assert row(obj)[1:4] == cells

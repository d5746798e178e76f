"""What a run says while it runs (issue 16, item 5): progress at a steady interval, and the
kinds it will list said once, up front."""

import json

from tests.backfill.listserver import Faults, ListServer


def events(capsys):
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_progress_is_logged_at_a_steady_interval_on_a_long_run(run, capsys):
    # 30 pages a tenth of a second apart: 3 s of listing.
    server = ListServer(counts={"pods": 300}, faults=Faults(delays={"pods": [0.1] * 30}))
    code, _ = run(
        server,
        "--resources=pods",
        "--page-size=10",
        "--progress-seconds=0.5",
        "--log-format=json",
    )
    assert code == 0
    logged = events(capsys)
    progress = [e for e in logged if e["msg"] == "progress"]
    assert len(progress) >= 4
    assert {e["kind"] for e in progress} == {"pods"}
    pages = [e["pages"] for e in progress]
    objects = [e["objects"] for e in progress]
    assert pages == sorted(pages)
    assert pages[0] < pages[-1] <= 30
    assert objects == sorted(objects)
    assert 0 < objects[-1] <= 300
    assert all(e["objects_per_second"] > 0 for e in progress[1:])
    done = next(e for e in logged if e["msg"] == "kind done")
    assert (done["objects"], done["pages"]) == (300, 30)


def test_no_progress_lines_when_turned_off(run, capsys):
    server = ListServer(counts={"pods": 50}, faults=Faults(delays={"pods": [0.1] * 5}))
    code, _ = run(server, "--resources=pods", "--page-size=10", "--progress-seconds=0")
    assert code == 0
    assert "progress" not in capsys.readouterr().err


def test_start_names_the_kinds_listed_once_and_excluded_kinds_do_not_warn(run, capsys):
    server = ListServer(counts={"pods": 2, "nodes": 2, "namespaces": 1})
    code, _ = run(
        server,
        "--resources=namespaces,pods,nodes",
        "--metric-labels-allowlist=pods=[app]",
        "--log-format=json",
    )
    assert code == 0
    logged = events(capsys)
    started = next(e for e in logged if e["msg"] == "backfill started")
    assert started["kinds"] == "pods"
    assert started["not_listed"] == "namespaces,nodes"
    assert [e for e in logged if e["level"] == "warning"] == []
    assert [r["path"] for r in server.requests] == ["/api/v1/pods"]

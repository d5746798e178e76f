"""The CLI split into shards: together they send exactly what one unsharded run sends."""

import pytest

from tests.backfill.listserver import ListServer

KINDS = "--resources=pods,namespaces,deployments"
BOTH_FAMILIES = "--metric-annotations-allowlist=*=[*]"
COUNTS = {"pods": 400, "namespaces": 30, "deployments": 57}


def object_series(receiver):
    """Every object series received (the run summary, sent last, apart)."""
    return [
        tuple(sorted(series.items()))
        for request in receiver.requests[:-1]
        for series in request.series()
    ]


def summary(receiver):
    return receiver.requests[-1].series()


@pytest.fixture
def run(run, monkeypatch):
    """conftest's `run` on COUNTS with both families; returns the receiver of a run that
    succeeded."""
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)

    def run_cli(*args):
        code, receiver = run(ListServer(counts=COUNTS), KINDS, BOTH_FAMILIES, *args)
        assert code == 0
        return receiver

    return run_cli


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_are_disjoint_and_their_union_is_the_unsharded_run(run, count):
    whole = object_series(run())
    shards = [
        object_series(run(f"--shard-index={i}", f"--shard-count={count}")) for i in range(count)
    ]
    assert len(whole) == 2 * sum(COUNTS.values())
    assert all(shards), "every shard got some objects"
    union = [series for shard in shards for series in shard]
    assert sorted(union) == sorted(whole)  # same multiset: nothing missing, nothing twice


def test_the_index_defaults_to_the_indexed_job_completion_index(run, monkeypatch):
    explicit = object_series(run("--shard-index=1", "--shard-count=3"))
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.setenv("FLOWKEEPER_BACKFILL_SHARD_COUNT", "3")
    receiver = run()
    assert sorted(object_series(receiver)) == sorted(explicit)
    assert {s["shard"] for s in summary(receiver)} == {"1"}


def test_every_run_series_carries_the_shard_label(run):
    assert {s["shard"] for s in summary(run())} == {"0"}
    assert {s["shard"] for s in summary(run("--shard-index=2", "--shard-count=3"))} == {"2"}
    objects = [s for s in summary(run()) if s["__name__"] == "kube_backfill_objects"]
    assert {s["kind"]: s["shard"] for s in objects} == dict.fromkeys(COUNTS, "0")

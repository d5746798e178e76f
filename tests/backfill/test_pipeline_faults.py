"""A bug in a worker thread fails the run; it never ends in a false success or a hang."""

import threading

import pytest
from flowkeeper.backfill.allowlist import parse_allowlist
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import DELIVERED, Page
from flowkeeper.backfill.objects import metadata_from
from flowkeeper.backfill.pipeline import Pipeline
from flowkeeper.backfill.series import kind_series_spec

KINDS_LISTED = ("namespaces", "pods", "nodes")


def specs():
    return [
        kind_series_spec(
            KINDS[kind],
            prefix="kube",
            labels=parse_allowlist("l", "*=[*]").for_kind(kind),
            annotations=parse_allowlist("a", "").for_kind(kind),
            external={},
        )
        for kind in KINDS_LISTED
    ]


class Source:
    def __init__(self, broken: str = ""):
        self.broken = broken

    def pages(self, kind, *, annotations=True):
        if kind.plural == self.broken:
            raise RuntimeError("a bug in the lister")
        yield Page([metadata_from({"name": f"{kind.plural}-1", "uid": "u"})], restarted=False)


class Sink:
    sends = True

    def __init__(self, broken: str = ""):
        self.broken = broken
        self.written: list[str] = []

    def write(self, spec, batch):
        if spec.kind.plural == self.broken:
            raise RuntimeError("a bug in the sink")
        self.written.append(spec.kind.plural)
        return DELIVERED

    def end_kind(self, spec):
        pass

    def write_summary(self, families, timestamp_ms, *, timeout=None):
        pass

    def close(self):
        pass


def run(source, sink):
    pipeline = Pipeline(
        specs=specs(), source=source, sink=sink, batch_size=500, metrics=RunMetrics()
    )
    result: list = []
    thread = threading.Thread(target=lambda: result.append(pipeline.run()), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the run hung"
    return result[0]


def test_unexpected_lister_error_fails_that_kind_and_the_others_complete(caplog):
    sink = Sink()
    report = run(Source(broken="pods"), sink)
    assert not report.success
    errors = {kind.kind: kind.error for kind in report.kinds}
    assert errors["pods"].startswith("unexpected error")
    assert sink.written == ["namespaces", "nodes"]
    assert "a bug in the lister" in caplog.text


@pytest.mark.parametrize("broken", KINDS_LISTED)
def test_unexpected_sink_error_fails_the_run_without_hanging(broken, caplog):
    report = run(Source(), Sink(broken=broken))
    assert not report.success
    assert sum(kind.failed_batches for kind in report.kinds) >= 1
    assert "a bug in the sink" in caplog.text

"""lister -> series -> batches -> sink, one thread per I/O stage, queues of one item between.

Memory is bounded by construction: the lister holds the page it is fetching plus one queued,
the builder holds one page and the batch it fills, the sink holds the batch it is sending plus
one queued. Nothing is kept per object once its batch is handed on.
"""

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flowkeeper.backfill.errors import ApiError, DeliveryError
from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.lister import Page
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.series import KindSeriesSpec, ObjectSeries, Series, object_series
from flowkeeper.backfill.sharding import UNSHARDED, Shard
from flowkeeper.backfill.sinks import WriteOutcome

log = logging.getLogger("flowkeeper.backfill")


class PageSource(Protocol):
    def pages(self, kind: Kind, *, annotations: bool = True) -> Iterator[Page]: ...


class Sink(Protocol):
    """Where batches go: the remote-write receiver, or stdout for `--dry-run`."""

    def write(self, spec: KindSeriesSpec, batch: Sequence[Series]) -> WriteOutcome: ...

    def end_kind(self, spec: KindSeriesSpec) -> None: ...


@dataclass
class KindReport:
    kind: str
    objects: int = 0
    series: int = 0
    delivered_series: int = 0
    refused_series: int = 0
    batches: int = 0
    failed_batches: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class RunReport:
    kinds: list[KindReport] = field(default_factory=list)
    receiver_unavailable: bool = False

    @property
    def success(self) -> bool:
        return not self.receiver_unavailable and not any(
            k.error or k.failed_batches or k.refused_series for k in self.kinds
        )


@dataclass
class _Listed:
    spec: KindSeriesSpec
    error: str = ""


@dataclass
class _PageOf:
    spec: KindSeriesSpec
    page: Page


@dataclass
class _Batch:
    spec: KindSeriesSpec
    series: list[Series]


@dataclass
class _KindEnd:
    spec: KindSeriesSpec
    report: KindReport
    started: float


_END = None


class _PageTally:
    """What one page's objects lost or had altered; counted in the metrics once per page."""

    def __init__(self) -> None:
        self.empty = self.last_applied = self.truncated = self.invalid = 0
        self.limited = self.skipped = 0

    def add(self, built: ObjectSeries) -> None:
        self.empty += built.empty_values_dropped
        self.last_applied += built.last_applied_dropped
        self.truncated += built.truncated_values
        self.invalid += built.invalid_utf8_values
        self.limited += built.label_limited_series


class Pipeline:
    def __init__(
        self,
        *,
        specs: Sequence[KindSeriesSpec],
        source: PageSource,
        sink: Sink,
        batch_size: int,
        metrics: RunMetrics,
        shard: Shard = UNSHARDED,
    ) -> None:
        self._specs = specs
        self._shard = shard
        self._source = source
        self._sink = sink
        self._batch_size = batch_size
        self._metrics = metrics
        self._pages: queue.Queue[_PageOf | _Listed | None] = queue.Queue(maxsize=1)
        self._batches: queue.Queue[_Batch | _KindEnd | None] = queue.Queue(maxsize=1)
        self._abort = threading.Event()
        self._report = RunReport()
        self._logged_drops: set[str] = set()
        self._first_refused_logged = False

    def run(self) -> RunReport:
        threads = [
            threading.Thread(target=self._list, name="lister", daemon=True),
            threading.Thread(target=self._deliver, name="sink", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self._build()
        finally:
            self._batches.put(_END)
            for thread in threads:
                thread.join()
        return self._report

    # Stage 1 (thread): pages from the API.
    def _list(self) -> None:
        unavailable = ""
        try:
            for spec in self._specs:
                if unavailable or self._abort.is_set():
                    self._pages.put(_Listed(spec, unavailable or "run aborted"))
                    continue
                try:
                    pages = self._source.pages(spec.kind, annotations=spec.annotations.emits)
                    for page in pages:
                        self._pages.put(_PageOf(spec, page))
                        if self._abort.is_set():
                            break
                    self._pages.put(_Listed(spec))
                except ApiError as error:
                    self._metrics.list_failures.labels(kind=spec.kind.plural).inc()
                    fields = {"kind": spec.kind.plural, "error": str(error)}
                    if error.unavailable:
                        log.error("LIST failed", extra={"fields": fields})
                    else:  # refused (403, 404...): the other kinds go on
                        log.warning("kind skipped: LIST refused", extra={"fields": fields})
                    self._pages.put(_Listed(spec, str(error)))
                    if error.unavailable:
                        unavailable = f"not listed: API unavailable ({error})"
        finally:
            self._pages.put(_END)

    # Stage 2 (caller's thread): series and batches.
    def _build(self) -> None:
        batch: list[Series] = []
        report = KindReport("")
        started = time.monotonic()
        while (item := self._pages.get()) is not _END:
            if isinstance(item, _Listed):
                if batch:
                    self._batches.put(_Batch(item.spec, batch))
                    batch = []
                report.kind, report.error = item.spec.kind.plural, item.error
                self._batches.put(_KindEnd(item.spec, report, started))
                report, started = KindReport(""), time.monotonic()
                continue
            if self._abort.is_set():
                continue
            spec, page = item.spec, item.page
            if page.restarted:
                report.objects = report.series = 0
                batch = []
            tally = _PageTally()
            items = page.items
            if self._shard.sharded:
                # Other shards' objects: theirs to send, not skipped (KSM's partition by uid).
                items = [metadata for metadata in items if self._shard.keeps(metadata.uid)]
            for metadata in items:
                built = object_series(spec, metadata)
                if built is None:
                    tally.skipped += 1
                    continue
                report.objects += 1
                tally.add(built)
                for series in built.series:
                    report.series += 1
                    batch.append(series)
                    if len(batch) == self._batch_size:
                        self._batches.put(_Batch(spec, batch))
                        batch = []
            self._count_drops(spec.kind.plural, tally)

    def _count_drops(self, kind: str, tally: "_PageTally") -> None:
        metrics = self._metrics
        for reason, count in (
            ("empty_value", tally.empty),
            ("last_applied_configuration", tally.last_applied),
        ):
            if count:
                metrics.dropped_values.labels(reason=reason).inc(count)
                self._log_first(reason, kind, "values not exported")
        for reason, count in (("truncated", tally.truncated), ("invalid_utf8", tally.invalid)):
            if count:
                metrics.altered_values.labels(kind=kind, reason=reason).inc(count)
                self._log_first(reason, kind, "values altered to fit the receiver")
        if tally.limited:
            metrics.limited_series.labels(kind=kind).inc(tally.limited)
            self._log_first("max_labels_per_series", kind, "series cut to the label limit")
        if tally.skipped:
            metrics.skipped_objects.labels(kind=kind).inc(tally.skipped)
            self._log_first("no_name", kind, "objects without a name skipped")

    def _log_first(self, reason: str, kind: str, message: str) -> None:
        # Logged once per reason; the counter carries the totals.
        if reason not in self._logged_drops:
            self._logged_drops.add(reason)
            log.info(message, extra={"fields": {"reason": reason, "kind": kind, "first": True}})

    # Stage 3 (thread): delivery.
    def _deliver(self) -> None:
        tally = KindReport("")
        while (item := self._batches.get()) is not _END:
            if isinstance(item, _KindEnd):
                self._end_kind(item, tally)
                tally = KindReport("")
                continue
            tally.batches += 1
            if self._abort.is_set():
                tally.failed_batches += 1
                self._fail(item)
                continue
            try:
                outcome = self._sink.write(item.spec, item.series)
            except DeliveryError as error:
                tally.failed_batches += 1
                self._fail(item)
                log.error(
                    "batch not delivered",
                    extra={"fields": {"kind": item.spec.kind.plural, "error": str(error)}},
                )
                if error.retryable:
                    self._report.receiver_unavailable = True
                    self._abort.set()
                continue
            tally.delivered_series += len(item.series) - outcome.refused
            if outcome.refused:
                tally.refused_series += outcome.refused
                self._refused(item.spec, outcome)
            else:
                self._metrics.batches.labels(result="delivered").inc()

    def _refused(self, spec: KindSeriesSpec, outcome: WriteOutcome) -> None:
        self._metrics.batches.labels(result="refused").inc()
        self._metrics.refused.labels(kind=spec.kind.plural).inc(outcome.refused)
        if self._first_refused_logged:
            return
        # Logged once per run, with what identifies the series; the counter has the totals.
        self._first_refused_logged = True
        labels = dict(outcome.first_refused)
        identity = {"__name__": labels.get("__name__", "")}
        identity.update((name, labels.get(name, "")) for name in spec.kind.identity_labels)
        fields = {
            "kind": spec.kind.plural,
            "series": ",".join(f"{k}={v}" for k, v in identity.items()),
            "receiver_message": outcome.message,
            "first": True,
        }
        log.error("series refused by the receiver", extra={"fields": fields})

    def _fail(self, batch: _Batch) -> None:
        self._metrics.batches.labels(result="failed").inc()
        self._metrics.undelivered.labels(kind=batch.spec.kind.plural).inc(len(batch.series))

    def _end_kind(self, end: _KindEnd, tally: KindReport) -> None:
        report = end.report
        report.batches, report.failed_batches = tally.batches, tally.failed_batches
        report.delivered_series = tally.delivered_series
        report.refused_series = tally.refused_series
        report.seconds = round(time.monotonic() - end.started, 3)
        self._sink.end_kind(end.spec)
        self._report.kinds.append(report)
        self._metrics.objects.labels(kind=report.kind).set(report.objects)
        self._metrics.series.labels(kind=report.kind).set(report.series)
        fields: dict[str, object] = {
            "kind": report.kind,
            "objects": report.objects,
            "series": report.series,
            "delivered_series": report.delivered_series,
            "refused_series": report.refused_series,
            "batches": report.batches,
            "failed_batches": report.failed_batches,
            "seconds": report.seconds,
        }
        if report.error:
            fields["error"] = report.error
        log.info("kind done", extra={"fields": fields})

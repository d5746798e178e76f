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
from dataclasses import dataclass
from typing import Protocol

from flowkeeper.backfill.delivery import (
    END,
    Batch,
    Delivery,
    KindEnd,
    KindReport,
    RunReport,
    Sink,
)
from flowkeeper.backfill.errors import ApiError, Interrupted
from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.lister import Page
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.series import KindSeriesSpec, ObjectSeries, Series, object_series
from flowkeeper.backfill.sharding import UNSHARDED, Shard

log = logging.getLogger("flowkeeper.backfill")


class PageSource(Protocol):
    def pages(self, kind: Kind, *, annotations: bool = True) -> Iterator[Page]: ...


@dataclass
class _Listed:
    spec: KindSeriesSpec
    error: str = ""


@dataclass
class _PageOf:
    spec: KindSeriesSpec
    page: Page


_POLL_SECONDS = 0.1
# After SIGTERM: how long the batch in flight may take to finish before it is abandoned, so
# that the run summary can still be sent and the process ends within 10 s.
STOP_GRACE_SECONDS = 7.0


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
        stop: threading.Event | None = None,
        stop_grace: float = STOP_GRACE_SECONDS,
        shard: Shard = UNSHARDED,
    ) -> None:
        self._specs = specs
        self._shard = shard
        self._source = source
        self._batch_size = batch_size
        self._metrics = metrics
        self._pages: queue.Queue[_PageOf | _Listed | None] = queue.Queue(maxsize=1)
        self._batches: queue.Queue[Batch | KindEnd | None] = queue.Queue(maxsize=1)
        self._abort = threading.Event()
        self._stop = stop or threading.Event()
        self._stop_grace = stop_grace
        self._report = RunReport()
        self._delivery = Delivery(
            batches=self._batches,
            sink=sink,
            metrics=metrics,
            report=self._report,
            abort=self._abort,
            stop=self._stop,
        )
        self._logged_drops: set[str] = set()

    def run(self) -> RunReport:
        threads = [
            threading.Thread(target=self._list, name="lister", daemon=True),
            threading.Thread(target=self._delivery.run, name="sink", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self._build()
        finally:
            if self._stop.is_set():
                self._abandon(threads[1])
            else:
                self._batches.put(END)
                for thread in threads:
                    thread.join()
        return self._report

    def _abandon(self, sink: threading.Thread) -> None:
        """SIGTERM: no more batches; wait for the one in flight up to the grace period. The
        lister may be inside a request: it is a daemon thread and is left behind."""
        self._report.interrupted = True
        self._abort.set()
        deadline = time.monotonic() + self._stop_grace
        try:
            self._batches.put(END, timeout=self._stop_grace)
        except queue.Full:
            log.warning("batch in flight abandoned", extra={"fields": {"reason": "SIGTERM"}})
            return
        sink.join(max(0.0, deadline - time.monotonic()))
        if sink.is_alive():
            log.warning("batch in flight abandoned", extra={"fields": {"reason": "SIGTERM"}})

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
                        if self._abort.is_set() or self._stop.is_set():
                            break
                    self._pages.put(_Listed(spec))
                except Interrupted:
                    self._pages.put(_Listed(spec, "interrupted"))
                    return
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
                except Exception as error:
                    # Uncaught, it would end this thread and the run would report success
                    # with the remaining kinds missing. Logged with its traceback, counted.
                    self._metrics.list_failures.labels(kind=spec.kind.plural).inc()
                    log.exception(
                        "LIST failed unexpectedly", extra={"fields": {"kind": spec.kind.plural}}
                    )
                    self._pages.put(_Listed(spec, f"unexpected error: {error!r}"))
        finally:
            self._pages.put(END)

    # Stage 2 (caller's thread): series and batches.
    def _build(self) -> None:
        batch: list[Series] = []
        report = KindReport("")
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                item = self._pages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is END:
                break
            if isinstance(item, _Listed):
                if batch:
                    self._hand_on(Batch(item.spec, batch))
                    batch = []
                report.kind, report.error = item.spec.kind.plural, item.error
                self._hand_on(KindEnd(item.spec, report, started))
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
                        self._hand_on(Batch(spec, batch))
                        batch = []
            self._count_drops(spec.kind.plural, tally)

    def _hand_on(self, item: "Batch | KindEnd") -> None:
        """Queue for the sink; gives up when SIGTERM arrives while the sink is busy."""
        while not self._stop.is_set():
            try:
                self._batches.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return

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

"""lister -> series -> batches -> sink, one thread per I/O stage, queues of one item between.

Memory is bounded by construction: the lister holds the page it is fetching plus one queued,
the builder holds one page and the batch it fills, the sink holds the batch it is sending plus
one queued. Nothing is kept per object once its batch is handed on.

No wait is unbounded: every hand-over and join polls the stop event, so a signal at any moment
ends the run within the stop budget (stopping.py). A progress line is logged at a steady
interval by a thread of its own, reading the builder's counts.
"""

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flowkeeper.backfill.delivery import Delivery
from flowkeeper.backfill.errors import ApiError, Interrupted
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import (
    END,
    Batch,
    KindEnd,
    KindReport,
    Page,
    PageSource,
    RunReport,
    Sink,
)
from flowkeeper.backfill.series import KindSeriesSpec, Series, Tally, object_series
from flowkeeper.backfill.sharding import UNSHARDED, Shard

log = logging.getLogger("flowkeeper.backfill")


@dataclass
class _Listed:
    spec: KindSeriesSpec
    error: str = ""
    attempted: bool = True


@dataclass
class _PageOf:
    spec: KindSeriesSpec
    page: Page


_POLL_SECONDS = 0.1
# After SIGTERM: how long the batch in flight may take to finish before it is abandoned, so
# that the run summary can still be sent and the process ends within 10 s.
STOP_GRACE_SECONDS = 7.0
PROGRESS_SECONDS = 10.0
API_UNAVAILABLE = "API unavailable"


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
        progress_seconds: float = PROGRESS_SECONDS,
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
        self._progress_seconds = progress_seconds
        self._done = threading.Event()
        # The kind being built and the run's totals, read by the progress thread.
        self._current = KindReport("")
        self._started = time.monotonic()
        self._objects_before = 0

    def run(self) -> RunReport:
        lister = threading.Thread(target=self._list, name="lister", daemon=True)
        sink = threading.Thread(target=self._delivery.run, name="sink", daemon=True)
        lister.start()
        sink.start()
        if self._progress_seconds:
            threading.Thread(target=self._log_progress, name="progress", daemon=True).start()
        built = False
        try:
            self._build()
            built = True
        finally:
            try:
                if built and self._hand_on(END):
                    # Every batch is queued: wait for the sink, unless a stop comes first.
                    while sink.is_alive() and not self._stop.is_set():
                        sink.join(_POLL_SECONDS)
                if self._stop.is_set() or not built:
                    self._abandon(sink, ended=built and not sink.is_alive())
                # The lister has handed on its last item; it is ending (or, stopped, it may
                # be inside a request: a daemon thread, left behind).
                lister.join(_POLL_SECONDS)
            finally:
                self._done.set()
        return self._report

    def _abandon(self, sink: threading.Thread, *, ended: bool) -> None:
        """A stop: no more batches; wait for the one in flight up to the grace period. The
        lister may be inside a request: it is a daemon thread and is left behind."""
        self._report.interrupted = self._stop.is_set()
        self._abort.set()
        if ended:
            return
        deadline = time.monotonic() + self._stop_grace
        try:
            self._batches.put(END, timeout=self._stop_grace)
        except queue.Full:
            log.warning("batch in flight abandoned", extra={"fields": {"reason": "stopped"}})
            return
        sink.join(max(0.0, deadline - time.monotonic()))
        if sink.is_alive():
            log.warning("batch in flight abandoned", extra={"fields": {"reason": "stopped"}})

    def _log_progress(self) -> None:
        """Every `progress_seconds`: the kind being listed, its objects and pages so far, and
        the rate; so a long run is never silent."""
        while not self._done.wait(self._progress_seconds):
            current = self._current
            seconds = time.monotonic() - self._started
            objects = self._objects_before + current.objects
            fields = {
                "kind": current.kind,
                "objects": current.objects,
                "pages": current.pages,
                "run_objects": objects,
                "objects_per_second": round(objects / seconds) if seconds > 0 else 0,
                "seconds": round(seconds),
            }
            log.info("progress", extra={"fields": fields})

    # Stage 1 (thread): pages from the API.
    def _list(self) -> None:
        unavailable = ""
        try:
            for spec in self._specs:
                if unavailable or self._abort.is_set() or self._stop.is_set():
                    error = unavailable or ("interrupted" if self._stop.is_set() else "run aborted")
                    self._put(_Listed(spec, error, attempted=False))
                    continue
                try:
                    pages = self._source.pages(spec.kind, annotations=spec.annotations.emits)
                    for page in pages:
                        self._put(_PageOf(spec, page))
                        if self._abort.is_set() or self._stop.is_set():
                            break
                    self._put(_Listed(spec))
                except Interrupted:
                    self._put(_Listed(spec, "interrupted"))
                    return
                except ApiError as error:
                    self._metrics.list_failures.labels(kind=spec.kind.plural).inc()
                    fields = {"kind": spec.kind.plural, "error": str(error)}
                    if error.unavailable:
                        log.error("LIST failed", extra={"fields": fields})
                    else:  # refused (403, 404...): the other kinds go on
                        log.warning("kind skipped: LIST refused", extra={"fields": fields})
                    # The LIST failed line above has the whole message; the kind's own line
                    # (and the other kinds', not listed) only say why, in short.
                    self._put(_Listed(spec, API_UNAVAILABLE if error.unavailable else str(error)))
                    if error.unavailable:
                        unavailable = f"not listed: {API_UNAVAILABLE}"
                except Exception as error:
                    # Uncaught, it would end this thread and the run would report success
                    # with the remaining kinds missing. Logged with its traceback, counted.
                    self._metrics.list_failures.labels(kind=spec.kind.plural).inc()
                    log.exception(
                        "LIST failed unexpectedly", extra={"fields": {"kind": spec.kind.plural}}
                    )
                    self._put(_Listed(spec, f"unexpected error: {error!r}"))
        finally:
            self._put(END)

    def _put(self, item: "_PageOf | _Listed | None") -> None:
        """Queue for the builder. A blocking put: after a stop the builder may be gone, and
        this thread (a daemon, never joined for more than a poll) is left behind."""
        self._pages.put(item)

    # Stage 2 (caller's thread): series and batches.
    def _build(self) -> None:
        batch: list[Series] = []
        report = self._current = KindReport("")
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
                report.attempted = item.attempted
                self._hand_on(KindEnd(item.spec, report, started))
                self._objects_before += report.objects
                report = self._current = KindReport("")
                started = time.monotonic()
                continue
            if self._abort.is_set():
                continue
            spec, page = item.spec, item.page
            report.kind = spec.kind.plural
            if page.restarted:
                report.objects = report.series = report.pages = 0
                batch = []
            report.pages += 1
            tally = Tally()
            items = page.items
            if self._shard.sharded:
                # Other shards' objects: theirs to send, not skipped (KSM's partition by uid).
                items = [metadata for metadata in items if self._shard.keeps(metadata.uid)]
            for metadata in items:
                built = object_series(spec, metadata, tally)
                if built is None:
                    continue
                report.objects += 1
                for series in built.series:
                    report.series += 1
                    batch.append(series)
                    if len(batch) == self._batch_size:
                        self._hand_on(Batch(spec, batch))
                        batch = []
            self._count_drops(spec.kind.plural, tally)

    def _hand_on(self, item: "Batch | KindEnd | None") -> bool:
        """Queue for the sink; gives up (False) when a stop arrives while the sink is busy."""
        while not self._stop.is_set():
            try:
                self._batches.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def _count_drops(self, kind: str, tally: Tally) -> None:
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

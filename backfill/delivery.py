"""Stage 3 of the pipeline: batches to the sink, and what each kind's delivery came to.

A batch the receiver refuses in part (the sink bisects 400s) counts its refused series and
logs the first one once; a batch not delivered is counted with its series; a receiver still
unavailable after the retry budget aborts the run. After SIGTERM/SIGINT nothing more is sent.
A sink that sends nothing (`--dry-run`) counts no deliveries; its output closed by the reader
(`| head`) aborts the run quietly.
"""

import logging
import queue
import threading
import time

from flowkeeper.backfill.errors import DeliveryError, Interrupted, OutputClosed
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import (
    BATCH_DELIVERED,
    BATCH_FAILED,
    BATCH_REFUSED,
    END,
    Batch,
    KindEnd,
    KindReport,
    RunReport,
    Sink,
    WriteOutcome,
)
from flowkeeper.backfill.series import KindSeriesSpec

log = logging.getLogger("flowkeeper.backfill")


class Delivery:
    def __init__(
        self,
        *,
        batches: "queue.Queue[Batch | KindEnd | None]",
        sink: Sink,
        metrics: RunMetrics,
        report: RunReport,
        abort: threading.Event,
        stop: threading.Event,
    ) -> None:
        self._batches = batches
        self._sink = sink
        self._metrics = metrics
        self._report = report
        self._abort = abort
        self._stop = stop
        self._first_refused_logged = False

    def run(self) -> None:
        """Deliver batches until END; the per-kind counts go into the run report."""
        tally = KindReport("")
        while (item := self._batches.get()) is not END:
            if isinstance(item, KindEnd):
                self._end_kind(item, tally)
                tally = KindReport("")
                continue
            tally.batches += 1
            if self._abort.is_set() or self._stop.is_set():
                tally.failed_batches += 1
                self._fail(item)
                continue
            try:
                outcome = self._sink.write(item.spec, item.series)
            except OutputClosed:
                # `--dry-run | head`: the reader has what it wanted. Stop listing; quietly.
                self._report.output_closed = True
                self._abort.set()
                continue
            except Interrupted:
                tally.failed_batches += 1
                self._fail(item)
                continue
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
            except Exception:
                # Uncaught, it would end this thread and leave the builder waiting forever to
                # hand on the next batch. The run is aborted: later batches are failed too.
                tally.failed_batches += 1
                self._fail(item)
                log.exception(
                    "batch not delivered: unexpected error",
                    extra={"fields": {"kind": item.spec.kind.plural}},
                )
                self._abort.set()
                continue
            if not self._sink.sends:
                continue  # a dry run: printed, neither delivered nor failed
            tally.delivered_series += len(item.series) - outcome.refused
            if outcome.refused:
                tally.refused_series += outcome.refused
                self._refused(item.spec, outcome)
            else:
                self._metrics.batches.labels(result=BATCH_DELIVERED).inc()

    def _refused(self, spec: KindSeriesSpec, outcome: WriteOutcome) -> None:
        self._metrics.batches.labels(result=BATCH_REFUSED).inc()
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

    def _fail(self, batch: Batch) -> None:
        if not self._sink.sends:
            return
        self._metrics.batches.labels(result=BATCH_FAILED).inc()
        self._metrics.undelivered.labels(kind=batch.spec.kind.plural).inc(len(batch.series))

    def _end_kind(self, end: KindEnd, tally: KindReport) -> None:
        report = end.report
        report.batches, report.failed_batches = tally.batches, tally.failed_batches
        report.delivered_series = tally.delivered_series
        report.refused_series = tally.refused_series
        report.seconds = round(time.monotonic() - end.started, 3)
        if not self._report.output_closed:
            try:
                self._sink.end_kind(end.spec)
            except OutputClosed:
                self._report.output_closed = True
                self._abort.set()
        self._report.kinds.append(report)
        self._metrics.objects.labels(kind=report.kind).set(report.objects)
        self._metrics.series.labels(kind=report.kind).set(report.series)
        if report.attempted:
            log.info("kind done", extra={"fields": kind_fields(report, sends=self._sink.sends)})


def kind_fields(report: KindReport, *, sends: bool) -> dict[str, object]:
    """The `kind done` fields; a dry run delivers nothing, so it reports no deliveries."""
    fields: dict[str, object] = {
        "kind": report.kind,
        "objects": report.objects,
        "pages": report.pages,
        "series": report.series,
    }
    if sends:
        fields.update(
            delivered_series=report.delivered_series,
            refused_series=report.refused_series,
            batches=report.batches,
            failed_batches=report.failed_batches,
        )
    else:
        fields["batches"] = report.batches
    fields["seconds"] = report.seconds
    if report.error:
        fields["error"] = report.error
    return fields

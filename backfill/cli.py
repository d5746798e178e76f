"""`flowkeeper-backfill`: wires settings, kubeconfig, lister, pipeline and sink; sets the exit code.

Exit codes: 0 every batch delivered, 1 some batch not delivered or a kind not listed,
2 bad usage (flags, environment, kubeconfig), 130 stopped by SIGINT, 141 `--dry-run` output
closed by its reader, 143 stopped by SIGTERM.
"""

import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from flowkeeper.backfill import logs
from flowkeeper.backfill.encoder import request_headers
from flowkeeper.backfill.errors import DeliveryError, Interrupted, OutputClosed, UsageError
from flowkeeper.backfill.kinds import KINDS
from flowkeeper.backfill.kubeconfig import ApiConnection, resolve_connection
from flowkeeper.backfill.lister import Lister
from flowkeeper.backfill.metrics import RunMetrics
from flowkeeper.backfill.model import (
    RESULT_FAILED,
    RESULT_INTERRUPTED,
    RESULT_SUCCESS,
    RunReport,
    Sink,
)
from flowkeeper.backfill.pipeline import Pipeline
from flowkeeper.backfill.sender import RemoteWriter
from flowkeeper.backfill.series import KindSeriesSpec, SeriesLimits, kind_series_spec
from flowkeeper.backfill.settings import (
    PROG,
    VERSION,
    Settings,
    check_files,
    parse_settings,
    read_secret,
)
from flowkeeper.backfill.sinks import RemoteWriteSink, TextSink
from flowkeeper.backfill.stopping import EXIT_INTERRUPTED, StopSignal, handling_signals

log = logging.getLogger("flowkeeper.backfill")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# `--dry-run | head`: what a filter killed by SIGPIPE ends with.
EXIT_OUTPUT_CLOSED = 128 + 13
_GC_YOUNG_THRESHOLD = 50_000


def main(argv: Sequence[str] | None = None) -> int:
    stop = StopSignal()
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv, os.environ)
        check_files(settings)
        logs.configure(settings.log_format)
        with (
            handling_signals(stop),
            tempfile.TemporaryDirectory(prefix="flowkeeper-backfill-") as files_dir,
        ):
            connection = resolve_connection(
                kubeconfig=settings.kubeconfig or None,
                environ=os.environ,
                files_dir=Path(files_dir),
            )
            return run(settings, connection, stop)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # a file named in the kubeconfig that cannot be read
        print(f"{PROG}: error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C before the handlers were installed (or after they were removed).
        return EXIT_INTERRUPTED


def kind_specs(settings: Settings) -> list[KindSeriesSpec]:
    """One spec per kind of `--resources`, in order, with the kinds' allowlists."""
    return [
        kind_series_spec(
            KINDS[resource],
            prefix=settings.metric_prefix,
            labels=settings.labels_allowlist.for_kind(resource),
            annotations=settings.annotations_allowlist.for_kind(resource),
            external=dict(settings.external_labels),
            limits=SeriesLimits(
                max_value_bytes=settings.max_label_value_length,
                max_labels=settings.max_labels_per_series,
            ),
        )
        for resource in settings.resources
    ]


def run(settings: Settings, connection: ApiConnection, stop: StopSignal | None = None) -> int:
    started = time.time()
    timestamp_ms = int(started * 1000)
    metrics = RunMetrics()
    agent = user_agent()
    stop = stop or StopSignal()
    all_specs = kind_specs(settings)
    # KSM emits nothing for a kind whose two allowlists are empty: it is not listed (settings
    # refuse a run where that leaves no kind at all).
    specs = [spec for spec in all_specs if spec.families]
    unlisted = [spec.kind.plural for spec in all_specs if not spec.families]
    lister = Lister(
        connection,
        user_agent=agent,
        page_size=settings.page_size,
        timeout=settings.timeout,
        budget_seconds=settings.max_retry_seconds,
        metrics=metrics,
        sleep=stop.sleep,
    )
    sink: Sink
    if settings.dry_run:
        sink = TextSink(sys.stdout, timestamp_ms=timestamp_ms)
    else:
        writer = _writer(settings, metrics, agent, stop)
        sink = RemoteWriteSink(writer, timestamp_ms=timestamp_ms)
    fields: dict[str, object] = {
        "server": connection.server,
        "kinds": ",".join(spec.kind.plural for spec in specs),
    }
    if unlisted:
        # Said once, here: these kinds get no series from the allowlists.
        fields["not_listed"] = ",".join(unlisted)
    fields.update(dry_run=settings.dry_run, shard=f"{settings.shard.index}/{settings.shard.count}")
    log.info("backfill started", extra={"fields": fields})
    pipeline = Pipeline(
        specs=specs,
        source=lister,
        sink=sink,
        batch_size=settings.batch_size,
        metrics=metrics,
        stop=stop.event,
        shard=settings.shard,
        progress_seconds=settings.progress_seconds,
    )
    quiet_gc()
    try:
        report = pipeline.run()
        return _finish(settings, sink, report, metrics=metrics, started=started, stop=stop)
    finally:
        lister.close()
        sink.close()


def _finish(
    settings: Settings,
    sink: Sink,
    report: RunReport,
    *,
    metrics: RunMetrics,
    started: float,
    stop: StopSignal,
) -> int:
    if stop.stopped:  # a signal after the last batch: the run is still stopped by it
        report.interrupted = True
    success = report.success
    metrics.duration.set(round(time.time() - started, 3))
    metrics.success.set(1 if success else 0)
    if success:
        metrics.last_success.set(time.time())
    if report.output_closed:
        _close_stdout()
    elif not report.receiver_unavailable:
        # `shard` on every run series ("0" unsharded), so "every shard succeeded" can be
        # alerted on: one series per shard index.
        shard = (("shard", str(settings.shard.index)),)
        summary = metrics.summary(
            prefix=settings.metric_prefix,
            external=settings.external_labels + shard,
            success=success,
        )
        # After SIGTERM or SIGINT, one attempt within what is left of the 10 s.
        timeout = max(0.5, stop.remaining() - 0.5) if stop.stopped else None
        try:
            sink.write_summary(summary, int(time.time() * 1000), timeout=timeout)
        except (DeliveryError, Interrupted) as error:
            success = False
            log.error("run summary not delivered", extra={"fields": {"error": str(error)}})
        except OutputClosed:
            report.output_closed = True
            _close_stdout()
    report.interrupted = report.interrupted or stop.stopped
    _log_summary(report, success, time.time() - started, sends=sink.sends)
    if report.interrupted:
        return stop.exit_code
    if report.output_closed:
        return EXIT_OUTPUT_CLOSED
    return EXIT_OK if success else EXIT_FAILED


def _close_stdout() -> None:
    """The reader of `--dry-run` went away: what is still buffered goes nowhere, instead of
    failing again when the interpreter flushes stdout at exit (Python's documented way)."""
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (an in-memory stream): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, target)
    os.close(devnull)


def quiet_gc() -> None:
    """Keep the garbage collector out of the hot path.

    Nothing the pipeline makes per object can form a cycle (structs of strings, tuples of
    strings, bytes), yet every container allocated counts towards a collection, and each
    collection walks the live objects of its generations. Freezing what exists at start moves
    the import-time objects out of the collector's reach for good, and a gen-0 threshold of
    50,000 makes collections rare. Measured with bench/hotpath.py on realistic pods: CPython's
    defaults run 355 collections per 30,000 objects, 1.2-1.8 us of CPU per object (5-7 % of
    the hot path); with this, none. The collector stays on, so a cycle a library makes (a
    retried request's traceback) is still reclaimed.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def user_agent() -> str:
    return f"{PROG}/{VERSION}"


def _writer(settings: Settings, metrics: RunMetrics, agent: str, stop: StopSignal) -> RemoteWriter:
    extra = dict(settings.headers)
    if settings.bearer_token_file:
        token = read_secret("bearer_token_file", settings.bearer_token_file).strip()
        extra["Authorization"] = f"Bearer {token}"
    auth = None
    if settings.basic_auth_username:
        password = read_secret("basic_auth_password_file", settings.basic_auth_password_file)
        auth = (settings.basic_auth_username, password.rstrip("\n"))
    return RemoteWriter(
        url=settings.remote_write_url,
        headers=request_headers(agent, extra),
        metrics=metrics,
        timeout=settings.timeout,
        budget_seconds=settings.max_retry_seconds,
        auth=auth,
        verify=settings.ca_file or True,
        sleep=stop.sleep,
    )


def _log_summary(report: RunReport, success: bool, seconds: float, *, sends: bool) -> None:
    objects = sum(k.objects for k in report.kinds)
    if report.interrupted or report.output_closed:
        result = RESULT_INTERRUPTED
    else:
        result = RESULT_SUCCESS if success else RESULT_FAILED
    fields: dict[str, object] = {
        "result": result,
        "kinds": len(report.kinds),
        "objects": objects,
        "series": sum(k.series for k in report.kinds),
    }
    if sends:  # a dry run delivers nothing: no delivery counts
        fields.update(
            delivered_series=sum(k.delivered_series for k in report.kinds),
            refused_series=sum(k.refused_series for k in report.kinds),
            batches=sum(k.batches for k in report.kinds),
            failed_batches=sum(k.failed_batches for k in report.kinds),
        )
    fields.update(
        failed_kinds=",".join(k.kind for k in report.kinds if k.error),
        seconds=round(seconds, 3),
        objects_per_second=round(objects / seconds) if seconds > 0 else 0,
    )
    if report.output_closed:
        fields["reason"] = "output closed"
        log.info("backfill finished", extra={"fields": fields})
        return
    (log.info if success else log.error)("backfill finished", extra={"fields": fields})

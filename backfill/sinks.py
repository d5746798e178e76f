"""The two ends of the pipeline: a remote-write receiver, or Prometheus text on stdout."""

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO

from flowkeeper.backfill.encoder import compress, encode_samples, encode_write_request
from flowkeeper.backfill.errors import OutputClosed, RefusedError
from flowkeeper.backfill.model import DELIVERED, SummaryFamily, WriteOutcome
from flowkeeper.backfill.sender import RemoteWriter
from flowkeeper.backfill.series import KindSeriesSpec, Series
from flowkeeper.backfill.textformat import family_header, sample_line

_SPOOL_BYTES = 1 << 20
LABELS_HELP = "Kubernetes labels converted to Prometheus labels (flowkeeper-backfill)."
ANNOTATIONS_HELP = "Kubernetes annotations converted to Prometheus labels (flowkeeper-backfill)."


def _combined(first: WriteOutcome, second: WriteOutcome) -> WriteOutcome:
    if not first.refused:
        return second
    return first._replace(refused=first.refused + second.refused)


class RemoteWriteSink:
    """Sends each batch; a batch refused with 400 is split in halves, recursively, until the
    refused series are isolated, so one bad series costs only itself (log2(batch) requests)."""

    sends = True

    def __init__(self, writer: RemoteWriter, *, timestamp_ms: int) -> None:
        self._writer = writer
        self._timestamp_ms = timestamp_ms

    def write(self, spec: KindSeriesSpec, batch: Sequence[Series]) -> WriteOutcome:
        raw = encode_write_request(batch, self._timestamp_ms)
        try:
            self._writer.send(compress(raw), raw_bytes=len(raw))
        except RefusedError as error:
            if len(batch) == 1:
                return WriteOutcome(1, batch[0], error.receiver_message)
            half = len(batch) // 2
            return _combined(self.write(spec, batch[:half]), self.write(spec, batch[half:]))
        return DELIVERED

    def end_kind(self, spec: KindSeriesSpec) -> None:
        """Nothing to do: every batch was sent as it was made."""

    def write_summary(
        self, families: Sequence[SummaryFamily], timestamp_ms: int, *, timeout: float | None = None
    ) -> None:
        raw = encode_samples((s for family in families for s in family.samples), timestamp_ms)
        self._writer.send(compress(raw), raw_bytes=len(raw), timeout=timeout)

    def close(self) -> None:
        self._writer.close()


class TextSink:
    """`--dry-run`: the text format wants each metric's lines together, so a kind's
    annotations series wait in a temporary file (in memory up to 1 MiB) until its labels
    series are all printed. Nothing is sent (`sends` is False). A closed output (`| head`)
    raises OutputClosed."""

    sends = False

    def __init__(self, out: IO[str], *, timestamp_ms: int) -> None:
        self._out = out
        self._timestamp_ms = timestamp_ms
        self._spool: IO[str] | None = None

    def write(self, spec: KindSeriesSpec, batch: Sequence[Series]) -> WriteOutcome:
        with _output(self._out):
            if self._spool is None:
                self._spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, mode="w+")  # noqa: SIM115
                if spec.labels.emits:
                    self._out.write(family_header(spec.labels_name, "gauge", LABELS_HELP))
            for series in batch:
                line = sample_line(series, 1.0, self._timestamp_ms)
                if _metric_name(series) == spec.annotations_name:
                    self._spool.write(line)
                else:
                    self._out.write(line)
        return DELIVERED

    def end_kind(self, spec: KindSeriesSpec) -> None:
        if self._spool is None:
            return
        with _output(self._out):
            if spec.annotations.emits:
                self._out.write(family_header(spec.annotations_name, "gauge", ANNOTATIONS_HELP))
            self._spool.seek(0)
            shutil.copyfileobj(self._spool, self._out)
        self._spool.close()
        self._spool = None

    def write_summary(
        self, families: Sequence[SummaryFamily], timestamp_ms: int, *, timeout: float | None = None
    ) -> None:
        with _output(self._out):
            for family in families:
                self._out.write(family_header(family.name, family.type, family.help))
                for series, value in family.samples:
                    self._out.write(sample_line(series, value, timestamp_ms))
            self._out.flush()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


@contextmanager
def _output(out: IO[str]) -> Iterator[None]:
    """A reader that went away (`--dry-run | head -1`) is OutputClosed, not an error."""
    try:
        yield
    except BrokenPipeError:
        raise OutputClosed(getattr(out, "name", "output")) from None


def _metric_name(series: Series) -> str:
    return next(value for name, value in series if name == "__name__")

"""The run's data model, shared by the stages of the pipeline and the CLI (no behaviour).

What flows through a run: LIST `Page`s in, `Batch`es of series through, a `KindEnd` after each
kind; what a sink made of a batch (`WriteOutcome`); the per-kind and whole-run reports; the
run-summary families; and the two protocols the pipeline's ends implement (`PageSource`,
`Sink`). A leaf: it imports only the pure modules that say what an object and a series are, so
`delivery`, `sinks`, `pipeline` and `cli` share these types without importing each other.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.objects import Metadata
from flowkeeper.backfill.series import KindSeriesSpec, Series

# `result=` of the `backfill finished` log line (docs/OPERATIONS.md, docs/backfill.md).
RESULT_SUCCESS, RESULT_FAILED, RESULT_INTERRUPTED = "success", "failed", "interrupted"
RESULTS = (RESULT_SUCCESS, RESULT_FAILED, RESULT_INTERRUPTED)
# `result` label of `backfill_batches_total`.
BATCH_DELIVERED, BATCH_FAILED, BATCH_REFUSED = "delivered", "failed", "refused"
BATCH_RESULTS = (BATCH_DELIVERED, BATCH_FAILED, BATCH_REFUSED)


# Put on a stage's queue after its last item.
END = None


class Page(NamedTuple):
    """The `metadata` of each object of one LIST page; `restarted` flags a 410 restart."""

    items: list[Metadata]
    restarted: bool


class PageSource(Protocol):
    def pages(self, kind: Kind, *, annotations: bool = True) -> Iterator[Page]: ...


@dataclass
class Batch:
    spec: KindSeriesSpec
    series: list[Series]


class WriteOutcome(NamedTuple):
    """What a batch came to: how many of its series the receiver refused (the others were
    delivered), the first refused series and the receiver's message about it."""

    refused: int = 0
    first_refused: Series = ()
    message: str = ""


DELIVERED = WriteOutcome()


class SummaryFamily(NamedTuple):
    """One metric family of the run summary: its exposition type (`gauge`, `counter`,
    `histogram`), help text and samples (`__name__` included in each series)."""

    name: str
    type: str
    help: str
    samples: list[tuple[Series, float]]


class Sink(Protocol):
    """Where batches go: the remote-write receiver, or stdout for `--dry-run`.

    `sends` is False for a sink that delivers nothing anywhere (`--dry-run`): its batches are
    neither delivered nor failed, and the run reports no deliveries."""

    @property
    def sends(self) -> bool: ...

    def write(self, spec: KindSeriesSpec, batch: Sequence[Series]) -> WriteOutcome: ...

    def end_kind(self, spec: KindSeriesSpec) -> None: ...

    def write_summary(
        self, families: Sequence[SummaryFamily], timestamp_ms: int, *, timeout: float | None = None
    ) -> None: ...

    def close(self) -> None: ...


@dataclass
class KindReport:
    kind: str
    objects: int = 0
    pages: int = 0
    series: int = 0
    delivered_series: int = 0
    refused_series: int = 0
    batches: int = 0
    failed_batches: int = 0
    seconds: float = 0.0
    error: str = ""
    # False for a kind never asked for (the API was already unavailable, or the run stopped).
    attempted: bool = True


@dataclass
class KindEnd:
    spec: KindSeriesSpec
    report: KindReport
    started: float


@dataclass
class RunReport:
    kinds: list[KindReport] = field(default_factory=list)
    receiver_unavailable: bool = False
    interrupted: bool = False
    # stdout was closed under `--dry-run` (`| head`): the run stopped, quietly.
    output_closed: bool = False

    @property
    def success(self) -> bool:
        return (
            not self.receiver_unavailable
            and not self.interrupted
            and not self.output_closed
            and not any(k.error or k.failed_batches or k.refused_series for k in self.kinds)
        )

"""The run's own metrics (prometheus-client) and their conversion into the run-summary series.

Everything the backfill drops, retries or skips is counted here; at the end of the run the same
registry becomes the summary series sent to the receiver, so the two can never disagree.
"""

from flowkeeper.backfill.model import BATCH_RESULTS, SummaryFamily
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_CREATED_SUFFIX = "_created"
# Remote-write requests: milliseconds on loopback, seconds behind a busy gateway, up to the
# request timeout (30 s by default).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RunMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.objects = Gauge(
            "backfill_objects",
            "Objects listed in the run's complete pass over the kind.",
            ["kind"],
            registry=self.registry,
        )
        self.series = Gauge(
            "backfill_series",
            "Series made for the kind in its complete pass (undelivered ones are counted apart).",
            ["kind"],
            registry=self.registry,
        )
        self.batches = Counter(
            "backfill_batches",
            f"Remote-write requests by result ({', '.join(BATCH_RESULTS)}); none in a dry run.",
            ["result"],
            registry=self.registry,
        )
        self.undelivered = Counter(
            "backfill_undelivered_series",
            "Series in batches that were not delivered, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.refused = Counter(
            "backfill_refused_series",
            "Series the receiver refused (400), isolated by bisecting their batch, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.sent_bytes = Counter(
            "backfill_sent_bytes",
            "Remote-write request bodies sent, snappy-compressed and raw (protobuf) sizes.",
            ["encoding"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "backfill_request_duration_seconds",
            "Duration of remote-write HTTP requests (each attempt), whatever the answer.",
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "backfill_retries",
            "Retried HTTP attempts by stage (list, remote_write) and reason "
            "(429, 5xx, connection, timeout).",
            ["stage", "reason"],
            registry=self.registry,
        )
        self.list_restarts = Counter(
            "backfill_list_restarts",
            "LISTs restarted from the beginning after 410 Gone (expired continue token).",
            ["kind"],
            registry=self.registry,
        )
        self.list_failures = Counter(
            "backfill_list_failures",
            "Kinds whose LIST failed beyond the retry budget or was refused.",
            ["kind"],
            registry=self.registry,
        )
        self.dropped_values = Counter(
            "backfill_dropped_values",
            "Label and annotation values not exported (empty_value, last_applied_configuration).",
            ["reason"],
            registry=self.registry,
        )
        self.altered_values = Counter(
            "backfill_altered_values",
            "Values changed to fit the receiver: truncated to --max-label-value-length, or "
            "invalid_utf8 (lone surrogates replaced by U+FFFD).",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.limited_series = Counter(
            "backfill_limited_series",
            "Series that lost labels to --max-labels-per-series (identity labels are kept).",
            ["kind"],
            registry=self.registry,
        )
        self.skipped_objects = Counter(
            "backfill_skipped_objects",
            "Objects without a name, which cannot be identified.",
            ["kind"],
            registry=self.registry,
        )
        self.duration = Gauge(
            "backfill_duration_seconds", "Duration of the run.", registry=self.registry
        )
        self.success = Gauge(
            "backfill_success",
            "1 when the run delivered every batch, 0 when it failed or was interrupted.",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "backfill_last_success_timestamp_seconds",
            "End of the last run that delivered every batch (only sent by such runs).",
            registry=self.registry,
        )

    def summary(
        self, *, prefix: str, external: tuple[tuple[str, str], ...], success: bool
    ) -> list[SummaryFamily]:
        """Every family of the registry, named `<prefix>_<name>` as the text format names it
        (counters with `_total`), each sample with the external labels; empty families and
        the `_created` samples left out."""
        families: list[SummaryFamily] = []
        for family in self.registry.collect():
            if family.name == "backfill_last_success_timestamp_seconds" and not success:
                continue
            samples = []
            for sample in family.samples:
                if sample.name.endswith(_CREATED_SUFFIX):
                    continue
                labels = [("__name__", f"{prefix}_{sample.name}"), *external]
                labels.extend(sample.labels.items())
                samples.append((tuple(sorted(labels)), sample.value))
            if samples:
                suffix = "_total" if family.type == "counter" else ""
                name = f"{prefix}_{family.name}{suffix}"
                families.append(SummaryFamily(name, family.type, family.documentation, samples))
        return families

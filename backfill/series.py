"""Object metadata to the kube-state-metrics series of that object (pure).

An object gives `<prefix>_<kind>_labels` and `<prefix>_<kind>_annotations`, each only when
the kind's allowlist for that family is not empty (KSM emits no series otherwise). A series
carries the kind's identity labels (KSM's `desc<Kind>LabelsDefaultLabels`), the external
labels and the allowlisted keys as `label_*` / `annotation_*`, named and conflict-suffixed
with the empty-valued keys included (as KSM does), then empty values left out (Prometheus
treats an empty value as an absent label). A series is a tuple of (name, value) pairs sorted
by name with `__name__` included, as remote write requires.

Values are made safe for any receiver: lone surrogates (from `"\\ud800"` in JSON) become
U+FFFD, values longer than the limit in UTF-8 bytes are cut on a character boundary, and a
series over the label-count limit keeps its identity labels and the first other labels in
sorted order. Each of these is counted.
"""

import re
from collections.abc import Mapping
from typing import NamedTuple

from flowkeeper.backfill.allowlist import KeyFilter
from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.labelnames import label_names
from flowkeeper.backfill.objects import Metadata

Series = tuple[tuple[str, str], ...]

# Never exported: each is a full copy of the object, often hundreds of KiB (kubectl's, and the
# record our own operator keeps on the children it applies).
LAST_APPLIED = frozenset(
    {"kubectl.kubernetes.io/last-applied-configuration", "flows.flowkeeper.dev/last-applied"}
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


class SeriesLimits(NamedTuple):
    """Receiver limits: `max_value_bytes` (0 = none), `max_labels` per series incl.
    `__name__` (0 = none)."""

    max_value_bytes: int = 2048
    max_labels: int = 0


DEFAULT_LIMITS = SeriesLimits()


class KindSeriesSpec(NamedTuple):
    """Everything needed to turn one kind's objects into series, fixed for the whole run."""

    kind: Kind
    labels_name: str
    annotations_name: str
    labels: KeyFilter
    annotations: KeyFilter
    external: tuple[tuple[str, str], ...]
    limits: SeriesLimits = DEFAULT_LIMITS

    @property
    def families(self) -> int:
        """How many series each object gives (0, 1 or 2)."""
        return int(self.labels.emits) + int(self.annotations.emits)


class ObjectSeries(NamedTuple):
    """The object's series (None for a family not emitted)."""

    labels: Series | None
    annotations: Series | None

    @property
    def series(self) -> tuple[Series, ...]:
        return tuple(s for s in (self.labels, self.annotations) if s is not None)


class Tally:
    """What building series lost or altered, summed over any number of objects (a page):
    filled by `object_series`, counted into the run's metrics by the pipeline once per page."""

    __slots__ = ("empty", "invalid", "last_applied", "limited", "skipped", "truncated")

    def __init__(self) -> None:
        self.empty = 0  # empty values, not exported
        self.last_applied = 0  # last-applied-configuration values, never exported
        self.truncated = 0  # values cut to the value-length limit
        self.invalid = 0  # values with lone surrogates replaced
        self.limited = 0  # series cut to the label-count limit
        self.skipped = 0  # objects without a name


def kind_series_spec(
    kind: Kind,
    *,
    prefix: str,
    labels: KeyFilter,
    annotations: KeyFilter,
    external: Mapping[str, str],
    limits: SeriesLimits = DEFAULT_LIMITS,
) -> KindSeriesSpec:
    return KindSeriesSpec(
        kind=kind,
        labels_name=f"{prefix}_{kind.singular}_labels",
        annotations_name=f"{prefix}_{kind.singular}_annotations",
        labels=labels,
        annotations=annotations,
        external=tuple(external.items()),
        limits=limits,
    )


def object_series(spec: KindSeriesSpec, metadata: Metadata, tally: Tally) -> ObjectSeries | None:
    """The object's series, or None when it has no name (it cannot be identified); what was
    dropped or altered is added to `tally`."""
    if not metadata.name:
        tally.skipped += 1
        return None
    limit = spec.limits.max_value_bytes
    identity = [*spec.external]
    for label, field in spec.kind.identity:
        value = getattr(metadata, field)
        if value:
            identity.append((label, _safe(value, limit, tally)))
    labels = annotations = None
    if spec.labels.emits:
        keys = _selected(spec.labels, metadata.labels)
        labels = _series(
            spec, spec.labels_name, identity, prefix="label", mapping=keys, tally=tally
        )
    if spec.annotations.emits:
        keys = _selected(spec.annotations, metadata.annotations)
        annotations = _series(
            spec, spec.annotations_name, identity, prefix="annotation", mapping=keys, tally=tally
        )
    return ObjectSeries(labels, annotations)


def _selected(keys: KeyFilter, mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    """The allowlisted entries; a missing map counts as empty."""
    if not mapping:
        return {}
    return keys.select(mapping)


def _series(
    spec: KindSeriesSpec,
    metric: str,
    identity: list[tuple[str, str]],
    *,
    prefix: str,
    mapping: Mapping[str, str],
    tally: Tally,
) -> Series:
    limits = spec.limits
    keyed: list[tuple[str, str]] = []
    if mapping:
        # Named with every key, empty-valued ones included, exactly as KSM names them.
        names = label_names(prefix, tuple(mapping))
        for label, (key, value) in zip(names, mapping.items(), strict=True):
            if not value:
                tally.empty += 1
            elif key in LAST_APPLIED:
                tally.last_applied += 1
            else:
                keyed.append((label, _safe(value, limits.max_value_bytes, tally)))
    fixed = 1 + len(identity)
    if limits.max_labels and fixed + len(keyed) > limits.max_labels:
        tally.limited += 1
        keyed.sort()
        del keyed[max(0, limits.max_labels - fixed) :]
    pairs = [("__name__", metric), *identity, *keyed]
    pairs.sort()
    return tuple(pairs)


def _safe(value: str, max_bytes: int, tally: Tally) -> str:
    """`value` as valid UTF-8 of at most `max_bytes` bytes (0: no limit)."""
    if value.isascii():
        if max_bytes and len(value) > max_bytes:
            tally.truncated += 1
            return value[:max_bytes]
        return value
    if _SURROGATE.search(value):
        tally.invalid += 1
        value = _SURROGATE.sub(_REPLACEMENT, value)
    if max_bytes and len(value) * 4 > max_bytes:
        encoded = value.encode()
        if len(encoded) > max_bytes:
            tally.truncated += 1
            # "ignore" drops the bytes of a character cut in the middle.
            return encoded[:max_bytes].decode(errors="ignore")
    return value

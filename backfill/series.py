"""Object metadata to the two kube-state-metrics style series of that object (pure).

Every object gives `<prefix>_<kind>_labels` and `<prefix>_<kind>_annotations`, each carrying
the identity labels (`namespace` for namespaced kinds, `<kind>=<name>`, `uid`), the external
labels, and the allowlisted keys as `label_*` / `annotation_*`. A series is a tuple of
(name, value) pairs sorted by name with `__name__` included, as remote write requires.
"""

from collections.abc import Mapping
from typing import NamedTuple

from flowkeeper.backfill.allowlist import KeyFilter
from flowkeeper.backfill.kinds import Kind
from flowkeeper.backfill.labelnames import prometheus_labels
from flowkeeper.backfill.objects import ObjectMeta

Series = tuple[tuple[str, str], ...]

# Never exported: it is a full copy of the object, often hundreds of KiB.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class KindSeriesSpec(NamedTuple):
    """Everything needed to turn one kind's objects into series, fixed for the whole run."""

    kind: Kind
    labels_name: str
    annotations_name: str
    labels: KeyFilter
    annotations: KeyFilter
    external: tuple[tuple[str, str], ...]


class ObjectSeries(NamedTuple):
    labels: Series
    annotations: Series
    empty_values_dropped: int
    last_applied_dropped: int


def kind_series_spec(
    kind: Kind,
    *,
    prefix: str,
    labels: KeyFilter,
    annotations: KeyFilter,
    external: Mapping[str, str],
) -> KindSeriesSpec:
    return KindSeriesSpec(
        kind=kind,
        labels_name=f"{prefix}_{kind.singular}_labels",
        annotations_name=f"{prefix}_{kind.singular}_annotations",
        labels=labels,
        annotations=annotations,
        external=tuple(external.items()),
    )


def object_series(spec: KindSeriesSpec, metadata: ObjectMeta) -> ObjectSeries | None:
    """The object's two series, or None when it has no name (it cannot be identified)."""
    name = metadata.name
    if not name:
        return None
    identity = [(spec.kind.singular, name), *spec.external]
    if spec.kind.namespaced and metadata.namespace:
        identity.append(("namespace", metadata.namespace))
    if metadata.uid:
        identity.append(("uid", metadata.uid))

    labels, empty_labels = _kept(spec.labels.select(metadata.labels or {}))
    annotations, empty_annotations = _kept(spec.annotations.select(metadata.annotations or {}))
    last_applied = 0
    if LAST_APPLIED in annotations:
        del annotations[LAST_APPLIED]
        last_applied = 1
    return ObjectSeries(
        labels=_series(spec.labels_name, identity, prometheus_labels("label", labels)),
        annotations=_series(
            spec.annotations_name, identity, prometheus_labels("annotation", annotations)
        ),
        empty_values_dropped=empty_labels + empty_annotations,
        last_applied_dropped=last_applied,
    )


def _kept(mapping: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The entries with a value, and how many had none."""
    kept = {key: value for key, value in mapping.items() if value}
    return kept, len(mapping) - len(kept)


def _series(name: str, identity: list[tuple[str, str]], keys: list[tuple[str, str]]) -> Series:
    pairs = [("__name__", name), *identity, *keys]
    pairs.sort()
    return tuple(pairs)

"""LIST responses decoded straight from bytes into the few fields the series need (msgspec).

A page of realistic pod metadata is ~2 MB of JSON, most of it `managedFields`; decoding it into
dicts (json.loads) costs 30+ ms and a 6.8 MiB heap per page of 500, whereas decoding into these
typed structs skips every other field without materialising it: 3-4.5 ms and 1.3 MiB. The
structs are `gc=False` (they hold only strings and dicts of strings, so they cannot form
cycles), which keeps them out of the garbage collector's generations.
"""

import json
from collections.abc import Mapping
from typing import ClassVar, Protocol

import msgspec


class Metadata(Protocol):
    """What the series read from an object's `metadata`."""

    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def uid(self) -> str: ...
    @property
    def labels(self) -> dict[str, str] | None: ...
    @property
    def annotations(self) -> dict[str, str] | None: ...


class ObjectMeta(msgspec.Struct, gc=False):
    """`metadata` of one object: what the series are made of, nothing else."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class LabelsOnlyMeta(msgspec.Struct, gc=False):
    """The same without annotations, for a kind whose annotations are not exported (the
    default): they are a third of a realistic pod's metadata (JSON blobs, last-applied
    configuration), skipped by the decoder instead of being built and thrown away."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] | None = None
    annotations: ClassVar[None] = None


class _Item(msgspec.Struct, gc=False):
    metadata: ObjectMeta | None = None


class _LabelsOnlyItem(msgspec.Struct, gc=False):
    metadata: LabelsOnlyMeta | None = None


class _ListMeta(msgspec.Struct, gc=False):
    continue_: str = msgspec.field(default="", name="continue")


class _ObjectList(msgspec.Struct, gc=False):
    metadata: _ListMeta | None = None
    items: list[_Item] | None = None


class _LabelsOnlyList(msgspec.Struct, gc=False):
    metadata: _ListMeta | None = None
    items: list[_LabelsOnlyItem] | None = None


_DECODER = msgspec.json.Decoder(_ObjectList)
_LABELS_ONLY_DECODER = msgspec.json.Decoder(_LabelsOnlyList)
_EMPTY = ObjectMeta()


class PageError(ValueError):
    """The body is not a Kubernetes list (malformed JSON or a field of the wrong type)."""


def decode_list(body: bytes, *, annotations: bool = True) -> tuple[list[Metadata], str]:
    """The objects' metadata and the continue token ("" on the last page) of one LIST body;
    `annotations=False` leaves the annotations out (they read as None).

    A full list (a server that ignores the PartialObjectMetadataList request) decodes the same
    way: only `metadata` of each item is read.
    """
    try:
        document = (_DECODER if annotations else _LABELS_ONLY_DECODER).decode(body)
    except msgspec.DecodeError as error:  # ValidationError included: a field of another type
        # Decoded untyped by Python's json, which also accepts what msgspec refuses: lone
        # surrogates (`"\ud800"`). Go's encoder never writes them, but a page is not lost
        # for one odd string, nor for one odd string after a field of another type.
        try:
            return _lenient(json.loads(body))
        except ValueError:
            raise PageError(str(error)) from None
    items: list[Metadata] = [item.metadata or _EMPTY for item in document.items or ()]
    return items, document.metadata.continue_ if document.metadata else ""


def _lenient(document: object) -> tuple[list[Metadata], str]:
    """A page with a field of an unexpected type somewhere (never seen from kube-apiserver),
    decoded untyped: read one object at a time, so one odd object does not cost the page."""
    if not isinstance(document, dict):
        raise PageError(f"expected a JSON object, got {type(document).__name__}")
    items = document.get("items")
    metadata: list[Metadata] = [
        metadata_from(item.get("metadata") if isinstance(item, dict) else None)
        for item in (items if isinstance(items, list) else ())
    ]
    meta = document.get("metadata")
    token = meta.get("continue") if isinstance(meta, dict) else None
    return metadata, token if isinstance(token, str) else ""


def metadata_from(raw: object) -> ObjectMeta:
    """`metadata` from untyped JSON: a field of the wrong type reads as absent, a label or
    annotation value that is not a string as its text (null as empty)."""
    if not isinstance(raw, Mapping):
        return _EMPTY
    return ObjectMeta(
        name=_text(raw.get("name")),
        namespace=_text(raw.get("namespace")),
        uid=_text(raw.get("uid")),
        labels=_strings(raw.get("labels")),
        annotations=_strings(raw.get("annotations")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(mapping: object) -> dict[str, str] | None:
    if not isinstance(mapping, Mapping):
        return None
    return {
        str(key): value if isinstance(value, str) else ("" if value is None else str(value))
        for key, value in mapping.items()
    }

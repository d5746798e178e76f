"""LIST responses decoded straight from bytes into the few fields the series need (msgspec).

A page of realistic pod metadata is ~2 MB of JSON, most of it `managedFields`; decoding it into
dicts (json.loads) costs 30+ ms and a 6.8 MiB heap per page of 500, whereas decoding into these
typed structs skips every other field without materialising it: 3-4.5 ms and 1.3 MiB. The
structs are `gc=False` (they hold only strings and dicts of strings, so they cannot form
cycles), which keeps them out of the garbage collector's generations.
"""

import msgspec


class ObjectMeta(msgspec.Struct, gc=False):
    """`metadata` of one object: what the series are made of, nothing else."""

    name: str = ""
    namespace: str = ""
    uid: str = ""
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class _Item(msgspec.Struct, gc=False):
    metadata: ObjectMeta | None = None


class _ListMeta(msgspec.Struct, gc=False):
    continue_: str = msgspec.field(default="", name="continue")


class _ObjectList(msgspec.Struct, gc=False):
    metadata: _ListMeta | None = None
    items: list[_Item] | None = None


_DECODER = msgspec.json.Decoder(_ObjectList)
_EMPTY = ObjectMeta()


class PageError(ValueError):
    """The body is not a Kubernetes list (malformed JSON or a field of the wrong type)."""


def decode_list(body: bytes) -> tuple[list[ObjectMeta], str]:
    """The objects' metadata and the continue token ("" on the last page) of one LIST body.

    A full list (a server that ignores the PartialObjectMetadataList request) decodes the same
    way: only `metadata` of each item is read.
    """
    try:
        document = _DECODER.decode(body)
    except msgspec.DecodeError as error:
        raise PageError(str(error)) from None
    items = [item.metadata or _EMPTY for item in document.items or ()]
    return items, document.metadata.continue_ if document.metadata else ""

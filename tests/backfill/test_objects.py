"""LIST bodies to ObjectMeta: typed decoding, and the lenient path for odd field types."""

import json

import pytest
from flowkeeper.backfill.objects import ObjectMeta, PageError, decode_list

from tests.backfill.podshape import realistic_pod


def body(items, token=None):
    metadata = {"resourceVersion": "1", **({"continue": token} if token else {})}
    return json.dumps({"kind": "PartialObjectMetadataList", "metadata": metadata, "items": items})


def test_realistic_pods_keep_only_what_the_series_need():
    items, token = decode_list(b'{"metadata":{"continue":"abc"},"items":[%s]}' % realistic_pod(4))
    assert token == "abc"
    (pod,) = items
    original = json.loads(realistic_pod(4))["metadata"]
    assert pod == ObjectMeta(
        name=original["name"],
        namespace=original["namespace"],
        uid=original["uid"],
        labels=original["labels"],
        annotations=original["annotations"],
    )


def test_full_objects_and_missing_fields():
    items, token = decode_list(
        body([{"metadata": {"name": "a"}, "spec": {"x": 1}}, {"kind": "Pod"}]).encode()
    )
    assert token == ""
    assert items == [ObjectMeta(name="a"), ObjectMeta()]


def test_a_field_of_an_odd_type_costs_that_field_only():
    items, token = decode_list(
        body(
            [
                {"metadata": {"name": "ok", "labels": {"a": "1"}}},
                {"metadata": {"name": 5, "uid": "u"}},
                {"metadata": {"name": "values", "labels": {"n": 3, "z": None, "s": "x"}}},
                {"metadata": {"name": "maps", "labels": ["a"], "annotations": "b"}},
                "not an object",
            ],
            token="next",
        ).encode()
    )
    assert token == "next"
    assert items == [
        ObjectMeta(name="ok", labels={"a": "1"}),
        ObjectMeta(uid="u"),
        ObjectMeta(name="values", labels={"n": "3", "z": "", "s": "x"}),
        ObjectMeta(name="maps"),
        ObjectMeta(),
    ]


def test_a_lone_surrogate_after_a_field_of_an_odd_type_still_decodes_leniently():
    # The typed decoder stops at the odd type; the untyped one must accept the surrogate too.
    items, _ = decode_list(
        b'{"items":[{"metadata":{"name":"a","labels":{"n":1}}},'
        b'{"metadata":{"name":"b","labels":{"s":"\\ud800"}}}]}'
    )
    assert items == [
        ObjectMeta(name="a", labels={"n": "1"}),
        ObjectMeta(name="b", labels={"s": "\ud800"}),
    ]


@pytest.mark.parametrize("text", [b"{", b"[1, 2]", b"not json"])
def test_unreadable_bodies_raise_page_error(text):
    with pytest.raises(PageError):
        decode_list(text)


def test_annotations_are_left_out_when_not_exported():
    page = b'{"metadata":{},"items":[%s]}' % realistic_pod(4)
    (with_them,), _ = decode_list(page)
    (without,), _ = decode_list(page, annotations=False)
    assert with_them.annotations
    assert without.annotations is None
    assert (without.name, without.namespace, without.uid, without.labels) == (
        with_them.name,
        with_them.namespace,
        with_them.uid,
        with_them.labels,
    )

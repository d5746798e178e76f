import pytest
from flowkeeper.operator.constants import LAST_APPLIED_ANNOTATION
from flowkeeper.operator.plan import ownership

OWNER = {
    "apiVersion": "flows.flowkeeper.dev/v1alpha1",
    "kind": "FlowCollector",
    "metadata": {"name": "edge", "namespace": "ns", "uid": "new"},
}
LABELS = {"app.kubernetes.io/managed-by": "flowkeeper", "app.kubernetes.io/instance": "edge"}


def ref(name="edge", uid="new", kind="FlowCollector", controller=True):
    return {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1" if kind == "FlowCollector" else "apps/v1",
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": controller,
    }


def child(refs=(), labels=None, annotations=None):
    return {
        "kind": "Service",
        "metadata": {
            "name": "edge",
            "resourceVersion": "9",
            "ownerReferences": list(refs),
            "labels": labels or {},
            "annotations": annotations or {},
        },
    }


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (child([ref()]), "ours"),
        (child([ref(uid="old")]), "reown"),  # same name, re-created owner
        (child([ref(name="edge-old", uid="other")]), "foreign"),  # another FlowCollector's
        (child([ref(kind="Deployment", uid="x")]), "foreign"),
        (child(), "foreign"),  # someone else's object
        (child(labels=LABELS), "foreign"),  # our labels alone prove nothing
        (child(labels=LABELS, annotations={LAST_APPLIED_ANNOTATION: "{}"}), "reown"),  # orphan
        (child([ref(uid="new", controller=False)]), "foreign"),  # not the controller
    ],
)
def test_verdict(live, expected):
    assert ownership.verdict(live, OWNER) == expected


def test_reown_keeps_other_references_and_the_version():
    live = child([ref(uid="old"), ref(kind="Deployment", uid="d", controller=False)])
    patch = ownership.reown_patch(live, OWNER)
    assert patch["metadata"]["resourceVersion"] == "9"
    assert patch["metadata"]["ownerReferences"] == [
        ref(kind="Deployment", uid="d", controller=False),
        {**ref(), "blockOwnerDeletion": True},
    ]


def test_describe_names_the_holder():
    assert (
        ownership.describe(child([ref(name="other", uid="x")]))
        == "Service edge (controlled by FlowCollector other)"
    )
    assert ownership.describe(child()) == "Service edge (not controlled by us)"

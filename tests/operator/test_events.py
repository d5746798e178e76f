from flowkeeper.operator.kube import events

OWNER = {
    "apiVersion": "flows.flowkeeper.dev/v1alpha1",
    "kind": "FlowCollector",
    "metadata": {"name": "edge", "namespace": "ns", "uid": "u-1"},
}


def test_event_names_its_object_and_is_cut_to_the_api_limit():
    event = events.build_event(
        OWNER, type_="Warning", reason="NameConflict", message="x" * 5000, now="T"
    )
    assert event["involvedObject"] == {
        "apiVersion": "flows.flowkeeper.dev/v1alpha1",
        "kind": "FlowCollector",
        "name": "edge",
        "namespace": "ns",
        "uid": "u-1",
    }
    assert event["metadata"] == {"generateName": "edge.", "namespace": "ns"}
    assert (event["type"], event["reason"]) == ("Warning", "NameConflict")
    assert len(event["message"]) == events.MAX_MESSAGE
    assert event["source"] == {"component": "flowkeeper-operator"}

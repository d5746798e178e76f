import pytest
from flowkeeper.operator.constants import CONFIG_HASH_ANNOTATION
from flowkeeper.operator.model import status

T0 = "2024-01-01T00:00:00Z"
T1 = "2024-01-01T00:05:00Z"


def daemonset(*, generation=2, observed=2, desired=3, ready=3, updated=3, config="h1"):
    return {
        "metadata": {"generation": generation},
        "spec": {"template": {"metadata": {"annotations": {CONFIG_HASH_ANNOTATION: config}}}},
        "status": {
            "observedGeneration": observed,
            "desiredNumberScheduled": desired,
            "numberReady": ready,
            "updatedNumberScheduled": updated,
        },
    }


def build(ds, previous=None, now=T0, addresses=()):
    return status.build_status(
        generation=5,
        config_hash="h1",
        daemonset=ds,
        addresses=list(addresses),
        previous=previous or {},
        now=now,
    )


def conditions(result):
    return {c["type"]: (c["status"], c["reason"]) for c in result["conditions"]}


def test_rolled_out_daemonset_is_ready():
    assert build(daemonset(), addresses=["192.0.2.7"]) == {
        "observedGeneration": 5,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "RolloutComplete",
                "message": "3/3 collector pods ready",
                "lastTransitionTime": T0,
                "observedGeneration": 5,
            },
            {
                "type": "Progressing",
                "status": "False",
                "reason": "RolloutComplete",
                "message": "all 3 pods run the current spec",
                "lastTransitionTime": T0,
                "observedGeneration": 5,
            },
            {
                "type": "Degraded",
                "status": "False",
                "reason": "AsExpected",
                "message": "3/3 collector pods ready",
                "lastTransitionTime": T0,
                "observedGeneration": 5,
            },
        ],
        "desiredNumberScheduled": 3,
        "numberReady": 3,
        "nodes": "3/3",
        "configHash": "h1",
        "serviceAddresses": ["192.0.2.7"],
    }


@pytest.mark.parametrize(
    ("ds", "expected"),
    [
        (
            None,
            {
                "Ready": ("False", "DaemonSetMissing"),
                "Progressing": ("True", "Creating"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            daemonset(observed=1),
            {
                "Ready": ("False", "RollingOut"),
                "Progressing": ("True", "RollingOut"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            daemonset(config="old"),
            {
                "Ready": ("False", "RollingOut"),
                "Progressing": ("True", "RollingOut"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            daemonset(updated=1),
            {
                "Ready": ("False", "RollingOut"),
                "Progressing": ("True", "RollingOut"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            daemonset(ready=2),
            {
                "Ready": ("False", "PodsNotReady"),
                "Progressing": ("False", "RolloutComplete"),
                "Degraded": ("True", "PodsNotReady"),
            },
        ),
        (
            daemonset(desired=0, ready=0, updated=0),
            {
                "Ready": ("False", "NoEligibleNodes"),
                "Progressing": ("False", "RolloutComplete"),
                "Degraded": ("True", "NoEligibleNodes"),
            },
        ),
    ],
    ids=["missing", "not-observed", "old-config", "updating", "not-ready", "no-nodes"],
)
def test_conditions_follow_the_rollout(ds, expected):
    assert conditions(build(ds)) == expected


def test_daemonset_without_status_is_rolling_out():
    ds = {"metadata": {"generation": 1}, "spec": {}}
    result = build(ds)
    assert conditions(result)["Ready"] == ("False", "RollingOut")
    assert result["nodes"] == "0/0"


def test_unchanged_inputs_rebuild_an_equal_status():
    first = build(daemonset(ready=2))
    assert build(daemonset(ready=2), previous=first, now=T1) == first


def test_transition_time_moves_only_when_status_flips():
    first = build(daemonset(ready=2))
    second = build(daemonset(ready=3), previous=first, now=T1)
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times == {"Ready": T1, "Progressing": T0, "Degraded": T1}


def test_reason_change_without_flip_keeps_transition_time():
    first = build(daemonset(ready=2))  # Ready False PodsNotReady
    second = build(daemonset(observed=1), previous=first, now=T1)  # Ready False RollingOut
    ready = second["conditions"][0]
    assert (ready["reason"], ready["lastTransitionTime"]) == ("RollingOut", T0)


def test_invalid_spec_keeps_counters_and_names_the_field():
    before = build(daemonset(), addresses=["192.0.2.7"])
    message = "spec.templateStore.kvHistory must be between 1 and 64, got 65"
    result = status.refused_status(
        generation=6, reason="InvalidSpec", message=message, previous=before, now=T1
    )
    assert conditions(result) == {
        "Ready": ("False", "InvalidSpec"),
        "Progressing": ("False", "InvalidSpec"),
        "Degraded": ("True", "InvalidSpec"),
    }
    assert result["conditions"][0]["message"] == message
    assert result["observedGeneration"] == 6
    assert {k: result[k] for k in ("nodes", "configHash", "serviceAddresses")} == {
        "nodes": "3/3",
        "configHash": "h1",
        "serviceAddresses": ["192.0.2.7"],
    }


@pytest.mark.parametrize("reason", ["NameConflict", "ApplyFailed"])
def test_refusal_names_its_cause_in_every_condition(reason):
    before = build(daemonset())
    message = "Service core (controlled by FlowCollector other) already exists"
    result = status.refused_status(
        generation=2, reason=reason, message=message, previous=before, now=T1
    )
    assert conditions(result) == {
        "Ready": ("False", reason),
        "Progressing": ("False", reason),
        "Degraded": ("True", reason),
    }
    assert result["conditions"][0]["message"] == message
    assert message in result["conditions"][1]["message"]
    assert result["conditions"][0]["lastTransitionTime"] == T1  # Ready flipped
    assert result["nodes"] == "3/3"


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (None, []),
        ({"status": {}}, []),
        (
            {
                "status": {
                    "loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example"}]}
                }
            },
            ["192.0.2.1", "lb.example"],
        ),
        ({"status": {"loadBalancer": {"ingress": [{"ports": []}]}}}, []),
    ],
)
def test_service_addresses(service, expected):
    assert status.service_addresses(service) == expected


def unknown_status(fields, previous=None, now=T0):
    return status.build_status(
        generation=5,
        config_hash="h1",
        daemonset=daemonset(),
        addresses=[],
        previous=previous or {},
        now=now,
        unknown_config=fields,
    )


def test_unknown_config_keys_add_a_condition_only_once_seen():
    assert "UnknownConfigKeys" not in conditions(unknown_status([]))
    seen = unknown_status(["spec.config.chanel_size"])
    [unknown] = [c for c in seen["conditions"] if c["type"] == "UnknownConfigKeys"]
    assert (unknown["status"], unknown["reason"], unknown["lastTransitionTime"]) == (
        "True",
        "UnknownConfigKeys",
        T0,
    )
    assert unknown["message"].startswith("spec.config.chanel_size: not a setting of")
    assert status.newly_unknown(seen, {}) == unknown["message"]
    assert status.newly_unknown(seen, seen) is None  # one Event per change, not per reconcile
    # A rollout update that did not look at the spec keeps the condition as it was.
    kept = unknown_status(None, previous=seen, now=T1)
    assert [c for c in kept["conditions"] if c["type"] == "UnknownConfigKeys"] == [unknown]
    # Fixed: it turns False, and stays listed.
    fixed = unknown_status([], previous=seen, now=T1)
    assert conditions(fixed)["UnknownConfigKeys"] == ("False", "AllKeysKnown")
    assert status.newly_unknown(fixed, seen) is None


def test_invalid_config_is_a_refusal():
    refused = status.refused_status(
        generation=6, reason="InvalidConfig", message="spec.config.x: expected", previous={}, now=T1
    )
    assert conditions(refused)["Ready"] == ("False", "InvalidConfig")
    progressing = next(c for c in refused["conditions"] if c["type"] == "Progressing")
    assert progressing["message"] == "the spec is not applied until it is fixed"
    assert "InvalidConfig" in status.REFUSALS

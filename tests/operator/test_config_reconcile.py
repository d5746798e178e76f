"""Reconcile-time check of config.json against the collector's schema, with the real operator
against the emulated API server: a config the collector would refuse is never applied
(Ready=False, InvalidConfig, naming the spec field); a key it does not know is passed on and
reported (a Warning Event and the UnknownConfigKeys condition), never silently."""

import json

from e2e.cluster import eventually
from tests.operator.harness import (
    children_of,
    condition,
    create_fc,
    events,
    expect_events,
    fc_status,
    observed,
    patch_spec,
    quiet,
    sample,
    settled,
)

REFUSED = 'spec.config.batch_size: expected an integer ≥ 0, got "lots"'


async def test_a_config_the_collector_refuses_is_never_applied(api, k8s, operator):
    bad = sample("minimal.yaml")
    bad["spec"]["config"] = {"batch_size": "lots"}
    await create_fc(api, bad)

    status = await observed(api, "netflow", "edge", 1)
    ready = condition(status, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "InvalidConfig",
        REFUSED,
    )
    assert await children_of(api, "netflow", "edge") == dict.fromkeys(
        ("configmap", "daemonset", "service", "metrics"), None
    )
    await expect_events(api, "InvalidConfig", [REFUSED])

    # Fixed: applied.
    generation = await patch_spec(api, "netflow", "edge", {"config": {"batch_size": 500}})
    await settled(api, "netflow", "edge", generation)
    configmap = (await children_of(api, "netflow", "edge"))["configmap"]
    assert configmap is not None
    assert json.loads(configmap["data"]["config.json"])["batch_size"] == 500


async def test_an_applied_config_is_kept_when_the_new_one_would_be_refused(api, k8s, operator):
    await create_fc(api, sample())
    await settled(api, "netflow", "core")
    await quiet(k8s)
    before = await children_of(api, "netflow", "core")

    generation = await patch_spec(
        api,
        "netflow",
        "core",
        {
            "listeners": [
                {
                    "name": "n",
                    "protocol": "netflow",
                    "port": 2055,
                    "config": {"pending_flows": {"ttl_secs": 0}},
                }
            ]
        },
    )
    status = await observed(api, "netflow", "core", generation)
    assert condition(status, "Ready")["message"] == (
        "spec.listeners[0].config.pending_flows.ttl_secs: expected an integer in 1..3600, got 0"
    )
    await quiet(k8s)
    assert await children_of(api, "netflow", "core") == before


async def test_unknown_keys_are_passed_on_and_reported(api, k8s, operator):
    body = sample("minimal.yaml")
    body["spec"]["config"] = {"chanel_size": 5}
    await create_fc(api, body)
    status = await settled(api, "netflow", "edge")

    configmap = (await children_of(api, "netflow", "edge"))["configmap"]
    assert configmap is not None
    assert json.loads(configmap["data"]["config.json"])["chanel_size"] == 5
    unknown = condition(status, "UnknownConfigKeys")
    assert (unknown["status"], unknown["reason"]) == ("True", "UnknownConfigKeys")
    assert unknown["message"].startswith("spec.config.chanel_size: not a setting of the collector")
    await expect_events(api, "UnknownConfigKeys", [unknown["message"]])
    assert condition(status, "Ready")["reason"] != "InvalidConfig"

    # Reported once, not at every reconcile.
    await quiet(k8s)
    generation = await patch_spec(api, "netflow", "edge", {"imagePullPolicy": "Always"})
    await settled(api, "netflow", "edge", generation)
    await quiet(k8s)
    assert len(await events(api, "netflow", "UnknownConfigKeys")) == 1

    # Removed: the condition turns False.
    generation = await patch_spec(api, "netflow", "edge", {"config": {"chanel_size": None}})

    async def cleared() -> None:
        status = await fc_status(api, "netflow", "edge")
        assert status.get("observedGeneration") == generation, status
        assert condition(status, "UnknownConfigKeys")["status"] == "False", status

    await eventually(cleared)

"""The collector's config.json: snake_case keys, template store, precedence, canonical text."""

import json

import pytest
from flowkeeper.operator.model.config import build_collector_config, config_hash, render_config
from flowkeeper.operator.model.spec import RESERVED_CONFIG_KEYS, parse_spec

MINIMAL = {
    "image": "collector:1",
    "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
    "nats": {"url": "nats://nats:4222"},
}
FULL = {
    **MINIMAL,
    "listeners": [
        {"name": "netflow", "protocol": "netflow", "port": 2055},
        {"name": "sflow", "protocol": "sflow", "port": 6343},
    ],
    "metrics": {"port": 9100},
    "nats": {
        "url": "nats://nats:4222",
        "subject": "edge.flows",
        "credsSecretRef": {"name": "s", "key": "k"},
    },
    "templateStore": {"kvBucket": "flow_templates", "kvHistory": 3, "kvTtlSeconds": 600},
    "config": {"workers": 4, "decoder": {"strict": True}},
}


def test_minimal_config():
    assert build_collector_config(parse_spec(MINIMAL)) == {
        "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
        "nats_url": "nats://nats:4222",
        "subject": "flows",
        "metrics_addr": ":50046",
    }


def test_full_config():
    assert build_collector_config(parse_spec(FULL)) == {
        "listeners": [
            {"name": "netflow", "protocol": "netflow", "port": 2055},
            {"name": "sflow", "protocol": "sflow", "port": 6343},
        ],
        "nats_url": "nats://nats:4222",
        "subject": "edge.flows",
        "nats_creds_file": "/var/run/secrets/flowkeeper/nats/nats.creds",
        "metrics_addr": ":9100",
        "template_store": {
            "kv_bucket": "flow_templates",
            "kv_history": 3,
            "kv_ttl_secs": 600,
            "nats_url": "nats://nats:4222",
        },
        "workers": 4,
        "decoder": {"strict": True},
    }


def test_metrics_disabled_has_no_metrics_addr():
    config = build_collector_config(parse_spec({**MINIMAL, "metrics": {"enabled": False}}))
    assert "metrics_addr" not in config


@pytest.mark.parametrize(
    ("nats_url", "expected"),
    [("", "nats://nats:4222"), ("nats://kv:4222", "nats://kv:4222")],
    ids=["falls-back-to-nats-url", "override"],
)
def test_template_store_nats_url(nats_url, expected):
    spec = parse_spec({**MINIMAL, "templateStore": {"kvBucket": "t", "natsUrl": nats_url}})
    assert build_collector_config(spec)["template_store"]["nats_url"] == expected


def test_operator_keys_win_over_spec_config():
    # parse_spec refuses the collision; this is the guard for callers that build a spec by hand.
    spec = parse_spec(MINIMAL)
    spec["config"] = {"nats_url": "nats://elsewhere:4222", "metrics_addr": ":1", "extra": 1}
    config = build_collector_config(spec)
    assert (config["nats_url"], config["metrics_addr"], config["extra"]) == (
        "nats://nats:4222",
        ":50046",
        1,
    )


def test_reserved_keys_are_exactly_the_operator_keys():
    assert (
        set(build_collector_config(parse_spec(FULL))) - {"workers", "decoder"}
        == RESERVED_CONFIG_KEYS
    )


def test_render_is_canonical_json():
    text = render_config({"b": 1, "a": {"d": 2, "c": "é"}})
    assert text == '{\n  "a": {\n    "c": "é",\n    "d": 2\n  },\n  "b": 1\n}\n'
    assert json.loads(text) == {"b": 1, "a": {"d": 2, "c": "é"}}


def test_render_ignores_key_order():
    assert render_config({"a": 1, "b": 2}) == render_config({"b": 2, "a": 1})


def test_config_hash():
    text = render_config(build_collector_config(parse_spec(MINIMAL)))
    digest = config_hash(text)
    assert len(digest) == 16
    assert int(digest, 16) >= 0
    assert digest == config_hash(text)
    assert digest != config_hash(text.replace("2055", "2056"))


def test_config_hash_pinned():
    # Changing the hash function rolls every collector pod on operator upgrade: pin it.
    assert config_hash("{}\n") == "ca3d163bab055381"

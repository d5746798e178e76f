"""The collector's config.json: exactly the ServiceRadar collector's schema, the spec field
named when it would be refused, precedence, canonical text.

Its reader is the Rust collector (carverauto/serviceradar d8e67a9); every config built here is
checked with collector_schema, whose rules tests/operator/test_collector_schema.py proves
against the Rust source. The four `test_finding_*` tests are the findings of issue 13: each
failed on the operator before the fix.
"""

import json

import pytest
from flowkeeper.operator.model import collector_schema
from flowkeeper.operator.model.config import (
    build_collector_config,
    check_config,
    config_hash,
    render_config,
    spec_field,
)
from flowkeeper.operator.model.errors import ConfigError, SpecError
from flowkeeper.operator.model.spec import RESERVED_CONFIG_KEYS, parse_spec

MINIMAL = {
    "image": "collector:1",
    "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
    "nats": {"url": "nats://nats:4222"},
}
FULL = {
    **MINIMAL,
    "listeners": [
        {
            "name": "netflow",
            "protocol": "netflow",
            "port": 2055,
            "config": {"max_templates": 4000, "pending_flows": {"ttl_secs": 60}},
        },
        {"name": "sflow", "protocol": "sflow", "port": 6343, "subject": "edge.sflow"},
    ],
    "metrics": {"port": 9100},
    "nats": {
        "url": "tls://nats:4222",
        "subject": "edge.flows",
        "stream": {"name": "edge", "subjects": ["edge.extra.>"], "maxBytes": -1, "replicas": 3},
        "credsSecretRef": {"name": "s", "key": "k"},
        "tls": {"secretName": "nats-client"},
    },
    "templateStore": {"kvBucket": "flow_templates", "kvHistory": 3, "kvTtlSeconds": 600},
    "config": {"batch_size": 500, "drop_policy": "block"},
}


def config_of(spec):
    config = build_collector_config(parse_spec(spec))
    assert collector_schema.problems(config) == []
    return config


# --- the findings of issue 13, one test each ------------------------------------------------


def test_finding_stream_name_is_written():
    # The collector refused every config with "missing field stream_name" (config.rs:11).
    config = build_collector_config(parse_spec(MINIMAL))
    assert config["stream_name"] == "events"
    assert collector_schema.problems(config) == []


def test_finding_each_listener_has_listen_addr_and_subject():
    # The collector needs listen_addr and subject per listener (config.rs:84-106); name/port and
    # a top-level subject were ignored.
    spec = {**MINIMAL, "listeners": FULL["listeners"], "nats": {"url": "nats://n:4222"}}
    config = build_collector_config(parse_spec(spec))
    assert [(item["listen_addr"], item["subject"]) for item in config["listeners"]] == [
        ("0.0.0.0:2055", "flows.raw.netflow"),
        ("0.0.0.0:6343", "edge.sflow"),
    ]
    assert all("name" not in item and "port" not in item for item in config["listeners"])
    assert "subject" not in config
    assert collector_schema.problems(config) == []


def test_finding_metrics_addr_has_a_host():
    # TcpListener::bind(":50046") fails (metrics.rs:272): /metrics never answered.
    config = build_collector_config(parse_spec(MINIMAL))
    assert config["metrics_addr"] == "0.0.0.0:50046"
    assert collector_schema.socket_address(config["metrics_addr"])


def test_finding_tls_gives_the_security_block():
    # No way to give the collector its NATS client certificate (ServiceRadar's NATS is mTLS).
    spec = {**MINIMAL, "nats": {"url": "tls://serviceradar-nats:4222", "tls": {"secretName": "t"}}}
    config = build_collector_config(parse_spec(spec))
    assert config["security"] == {
        "mode": "mtls",
        "cert_dir": "/var/run/secrets/flowkeeper/nats-tls",
        "tls": {"cert_file": "tls.crt", "key_file": "tls.key", "ca_file": "ca.crt"},
    }
    assert collector_schema.problems(config) == []


# --- the whole file ------------------------------------------------------------------------


def test_minimal_config():
    assert config_of(MINIMAL) == {
        "nats_url": "nats://nats:4222",
        "stream_name": "events",
        "stream_max_bytes": 10737418240,
        "stream_replicas": 1,
        "listeners": [
            {"protocol": "netflow", "listen_addr": "0.0.0.0:2055", "subject": "flows.raw.netflow"}
        ],
        "metrics_addr": "0.0.0.0:50046",
    }


def test_full_config():
    assert config_of(FULL) == {
        "nats_url": "tls://nats:4222",
        "nats_creds_file": "/var/run/secrets/flowkeeper/nats/nats.creds",
        "stream_name": "edge",
        "stream_subjects": ["edge.extra.>"],
        "stream_max_bytes": -1,
        "stream_replicas": 3,
        "security": {
            "mode": "mtls",
            "cert_dir": "/var/run/secrets/flowkeeper/nats-tls",
            "tls": {"cert_file": "tls.crt", "key_file": "tls.key", "ca_file": "ca.crt"},
        },
        "listeners": [
            {
                "protocol": "netflow",
                "listen_addr": "0.0.0.0:2055",
                "subject": "edge.flows.raw.netflow",
                "max_templates": 4000,
                "pending_flows": {"ttl_secs": 60},
            },
            {"protocol": "sflow", "listen_addr": "0.0.0.0:6343", "subject": "edge.sflow"},
        ],
        "metrics_addr": "0.0.0.0:9100",
        "template_store": {"kv_bucket": "flow_templates", "kv_history": 3, "kv_ttl_secs": 600},
        "batch_size": 500,
        "drop_policy": "block",
    }


def test_tls_with_a_ca_only():
    # nats_client.rs:24-31: a CA alone is added as a root, no client certificate is presented.
    tls = {"secretName": "ca", "certKey": "", "keyKey": ""}
    config = config_of({**MINIMAL, "nats": {"url": "tls://n:4222", "tls": tls}})
    assert config["security"]["tls"] == {"ca_file": "ca.crt"}


def test_tls_with_a_client_certificate_only():
    tls = {"secretName": "c", "caKey": ""}
    config = config_of({**MINIMAL, "nats": {"url": "tls://n:4222", "tls": tls}})
    assert config["security"]["tls"] == {"cert_file": "tls.crt", "key_file": "tls.key"}


def test_metrics_disabled_has_no_metrics_addr():
    config = config_of({**MINIMAL, "metrics": {"enabled": False}})
    assert "metrics_addr" not in config


@pytest.mark.parametrize(
    ("nats_url", "expected"),
    [("", None), ("nats://kv:4222", "nats://kv:4222")],
    ids=["omitted-when-not-overridden", "override"],
)
def test_template_store_nats_url(nats_url, expected):
    # Absent means the top-level nats_url (main.rs bootstrap_template_store); "" is refused.
    config = config_of({**MINIMAL, "templateStore": {"kvBucket": "t", "natsUrl": nats_url}})
    assert config["template_store"].get("nats_url") == expected


def test_operator_keys_win_over_spec_config():
    # parse_spec refuses the collision; this is the guard for callers that build a spec by hand.
    spec = parse_spec(MINIMAL)
    spec["config"] = {"nats_url": "nats://elsewhere:4222", "metrics_addr": ":1", "extra": 1}
    spec["listeners"][0]["config"] = {"listen_addr": ":1", "buffer_size": 1}
    config = build_collector_config(spec)
    assert (config["nats_url"], config["metrics_addr"], config["extra"]) == (
        "nats://nats:4222",
        "0.0.0.0:50046",
        1,
    )
    assert config["listeners"][0]["listen_addr"] == "0.0.0.0:2055"
    assert config["listeners"][0]["buffer_size"] == 1


def test_reserved_keys_are_exactly_the_operator_keys():
    assert (
        set(build_collector_config(parse_spec(FULL)))
        - {
            "batch_size",
            "drop_policy",
        }
        == RESERVED_CONFIG_KEYS
    )


# --- the check before applying -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"config": {"batch_size": "lots"}},
            'spec.config.batch_size: expected an integer ≥ 0, got "lots"',
        ),
        (
            {"config": {"channel_size": 10.0}},
            "spec.config.channel_size: expected an integer ≥ 0, got 10.0",
        ),
        (
            {"config": {"drop_policy": "oldest"}},
            'spec.config.drop_policy: expected one of "drop_oldest", "drop_newest", "block", '
            'got "oldest"',
        ),
        (
            {"config": {"publish_timeout_ms": -1}},
            "spec.config.publish_timeout_ms: expected an integer ≥ 0, got -1",
        ),
        (
            {"config": {"partition": None}},
            "spec.config.partition: expected a string, got null",
        ),
        (
            {
                "listeners": [
                    {
                        "name": "netflow",
                        "protocol": "netflow",
                        "port": 2055,
                        "config": {"pending_flows": {"max_entry_size_bytes": 0}},
                    }
                ]
            },
            "spec.listeners[0].config.pending_flows.max_entry_size_bytes: expected an integer in "
            "1..1048576, got 0",
        ),
        (
            {
                "listeners": [
                    {
                        "name": "sflow",
                        "protocol": "sflow",
                        "port": 6343,
                        "config": {"max_samples_per_datagram": -5},
                    }
                ]
            },
            "spec.listeners[0].config.max_samples_per_datagram: expected an integer in "
            "0..4294967295 or null, got -5",
        ),
    ],
    ids=["string", "float", "enum", "negative", "null", "listener-range", "sflow-u32"],
)
def test_a_config_the_collector_refuses_names_the_spec_field(changes, message):
    with pytest.raises(ConfigError) as caught:
        check_config(parse_spec({**MINIMAL, **changes}))
    assert str(caught.value) == message
    assert caught.value.reason == "InvalidConfig"
    assert isinstance(caught.value, SpecError)


def test_unknown_keys_are_passed_on_and_named():
    spec = {
        **MINIMAL,
        "listeners": [{**MINIMAL["listeners"][0], "config": {"max_template": 9}}],
        "config": {"chanel_size": 5, "batch_size": 10},
    }
    assert check_config(parse_spec(spec)) == [
        "spec.config.chanel_size",
        "spec.listeners[0].config.max_template",
    ]
    config = build_collector_config(parse_spec(spec))
    assert config["chanel_size"] == 5
    assert config["listeners"][0]["max_template"] == 9


def test_a_known_config_has_no_unknown_keys():
    assert check_config(parse_spec(FULL)) == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("stream_name",), "spec.nats.stream.name"),
        (("stream_subjects", 2), "spec.nats.stream.subjects[2]"),
        (("listeners", 1, "listen_addr"), "spec.listeners[1].port"),
        (("listeners", 1, "subject"), "spec.listeners[1].subject"),
        (
            ("listeners", 1, "pending_flows", "ttl_secs"),
            "spec.listeners[1].config.pending_flows.ttl_secs",
        ),
        (("listeners", 0), "spec.listeners[0]"),
        (("metrics_addr",), "spec.metrics.port"),
        (("security", "tls", "ca_file"), "spec.nats.tls"),
        (("template_store", "kv_history"), "spec.templateStore.kvHistory"),
        (("nats_creds_file",), "spec.nats.credsSecretRef"),
        (("batch_size",), "spec.config.batch_size"),
        (("extra", "deep", 0), "spec.config.extra.deep[0]"),
        ((), "spec"),
    ],
)
def test_spec_field_of_a_config_path(path, field):
    assert spec_field(path) == field


# --- the text ------------------------------------------------------------------------------


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

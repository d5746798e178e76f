"""operator/model/collector-config.schema.json mirrors the ServiceRadar collector's own rules.

The reader of config.json is the Rust collector at carverauto/serviceradar d8e67a937: serde
deserializes `Config` (rust/flow-collector/src/config.rs), then `Config::validate` runs, then
main.rs binds each listener (`UdpSocket::bind(listen_addr)`, line 106) and metrics.rs the
metrics endpoint (`TcpListener::bind(&addr)`, line 272). Each case below cites the line of
config.rs (at d8e67a937) that accepts or refuses it. The collector's own sample config and the
configs of ServiceRadar's chart and demo manifests are read from a checkout of ServiceRadar
when one is available (SERVICERADAR_REPO, default the local mirror); nothing of it is copied
into this repository.
"""

import copy
import json
import os
import pathlib
import subprocess

import pytest
import yaml
from flowkeeper.operator.model import collector_schema

COMMIT = "d8e67a937"
REPO = pathlib.Path(
    os.environ.get("SERVICERADAR_REPO", "/work/.mirror/carverauto+serviceradar/repo")
)

BASE = {
    "nats_url": "nats://localhost:4222",
    "stream_name": "events",
    "listeners": [
        {"protocol": "sflow", "listen_addr": "0.0.0.0:6343", "subject": "flows.raw.sflow"},
        {"protocol": "netflow", "listen_addr": "0.0.0.0:2055", "subject": "flows.raw.netflow"},
    ],
}


def changed(path, value):
    """BASE with the value at ``path`` set (a missing sentinel deletes it)."""
    config = copy.deepcopy(BASE)
    *parents, last = path
    node = config
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


DELETE = object()
L0, L1 = ("listeners", 0), ("listeners", 1)

# (case, config, the config.json path refused or None when accepted, the Rust source)
CASES = [
    ("minimal two listeners", BASE, None, "config.rs:396 test_valid_multi_listener_config"),
    ("nats_url missing", changed(("nats_url",), DELETE), ("nats_url",), "config.rs:8 String"),
    ("nats_url empty", changed(("nats_url",), ""), ("nats_url",), "config.rs:261"),
    ("stream_name missing", changed(("stream_name",), DELETE), ("stream_name",), "config.rs:11"),
    ("stream_name empty", changed(("stream_name",), ""), ("stream_name",), "config.rs:264"),
    ("stream_replicas 0", changed(("stream_replicas",), 0), ("stream_replicas",), "config.rs:267"),
    ("stream_replicas 3", changed(("stream_replicas",), 3), None, "config.rs:17 usize"),
    ("stream_max_bytes -1", changed(("stream_max_bytes",), -1), None, "config.rs:15 i64"),
    (
        "stream_max_bytes above i64",
        changed(("stream_max_bytes",), 2**63),
        ("stream_max_bytes",),
        "config.rs:15 i64",
    ),
    ("stream_subjects list", changed(("stream_subjects",), ["a.>"]), None, "config.rs:13"),
    ("stream_subjects null", changed(("stream_subjects",), None), None, "config.rs:13 Option"),
    ("stream_subjects string", changed(("stream_subjects",), "a"), ("stream_subjects",), "13"),
    ("listeners missing", changed(("listeners",), DELETE), ("listeners",), "config.rs:49"),
    ("listeners empty", changed(("listeners",), []), ("listeners",), "config.rs:270"),
    ("batch_size string", changed(("batch_size",), "lots"), ("batch_size",), "config.rs:25 usize"),
    ("batch_size float", changed(("batch_size",), 100.0), ("batch_size",), "config.rs:25 usize"),
    ("batch_size bool", changed(("batch_size",), True), ("batch_size",), "config.rs:25 usize"),
    ("batch_size negative", changed(("batch_size",), -1), ("batch_size",), "config.rs:25 usize"),
    ("batch_size null", changed(("batch_size",), None), ("batch_size",), "config.rs:24 default"),
    ("channel_size 0", changed(("channel_size",), 0), None, "config.rs:23 usize, no range check"),
    ("drop_policy block", changed(("drop_policy",), "block"), None, "config.rs:137 snake_case"),
    ("drop_policy Block", changed(("drop_policy",), "Block"), ("drop_policy",), "config.rs:137"),
    ("partition", changed(("partition",), "edge"), None, "config.rs:19 String"),
    ("partition number", changed(("partition",), 1), ("partition",), "config.rs:19 String"),
    ("unknown key ignored", changed(("chanel_size",), 5), None, "no deny_unknown_fields"),
    ("metrics_addr 0.0.0.0", changed(("metrics_addr",), "0.0.0.0:50046"), None, "metrics.rs:272"),
    ("metrics_addr [::]", changed(("metrics_addr",), "[::]:50046"), None, "metrics.rs:272"),
    ("metrics_addr null", changed(("metrics_addr",), None), None, "config.rs:37 Option"),
    ("metrics_addr no host", changed(("metrics_addr",), ":50046"), ("metrics_addr",), "bind"),
    ("metrics_addr no port", changed(("metrics_addr",), "0.0.0.0"), ("metrics_addr",), "bind"),
    (
        "metrics_addr port 65536",
        changed(("metrics_addr",), "0.0.0.0:65536"),
        ("metrics_addr",),
        "u16",
    ),
    (
        "metrics_addr bad IPv4",
        changed(("metrics_addr",), "1.2.3.999:80"),
        ("metrics_addr",),
        "bind",
    ),
    ("metrics_addr bad IPv6", changed(("metrics_addr",), "[::g]:80"), ("metrics_addr",), "bind"),
    ("listen_addr no host", changed((*L0, "listen_addr"), ":6343"), (*L0, "listen_addr"), "106"),
    ("listen_addr empty", changed((*L0, "listen_addr"), ""), (*L0, "listen_addr"), "config.rs:295"),
    ("listen_addr missing", changed((*L0, "listen_addr"), DELETE), (*L0, "listen_addr"), "84"),
    ("listen_addr [::]", changed((*L0, "listen_addr"), "[::]:6343"), None, "main.rs:106"),
    ("listen_addr localhost", changed((*L0, "listen_addr"), "localhost:6343"), None, "106"),
    (
        "listen_addr duplicate",
        changed((*L1, "listen_addr"), "0.0.0.0:6343"),
        (*L1, "listen_addr"),
        "config.rs:301",
    ),
    ("subject empty", changed((*L0, "subject"), ""), (*L0, "subject"), "config.rs:298"),
    ("subject missing", changed((*L1, "subject"), DELETE), (*L1, "subject"), "config.rs:85"),
    ("protocol missing", changed((*L0, "protocol"), DELETE), (*L0, "protocol"), "config.rs:82"),
    ("protocol ipfix", changed((*L0, "protocol"), "ipfix"), (*L0, "protocol"), "config.rs:82"),
    ("protocol NetFlow", changed((*L1, "protocol"), "NetFlow"), (*L1, "protocol"), "lowercase"),
    ("name and port ignored", changed((*L0, "port"), 6343), None, "no deny_unknown_fields"),
    ("sflow buffer_size", changed((*L0, "buffer_size"), 1024), None, "config.rs:88 usize"),
    (
        "sflow max_samples_per_datagram above u32",
        changed((*L0, "max_samples_per_datagram"), 2**32),
        (*L0, "max_samples_per_datagram"),
        "config.rs:90 Option<u32>",
    ),
    (
        "sflow max_samples_per_datagram 1000",
        changed((*L0, "max_samples_per_datagram"), 1000),
        None,
        "config.rs:90",
    ),
    ("netflow max_templates", changed((*L1, "max_templates"), 10), None, "config.rs:97 usize"),
    (
        "netflow max_templates string",
        changed((*L1, "max_templates"), "10"),
        (*L1, "max_templates"),
        "config.rs:97 usize",
    ),
    (
        "pending_flows defaults",
        changed((*L1, "pending_flows"), {}),
        None,
        "config.rs:146 PendingFlowsCacheConfig, every field defaulted",
    ),
    (
        "pending_flows max_pending_flows 0",
        changed((*L1, "pending_flows"), {"max_pending_flows": 0}),
        (*L1, "pending_flows", "max_pending_flows"),
        "config.rs:311",
    ),
    (
        "pending_flows max_pending_flows 10001",
        changed((*L1, "pending_flows"), {"max_pending_flows": 10001}),
        (*L1, "pending_flows", "max_pending_flows"),
        "config.rs:311",
    ),
    (
        "pending_flows max_entries_per_template 100001",
        changed((*L1, "pending_flows"), {"max_entries_per_template": 100001}),
        (*L1, "pending_flows", "max_entries_per_template"),
        "config.rs:317",
    ),
    (
        "pending_flows max_entry_size_bytes 1048577",
        changed((*L1, "pending_flows"), {"max_entry_size_bytes": 1048577}),
        (*L1, "pending_flows", "max_entry_size_bytes"),
        "config.rs:323",
    ),
    (
        "pending_flows ttl_secs 3600",
        changed((*L1, "pending_flows"), {"ttl_secs": 3600}),
        None,
        "config.rs:329",
    ),
    (
        "pending_flows ttl_secs 3601",
        changed((*L1, "pending_flows"), {"ttl_secs": 3601}),
        (*L1, "pending_flows", "ttl_secs"),
        "config.rs:329",
    ),
    (
        "pending_flows on sflow is ignored",
        changed((*L0, "pending_flows"), {"ttl_secs": 0}),
        None,
        "config.rs:308 only the Netflow variant is checked; Sflow ignores the key",
    ),
    (
        "template_store minimal",
        changed(("template_store",), {"kv_bucket": "flow_templates"}),
        None,
        "config.rs:449 template_store_block_deserializes",
    ),
    (
        "template_store no bucket",
        changed(("template_store",), {"kv_history": 1}),
        ("template_store", "kv_bucket"),
        "config.rs:56 String",
    ),
    (
        "template_store empty bucket",
        changed(("template_store",), {"kv_bucket": ""}),
        ("template_store", "kv_bucket"),
        "config.rs:274",
    ),
    (
        "template_store kv_history 0",
        changed(("template_store",), {"kv_bucket": "b", "kv_history": 0}),
        ("template_store", "kv_history"),
        "config.rs:277",
    ),
    (
        "template_store kv_history 65",
        changed(("template_store",), {"kv_bucket": "b", "kv_history": 65}),
        ("template_store", "kv_history"),
        "config.rs:277",
    ),
    (
        "template_store nats_url empty",
        changed(("template_store",), {"kv_bucket": "b", "nats_url": ""}),
        ("template_store", "nats_url"),
        "config.rs:285",
    ),
    (
        "template_store nats_url null",
        changed(("template_store",), {"kv_bucket": "b", "nats_url": None}),
        None,
        "config.rs:71 Option",
    ),
    ("template_store null", changed(("template_store",), None), None, "config.rs:46 Option"),
    (
        "security mtls, full",
        changed(
            ("security",),
            {
                "mode": "mtls",
                "cert_dir": "/c",
                "tls": {"cert_file": "a", "key_file": "b", "ca_file": "c"},
            },
        ),
        None,
        "config.rs:164 SecurityConfig",
    ),
    (
        "security mtls, CA only",
        changed(("security",), {"mode": "mtls", "tls": {"ca_file": "/c/ca.crt"}}),
        None,
        "config.rs:172 TlsConfig fields are Options; nats_client.rs:24 adds the CA alone",
    ),
    (
        "security without mode",
        changed(("security",), {"cert_dir": "/c"}),
        ("security", "mode"),
        "config.rs:166 mode: SecurityMode",
    ),
    (
        "security mode tls",
        changed(("security",), {"mode": "tls"}),
        ("security", "mode"),
        "config.rs:157 SecurityMode lowercase: mtls | none",
    ),
    (
        "security tls file not a string",
        changed(("security",), {"mode": "mtls", "tls": {"ca_file": 1}}),
        ("security", "tls", "ca_file"),
        "config.rs:175 Option<String>",
    ),
    ("nats_creds_file", changed(("nats_creds_file",), "/c/x.creds"), None, "config.rs:10"),
]


@pytest.mark.parametrize(
    ("config", "refused", "source"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_schema_mirrors_the_collector(config, refused, source):
    problems = collector_schema.problems(config)
    if refused is None:
        assert problems == [], source
    else:
        assert [problem.path for problem in problems] == [refused], source


def test_the_schema_cites_its_source_commit():
    schema = collector_schema.schema()
    assert schema["x-source"]["commit"] == COMMIT
    assert schema["x-source"]["repository"] == "carverauto/serviceradar"
    assert COMMIT in schema["$comment"]
    assert COMMIT[:7] == collector_schema.SOURCE_COMMIT


def test_messages_say_what_was_expected():
    [problem] = collector_schema.problems(changed(("batch_size",), "lots"))
    assert (problem.expected, problem.got) == ("an integer ≥ 0", '"lots"')
    [problem] = collector_schema.problems(changed(("stream_name",), DELETE))
    assert (problem.path, problem.got) == (("stream_name",), "")
    [problem] = collector_schema.problems(changed((*L1, "listen_addr"), "0.0.0.0:6343"))
    assert problem.expected == "a listen_addr not used by listeners[0]"


def test_unknown_keys_are_found_at_every_level():
    config = changed(("chanel_size",), 1)
    config["listeners"][0]["name"] = "sflow"
    config["listeners"][1]["pending_flows"] = {"ttl": 1}
    config["listeners"][0]["max_templates"] = 1  # a netflow key on an sflow listener
    config["template_store"] = {"kv_bucket": "b", "bucket": "x"}
    config["security"] = {"mode": "none", "tls": {"ca": "x"}}
    assert collector_schema.unknown_keys(config) == [
        ("chanel_size",),
        ("listeners", 0, "max_templates"),
        ("listeners", 0, "name"),
        ("listeners", 1, "pending_flows", "ttl"),
        ("security", "tls", "ca"),
        ("template_store", "bucket"),
    ]
    assert collector_schema.unknown_keys(BASE) == []


# --- ServiceRadar's own configs, read from a checkout (never copied here) -------------------


def serviceradar_file(path):
    if not (REPO / "HEAD").exists() and not (REPO / ".git").exists():
        pytest.skip(f"no ServiceRadar checkout at {REPO} (set SERVICERADAR_REPO)")
    shown = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{COMMIT}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        pytest.skip(f"{path} not readable at {COMMIT}: {shown.stderr.strip()}")
    return shown.stdout


def upstream_configs():
    """(name, config) of each config.json ServiceRadar ships for this collector."""
    sample = json.loads(serviceradar_file("rust/flow-collector/flow-collector.json"))
    values = yaml.safe_load(serviceradar_file("helm/serviceradar/values.yaml"))
    demo = next(
        doc
        for doc in yaml.safe_load_all(
            serviceradar_file("k8s/demo/base/serviceradar-flow-collector.yaml")
        )
        if doc and doc.get("kind") == "ConfigMap"
    )
    return [
        ("rust/flow-collector/flow-collector.json", sample),
        ("helm/serviceradar/values.yaml flowCollector.config", values["flowCollector"]["config"]),
        (
            "k8s/demo/base/serviceradar-flow-collector.yaml",
            json.loads(demo["data"]["flow-collector.json"]),
        ),
    ]


def test_serviceradar_configs_validate():
    configs = upstream_configs()
    for name, config in configs:
        assert collector_schema.problems(config) == [], name
        assert collector_schema.unknown_keys(config) == [], name
    # The default stream name of spec.nats.stream.name is the one all three use.
    assert {config["stream_name"] for _, config in configs} == {"events"}
    # ... and the check can fail on them: v0.2's metrics_addr form is refused.
    [(_, chart)] = [item for item in configs if item[0].startswith("helm/")]
    assert [p.path for p in collector_schema.problems({**chart, "metrics_addr": ":50046"})] == [
        ("metrics_addr",)
    ]


def nodes(node, path="#"):
    if isinstance(node, dict):
        yield path, node
        for key, sub in node.items():
            if key not in ("if", "const"):
                yield from nodes(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from nodes(sub, f"{path}/{index}")


RULES = {"type", "enum", "minimum", "maximum", "pattern", "minLength", "minItems", "format"}


def test_every_rule_says_what_it_expects():
    # Messages read "expected <x-expected>": a rule without one would fall back to jsonschema's
    # own wording, which names the schema, not the field.
    schema = collector_schema.schema()
    unexplained = [
        path
        for path, node in nodes({k: v for k, v in schema.items() if k != "x-notes"})
        if RULES & set(node) and "x-expected" not in node and "/if" not in path
    ]
    assert unexplained == []

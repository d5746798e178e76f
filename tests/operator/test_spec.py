"""parse_spec: defaults, and one clear error per bad field (the CRD's rules, re-checked)."""

import copy

import pytest
from flowkeeper.operator.model.errors import SpecError
from flowkeeper.operator.model.spec import check_name, parse_spec

MINIMAL = {
    "image": "collector:1",
    "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
    "nats": {"url": "nats://nats:4222"},
}


def with_(**changes):
    spec = copy.deepcopy(MINIMAL)
    spec.update(changes)
    return spec


def listeners(*items):
    return [{"name": n, "protocol": p, "port": port} for n, p, port in items]


def test_minimal_spec_gets_every_default():
    assert parse_spec(MINIMAL) == {
        "image": "collector:1",
        "imagePullPolicy": "IfNotPresent",
        "listeners": [
            {
                "name": "netflow",
                "protocol": "netflow",
                "port": 2055,
                "subject": "flows.raw.netflow",
                "config": {},
            }
        ],
        "metrics": {"enabled": True, "port": 50046},
        "nats": {
            "url": "nats://nats:4222",
            "subject": "flows",
            "stream": {"name": "events", "subjects": [], "maxBytes": 10737418240, "replicas": 1},
        },
        "service": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "annotations": {},
            "loadBalancerIP": "",
        },
        "nodeSelector": {},
        "tolerations": [],
        "affinity": {},
        "priorityClassName": "",
        "resources": {},
        "hostNetwork": False,
        "config": {},
    }


def test_full_spec_is_kept():
    spec = with_(
        imagePullPolicy="Always",
        listeners=[
            {
                "name": "netflow",
                "protocol": "netflow",
                "port": 2055,
                "subject": "nf",
                "config": {"max_templates": 10},
            },
            {"name": "sflow", "protocol": "sflow", "port": 6343, "subject": "s", "config": {}},
        ],
        metrics={"enabled": False, "port": 9100},
        nats={
            "url": "tls://n:4222",
            "subject": "a.b",
            "stream": {"name": "S", "subjects": ["a.>", "b.*.c"], "maxBytes": -1, "replicas": 5},
            "credsSecretRef": {"name": "s", "key": "k"},
            "tls": {"secretName": "t", "caKey": "", "certKey": "c", "keyKey": "k"},
        },
        templateStore={
            "kvBucket": "t",
            "kvHistory": 64,
            "kvTtlSeconds": 0,
            "natsUrl": "nats://kv:4222",
        },
        service={"type": "NodePort", "externalTrafficPolicy": "Cluster", "annotations": {"a": "b"}},
        nodeSelector={"edge": "true"},
        tolerations=[{"operator": "Exists"}],
        affinity={"nodeAffinity": {}},
        priorityClassName="high",
        resources={"limits": {"cpu": 1, "memory": "1Gi"}},
        hostNetwork=True,
        config={"batch_size": 2},
    )
    expected = {**spec, "service": {**spec["service"], "loadBalancerIP": ""}}
    assert parse_spec(spec) == expected


def test_result_does_not_share_the_input():
    spec = with_(config={"nested": {"a": 1}}, affinity={"x": {"y": 1}}, tolerations=[{"key": "k"}])
    parsed = parse_spec(spec)
    parsed["config"]["nested"]["a"] = 2
    parsed["affinity"]["x"]["y"] = 2
    parsed["tolerations"][0]["key"] = "changed"
    assert spec == with_(
        config={"nested": {"a": 1}}, affinity={"x": {"y": 1}}, tolerations=[{"key": "k"}]
    )


BAD = [
    ("missing image", {"image": None}, "spec.image is required"),
    ("empty image", {"image": ""}, "spec.image must not be empty"),
    ("image type", {"image": 5}, "spec.image must be a string, got 5"),
    (
        "pull policy",
        {"imagePullPolicy": "Sometimes"},
        "spec.imagePullPolicy must be one of Always, IfNotPresent, Never, got 'Sometimes'",
    ),
    ("no listeners", {"listeners": None}, "spec.listeners is required"),
    ("listeners not list", {"listeners": {}}, "spec.listeners must be a list, got {}"),
    ("zero listeners", {"listeners": []}, "spec.listeners must have between 1 and 16 items, got 0"),
    (
        "17 listeners",
        {"listeners": listeners(*[(f"l{i}", "netflow", 3000 + i) for i in range(17)])},
        "spec.listeners must have between 1 and 16 items, got 17",
    ),
    (
        "port 0",
        {"listeners": listeners(("a", "netflow", 0))},
        "spec.listeners[0].port must be between 1 and 65535, got 0",
    ),
    (
        "port 65536",
        {"listeners": listeners(("a", "netflow", 65536))},
        "spec.listeners[0].port must be between 1 and 65535, got 65536",
    ),
    (
        "port bool",
        {"listeners": listeners(("a", "netflow", True))},
        "spec.listeners[0].port must be an integer, got True",
    ),
    (
        "port string",
        {"listeners": listeners(("a", "netflow", "2055"))},
        "spec.listeners[0].port must be an integer, got '2055'",
    ),
    (
        "protocol",
        {"listeners": listeners(("a", "ipfix", 1))},
        "spec.listeners[0].protocol must be one of netflow, sflow, got 'ipfix'",
    ),
    (
        "missing protocol",
        {"listeners": [{"name": "a", "port": 1}]},
        "spec.listeners[0].protocol is required",
    ),
    (
        "unknown listener field",
        {"listeners": [{"name": "a", "protocol": "sflow", "port": 1, "host": "x"}]},
        "spec.listeners[0].host is not a known field of spec.listeners[0]",
    ),
    (
        "name too long",
        {"listeners": listeners(("a" * 16, "netflow", 1))},
        "spec.listeners[0].name must be at most 15 characters, got 16",
    ),
    (
        "name upper",
        {"listeners": listeners(("Nf", "netflow", 1))},
        "spec.listeners[0].name must be 1-15 lower-case letters, digits and single '-', "
        "with at least one letter, got 'Nf'",
    ),
    (
        "name digits",
        {"listeners": listeners(("2055", "netflow", 1))},
        "spec.listeners[0].name must be 1-15 lower-case letters, digits and single '-', "
        "with at least one letter, got '2055'",
    ),
    (
        "name metrics",
        {"listeners": listeners(("metrics", "netflow", 1))},
        "spec.listeners[0].name 'metrics' is reserved for the metrics port",
    ),
    (
        "duplicate names",
        {"listeners": listeners(("a", "netflow", 1), ("b", "sflow", 2), ("a", "sflow", 3))},
        "spec.listeners[2].name must be unique, 'a' is also used by spec.listeners[0]",
    ),
    (
        "duplicate ports",
        {"listeners": listeners(("a", "netflow", 1), ("b", "sflow", 2), ("c", "sflow", 2))},
        "spec.listeners[2].port must be unique, 2 is also used by spec.listeners[1]",
    ),
    (
        "metrics port clash",
        {"metrics": {"port": 2055}},
        "spec.metrics.port must differ from every listener port, 2055 is used by spec.listeners[0]",
    ),
    (
        "metrics port 0",
        {"metrics": {"port": 0}},
        "spec.metrics.port must be between 1 and 65535, got 0",
    ),
    (
        "metrics enabled",
        {"metrics": {"enabled": "yes"}},
        "spec.metrics.enabled must be true or false, got 'yes'",
    ),
    ("no nats", {"nats": None}, "spec.nats is required"),
    ("nats url missing", {"nats": {"subject": "x"}}, "spec.nats.url is required"),
    (
        "nats url scheme",
        {"nats": {"url": "http://n:4222"}},
        "spec.nats.url must be a nats://, tls://, ws:// or wss:// URL without spaces, got 'http://n:4222'",
    ),
    (
        "nats subject wildcard",
        {"nats": {"url": "nats://n", "subject": "flows.*"}},
        "spec.nats.subject must be dot-separated tokens without spaces or wildcards, got 'flows.*'",
    ),
    (
        "creds key missing",
        {"nats": {"url": "nats://n", "credsSecretRef": {"name": "s"}}},
        "spec.nats.credsSecretRef.key is required",
    ),
    (
        "creds name",
        {"nats": {"url": "nats://n", "credsSecretRef": {"name": "S_1", "key": "k"}}},
        "spec.nats.credsSecretRef.name must be a DNS-1123 subdomain, got 'S_1'",
    ),
    ("kvBucket missing", {"templateStore": {}}, "spec.templateStore.kvBucket is required"),
    (
        "kvBucket dot",
        {"templateStore": {"kvBucket": "a.b"}},
        "spec.templateStore.kvBucket must match ^[a-zA-Z0-9_-]+$, got 'a.b'",
    ),
    (
        "kvHistory 0",
        {"templateStore": {"kvBucket": "t", "kvHistory": 0}},
        "spec.templateStore.kvHistory must be between 1 and 64, got 0",
    ),
    (
        "kvHistory 65",
        {"templateStore": {"kvBucket": "t", "kvHistory": 65}},
        "spec.templateStore.kvHistory must be between 1 and 64, got 65",
    ),
    (
        "kvTtl negative",
        {"templateStore": {"kvBucket": "t", "kvTtlSeconds": -1}},
        "spec.templateStore.kvTtlSeconds must be at least 0, got -1",
    ),
    (
        "kv natsUrl",
        {"templateStore": {"kvBucket": "t", "natsUrl": "nats"}},
        "spec.templateStore.natsUrl must be a nats://, tls://, ws:// or wss:// URL without spaces, "
        "got 'nats'",
    ),
    (
        "service type",
        {"service": {"type": "ExternalName"}},
        "spec.service.type must be one of LoadBalancer, NodePort, ClusterIP, got 'ExternalName'",
    ),
    (
        "traffic policy",
        {"service": {"externalTrafficPolicy": "local"}},
        "spec.service.externalTrafficPolicy must be one of Local, Cluster, got 'local'",
    ),
    (
        "lb ip on ClusterIP",
        {"service": {"type": "ClusterIP", "loadBalancerIP": "10.0.0.1"}},
        "spec.service.loadBalancerIP needs spec.service.type LoadBalancer, got ClusterIP",
    ),
    (
        "lb ip not an ip",
        {"service": {"loadBalancerIP": "10.0.0"}},
        "spec.service.loadBalancerIP must be an IPv4 or IPv6 address, got '10.0.0'",
    ),
    (
        "annotation value",
        {"service": {"annotations": {"a": 1}}},
        "spec.service.annotations[a] must be a string, got 1",
    ),
    (
        "reserved annotation",
        {"service": {"annotations": {"flows.flowkeeper.dev/x": "1"}}},
        "spec.service.annotations[flows.flowkeeper.dev/x] uses the reserved prefix "
        "flows.flowkeeper.dev/",
    ),
    (
        "node selector",
        {"nodeSelector": {"edge": True}},
        "spec.nodeSelector[edge] must be a string, got True",
    ),
    ("tolerations", {"tolerations": {}}, "spec.tolerations must be a list, got {}"),
    (
        "toleration effect",
        {"tolerations": [{"effect": "Never"}]},
        "spec.tolerations[0].effect must be one of NoSchedule, PreferNoSchedule, NoExecute, "
        "got 'Never'",
    ),
    (
        "toleration field",
        {"tolerations": [{"keys": "a"}]},
        "spec.tolerations[0].keys is not a known field of spec.tolerations[0]",
    ),
    ("affinity", {"affinity": []}, "spec.affinity must be an object, got []"),
    (
        "resources kind",
        {"resources": {"claims": []}},
        "spec.resources.claims is not a known field of spec.resources",
    ),
    (
        "quantity",
        {"resources": {"requests": {"memory": "lots"}}},
        "spec.resources.requests.memory must be a quantity such as 500m or 1Gi, got 'lots'",
    ),
    ("hostNetwork", {"hostNetwork": "true"}, "spec.hostNetwork must be true or false, got 'true'"),
    (
        "reserved config key",
        {"config": {"batch_size": 1, "stream_name": "x"}},
        "spec.config.stream_name is set by the operator from the typed spec fields, set those"
        " instead",
    ),
    (
        "reserved listener config key",
        {"listeners": [{**MINIMAL["listeners"][0], "config": {"listen_addr": "0.0.0.0:1"}}]},
        "spec.listeners[0].config.listen_addr is set by the operator from the typed spec fields,"
        " set those instead",
    ),
    (
        "listener config not an object",
        {"listeners": [{**MINIMAL["listeners"][0], "config": []}]},
        "spec.listeners[0].config must be an object, got []",
    ),
    (
        "listener subject wildcard",
        {"listeners": [{**MINIMAL["listeners"][0], "subject": "flows.>"}]},
        "spec.listeners[0].subject must be dot-separated tokens without spaces or wildcards,"
        " got 'flows.>'",
    ),
    (
        "stream name dot",
        {"nats": {"url": "nats://n:4222", "stream": {"name": "a.b"}}},
        "spec.nats.stream.name must be a NATS stream name: 1-255 bytes without whitespace, '.',"
        " '*', '>', '/' or '\\', got 'a.b'",
    ),
    (
        "stream name too many bytes",
        {"nats": {"url": "nats://n:4222", "stream": {"name": "é" * 128}}},
        "spec.nats.stream.name must be a NATS stream name: 1-255 bytes without whitespace, '.',"
        " '*', '>', '/' or '\\', got '" + "é" * 128 + "'",
    ),
    (
        "stream replicas",
        {"nats": {"url": "nats://n:4222", "stream": {"replicas": 6}}},
        "spec.nats.stream.replicas must be between 1 and 5, got 6",
    ),
    (
        "stream maxBytes",
        {"nats": {"url": "nats://n:4222", "stream": {"maxBytes": -2}}},
        "spec.nats.stream.maxBytes must be between -1 and 9223372036854775807, got -2",
    ),
    (
        "stream subject",
        {"nats": {"url": "nats://n:4222", "stream": {"subjects": ["a.>.b"]}}},
        "spec.nats.stream.subjects[0] must be dot-separated tokens without spaces, '*' only as a"
        " whole token and '>' only as the whole last token, got 'a.>.b'",
    ),
    (
        "stream unknown field",
        {"nats": {"url": "nats://n:4222", "stream": {"max_bytes": 1}}},
        "spec.nats.stream.max_bytes is not a known field of spec.nats.stream",
    ),
    (
        "tls without secret",
        {"nats": {"url": "nats://n:4222", "tls": {}}},
        "spec.nats.tls.secretName is required",
    ),
    (
        "tls cert without key",
        {"nats": {"url": "nats://n:4222", "tls": {"secretName": "t", "keyKey": ""}}},
        "spec.nats.tls.keyKey must be set together with certKey (both empty: no client"
        " certificate)",
    ),
    (
        "tls nothing to use",
        {
            "nats": {
                "url": "nats://n:4222",
                "tls": {"secretName": "t", "caKey": "", "certKey": "", "keyKey": ""},
            }
        },
        "spec.nats.tls.caKey must be set when certKey and keyKey are empty",
    ),
    (
        "tls key name",
        {"nats": {"url": "nats://n:4222", "tls": {"secretName": "t", "caKey": "ca/crt"}}},
        "spec.nats.tls.caKey must be letters, digits, '-', '_' or '.', got 'ca/crt'",
    ),
    ("unknown field", {"listener": []}, "spec.listener is not a known field of spec"),
    (
        "migration not an object",
        {"migration": "edge"},
        "spec.migration must be an object, got 'edge'",
    ),
    (
        "migration unknown field",
        {"migration": {"deployment": "edge"}},
        "spec.migration.deployment is not a known field of spec.migration",
    ),
    (
        "replaceDeployment empty",
        {"migration": {"replaceDeployment": ""}},
        "spec.migration.replaceDeployment must not be empty",
    ),
    (
        "replaceDeployment not a name",
        {"migration": {"replaceDeployment": "Edge_Collector"}},
        "spec.migration.replaceDeployment must be the name of a Deployment (a DNS-1123"
        " subdomain), got 'Edge_Collector'",
    ),
    (
        "replaceDeployment not a string",
        {"migration": {"replaceDeployment": 3}},
        "spec.migration.replaceDeployment must be a string, got 3",
    ),
]


@pytest.mark.parametrize(
    ("migration", "named"),
    [
        ({}, ""),
        ({"replaceDeployment": "edge-collector"}, "edge-collector"),
    ],
)
def test_migration_names_at_most_one_deployment(migration, named):
    parsed = parse_spec(with_(migration=migration))
    assert parsed["migration"] == ({"replaceDeployment": named} if named else {})
    assert "migration" not in parse_spec(with_())


@pytest.mark.parametrize(
    ("changes", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_spec_is_refused_with_the_field_and_range(changes, message):
    spec = with_(**{key: value for key, value in changes.items() if value is not None})
    for key in [key for key, value in changes.items() if value is None]:
        del spec[key]
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    assert str(caught.value) == message
    assert message.startswith(caught.value.field + " ")
    assert isinstance(caught.value, ValueError)


def test_spec_must_be_an_object():
    with pytest.raises(SpecError, match=r"^spec must be an object, got None$"):
        parse_spec(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("port", [1, 1023, 65535], ids=["lowest", "privileged", "highest"])
def test_port_bounds_are_inclusive(port):
    assert (
        parse_spec(with_(listeners=listeners(("a", "sflow", port))))["listeners"][0]["port"] == port
    )


def test_metrics_port_may_equal_a_listener_port_when_disabled():
    parsed = parse_spec(with_(metrics={"enabled": False, "port": 2055}))
    assert parsed["metrics"] == {"enabled": False, "port": 2055}


@pytest.mark.parametrize("name", ["edge", "a", "a-1", "a" * 55])
def test_good_names(name):
    check_name(name)


@pytest.mark.parametrize("name", ["1edge", "Edge", "edge-", "ed.ge", "a" * 56, ""])
def test_bad_names(name):
    with pytest.raises(SpecError) as caught:
        check_name(name)
    assert caught.value.field == "metadata.name"
    assert str(caught.value).endswith(f"of at most 55 characters, got {name!r}")

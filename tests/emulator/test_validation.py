"""Field validation a controller deriving names and ports from user input can run into."""

import pytest

from e2e.apiserver import resources, validation
from tests.emulator.conftest import CM, DS, SVC, daemonset, service


async def _refused(http, path, body):
    status, answer = await http.call("POST", path, body)
    assert (status, answer["reason"]) == (422, "Invalid"), answer
    return answer["message"]


async def test_a_service_name_is_a_dns_1035_label(http):
    message = await _refused(http, SVC, service("9-starts-with-a-digit"))
    assert 'metadata.name: Invalid value: "9-starts-with-a-digit": a DNS-1035 label' in message
    long = "a" * 60 + "-metrics"
    message = await _refused(http, SVC, service(long))
    assert "must be no more than 63 characters" in message
    # The same name is a fine ConfigMap name (a DNS-1123 subdomain).
    await http.create(CM, {"metadata": {"name": long}})


@pytest.mark.parametrize(
    ("labels", "wrong"),
    [
        ({"app": "x" * 64}, "must be no more than 63 characters"),
        ({"app": "-x"}, "a valid label must be an empty string"),
        ({"bad key!": "x"}, "name part must consist of alphanumeric characters"),
    ],
)
async def test_labels_are_validated(http, labels, wrong):
    message = await _refused(http, CM, {"metadata": {"name": "c", "labels": labels}})
    assert wrong in message


async def test_container_port_names_are_iana_service_names(http):
    body = daemonset()
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [
        {"name": "a-very-long-listener", "containerPort": 2055},
        {"name": "ok", "containerPort": 2056},
        {"name": "ok", "containerPort": 2057},
    ]
    message = await _refused(http, DS, body)
    assert (
        'spec.template.spec.containers[0].ports[0].name: Invalid value: "a-very-long-listener":'
        " must be no more than 15 characters" in message
    )
    assert 'ports[2].name: Duplicate value: "ok"' in message


async def test_service_ports_need_names_when_several(http):
    body = service(ports=[{"port": 1}, {"name": "b", "port": 2}])
    message = await _refused(http, SVC, body)
    assert "spec.ports[0].name: Required value" in message


async def test_config_map_size_and_keys(http):
    message = await _refused(http, CM, {"metadata": {"name": "c"}, "data": {"a/b": "1"}})
    assert "a valid config key" in message
    # Over HTTP the body would hit the server's 1 MiB request limit first.
    big = {"metadata": {"name": "c"}, "data": {"blob": "x" * (1024 * 1024)}}
    configmaps = resources.lookup("", "v1", "configmaps")
    assert configmaps is not None
    assert ("[]", "Too long: must have at most 1048576 bytes") in validation.validate(
        configmaps, big
    )


async def test_only_some_kinds_have_a_generation(http):
    assert (await http.create(DS, daemonset()))["metadata"]["generation"] == 1
    assert "generation" not in (await http.create(SVC, service()))["metadata"]
    assert "generation" not in (await http.create(CM, {"metadata": {"name": "c"}}))["metadata"]


async def test_unknown_fields_of_builtin_kinds(http):
    """Decoding into the Go struct drops what it lacks: Strict refuses, Warn (the default)
    reports, in the strict decoder's words."""
    body = {"metadata": {"name": "c", "bogus": 1}, "data": {"a": "1"}, "extra": {"b": 2}}
    status, answer = await http.call("POST", f"{CM}?fieldValidation=Strict", body)
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error:'
        ' unknown field "metadata.bogus", unknown field "extra"'
    )
    created = await http.create(CM, body)
    assert http.headers.getall("Warning") == [
        '299 - "unknown field \\"metadata.bogus\\""',
        '299 - "unknown field \\"extra\\""',
    ]
    assert "extra" not in created
    assert "bogus" not in created["metadata"]
    # Deep fields too, through the definitions' references (containers[] -> Container).
    body = daemonset()
    body["spec"]["template"]["spec"]["containers"][0]["colour"] = "red"
    status, answer = await http.call("POST", f"{DS}?fieldValidation=Strict", body)
    assert status == 400
    assert answer["message"].endswith('unknown field "spec.template.spec.containers[0].colour"')

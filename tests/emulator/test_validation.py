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

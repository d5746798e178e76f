"""spec.migration.replaceDeployment: only the named Deployment goes, once the DaemonSet exists."""

import asyncio
import logging
from typing import Any

import pytest
from flowkeeper.operator.control import migration
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.model.spec import parse_spec

from e2e.cluster import Api

DEPLOY = "/apis/apps/v1/namespaces/netflow/deployments"
LOGGER = logging.getLogger("test-migration")
LEGACY_LABELS = {"app.kubernetes.io/name": "flow-collector", "app.kubernetes.io/instance": "edge"}
OWNER = {"metadata": {"name": "edge", "namespace": "netflow", "uid": "uid-1"}}


def spec_naming(name: str | None) -> Any:
    spec: dict[str, Any] = {
        "image": "registry.example.com/flow-collector:1.4.2",
        "listeners": [{"name": "netflow", "protocol": "netflow", "port": 2055}],
        "nats": {"url": "nats://nats:4222"},
    }
    if name is not None:
        spec["migration"] = {"replaceDeployment": name}
    return parse_spec(spec)


def deployment(name: str) -> dict[str, Any]:
    labels = dict(LEGACY_LABELS)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": []}},
        },
    }


@pytest.mark.parametrize(
    ("name", "daemonset", "live", "expected"),
    [
        ("", True, {"metadata": {}}, "nothing"),
        ("old", False, {"metadata": {}}, "wait"),
        ("old", True, None, "missing"),
        ("old", True, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}, "nothing"),
        ("old", True, {"metadata": {}}, "delete"),
    ],
)
def test_step(name, daemonset, live, expected):
    step = migration.step(name=name, daemonset_exists=daemonset, deployment=live)
    assert step == migration.Step(expected)


class Posted:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def __call__(self, kind: str, reason: str, message: str) -> None:
        self.events.append((kind, reason, message))


@pytest.fixture
async def client(kubeconfig):
    configuration = await asyncio.to_thread(kube.load_configuration)
    api = kube.connect(configuration)
    yield api
    await asyncio.to_thread(api.close)


async def names(api: Api) -> set[str]:
    return {item["metadata"]["name"] for item in await api.items(DEPLOY)}


class Replacer:
    """A DeploymentReplacer for the FlowCollector OWNER, with the Events it posted."""

    def __init__(self, client: Any) -> None:
        self.client, self.posted, self.replacer = client, Posted(), migration.DeploymentReplacer()

    async def run(self, name: str | None, *, daemonset_exists: bool = True) -> bool:
        return await self.replacer.run(
            self.client,
            owner=OWNER,
            parsed=spec_naming(name),
            daemonset_exists=daemonset_exists,
            post=self.posted,
            logger=LOGGER,
        )


async def test_an_unnamed_matching_deployment_stays(api, client):
    await api.create(DEPLOY, deployment("edge"))
    await api.create(DEPLOY, deployment("edge-collector"))
    replacer = Replacer(client)
    assert not await replacer.run(None)
    assert await replacer.run("edge-collector")
    assert await names(api) == {"edge"}  # labelled for this instance, but never named
    assert [reason for _, reason, _ in replacer.posted.events] == ["DeploymentReplaced"]


async def test_the_named_deployment_goes_once_the_daemonset_exists(api, client):
    await api.create(DEPLOY, deployment("edge-collector"))
    replacer = Replacer(client)
    assert not await replacer.run("edge-collector", daemonset_exists=False)
    assert await names(api) == {"edge-collector"}
    assert replacer.posted.events == []
    assert await replacer.run("edge-collector")
    assert await names(api) == set()
    assert replacer.posted.events == [
        (
            "Normal",
            "DeploymentReplaced",
            "Deleted Deployment edge-collector (spec.migration.replaceDeployment): "
            "replaced by DaemonSet edge",
        )
    ]
    assert not await replacer.run("edge-collector")  # gone as asked: no "not found" warning
    assert len(replacer.posted.events) == 1


async def test_a_missing_deployment_is_reported_once(client):
    replacer = Replacer(client)
    for _ in range(3):
        await replacer.run("typo")
    assert replacer.posted.events == [
        (
            "Warning",
            "ReplaceDeploymentNotFound",
            "Deployment typo named in spec.migration.replaceDeployment does not exist in netflow;"
            " nothing deleted (remove the field once the upgrade is done)",
        )
    ]
    replacer.replacer.forget(set())  # that FlowCollector is gone: a new one reports again
    await replacer.run("typo")
    assert len(replacer.posted.events) == 2


async def test_a_refused_deletion_is_reported_and_tried_again(api, k8s, client):
    await api.create(DEPLOY, deployment("edge-collector"))
    k8s.inject_fault(verb="delete", resource="deployments", status=403, times=1)
    replacer = Replacer(client)
    assert not await replacer.run("edge-collector")
    assert await names(api) == {"edge-collector"}
    assert [e[:2] for e in replacer.posted.events] == [("Warning", "ReplaceDeploymentFailed")]
    assert "HTTP 403" in replacer.posted.events[0][2]
    assert await replacer.run("edge-collector")  # the next reconcile
    assert await names(api) == set()

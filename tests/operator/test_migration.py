"""spec.migration.replaceDeployment: only the named Deployment goes, once the DaemonSet exists."""

import asyncio
import logging
from typing import Any

import pytest
from flowkeeper.operator import kube, migration
from flowkeeper.operator.spec import parse_spec

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


async def test_an_unnamed_matching_deployment_stays(api, client):
    await api.create(DEPLOY, deployment("edge"))
    await api.create(DEPLOY, deployment("edge-collector"))
    posted, replacer = Posted(), migration.DeploymentReplacer()
    for parsed in (spec_naming(None), spec_naming("edge-collector")):
        await replacer.run(
            client,
            owner=OWNER,
            parsed=parsed,
            daemonset_exists=True,
            post=posted,
            logger=LOGGER,
        )
    assert await names(api) == {"edge"}  # labelled for this instance, but never named
    assert [reason for _, reason, _ in posted.events] == ["DeploymentReplaced"]


async def test_the_named_deployment_goes_once_the_daemonset_exists(api, client):
    await api.create(DEPLOY, deployment("edge-collector"))
    posted, replacer = Posted(), migration.DeploymentReplacer()

    async def run(daemonset_exists: bool) -> bool:
        return await replacer.run(
            client,
            owner=OWNER,
            parsed=spec_naming("edge-collector"),
            daemonset_exists=daemonset_exists,
            post=posted,
            logger=LOGGER,
        )

    assert not await run(False)
    assert await names(api) == {"edge-collector"}
    assert posted.events == []
    assert await run(True)
    assert await names(api) == set()
    assert posted.events == [
        (
            "Normal",
            "DeploymentReplaced",
            "Deleted Deployment edge-collector (spec.migration.replaceDeployment): "
            "replaced by DaemonSet edge",
        )
    ]
    assert not await run(True)  # gone, as asked: no "not found" warning for our own deletion
    assert len(posted.events) == 1


async def test_a_missing_deployment_is_reported_once(api, client):
    posted, replacer = Posted(), migration.DeploymentReplacer()
    for _ in range(3):
        await replacer.run(
            client,
            owner=OWNER,
            parsed=spec_naming("typo"),
            daemonset_exists=True,
            post=posted,
            logger=LOGGER,
        )
    assert posted.events == [
        (
            "Warning",
            "ReplaceDeploymentNotFound",
            "Deployment typo named in spec.migration.replaceDeployment does not exist in netflow;"
            " nothing deleted (remove the field once the upgrade is done)",
        )
    ]
    replacer.forget(set())  # the FlowCollector is gone: a new one with this name reports again
    await replacer.run(
        client,
        owner=OWNER,
        parsed=spec_naming("typo"),
        daemonset_exists=True,
        post=posted,
        logger=LOGGER,
    )
    assert len(posted.events) == 2

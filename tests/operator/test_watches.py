"""The child watches: server-side label selector, resume, 410 Gone, errors, the cache."""

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import kopf
import pytest
from aiohttp import web
from flowkeeper.operator.app import settings
from flowkeeper.operator.kube import client as kube
from flowkeeper.operator.kube import watches

from e2e.cluster import eventually
from e2e.local import write_kubeconfig

LOGGER = logging.getLogger("test-watches")
OURS = {"app.kubernetes.io/managed-by": "flowkeeper"}
SELECTOR = "app.kubernetes.io/managed-by=flowkeeper"


def configmap(name: str, labels: dict[str, str], version: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "a", "labels": labels, "resourceVersion": version},
    }


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []  # kind, type, namespace, name

    def __call__(self, kind: str, event_type: str, body: kube.Object) -> None:
        metadata = body["metadata"]
        self.events.append((kind, event_type, metadata["namespace"], metadata["name"]))


@pytest.mark.parametrize(
    ("namespaces", "paths"),
    [
        ([], {"/api/v1/configmaps", "/api/v1/services", "/apis/apps/v1/daemonsets"}),
        (
            ["a", "b"],
            {
                f"{prefix}/namespaces/{ns}/{plural}"
                for ns in ("a", "b")
                for prefix, plural in [
                    ("/api/v1", "configmaps"),
                    ("/api/v1", "services"),
                    ("/apis/apps/v1", "daemonsets"),
                ]
            },
        ),
    ],
    ids=["cluster-wide", "two-namespaces"],
)
async def test_only_labelled_children_arrive_and_every_request_carries_the_selector(
    api, k8s, kubeconfig, requests, namespaces, paths
):
    await api.create("/api/v1/namespaces/a/configmaps", configmap("before", OURS))
    await api.create("/api/v1/namespaces/a/configmaps", configmap("theirs", {"app": "x"}))
    recorder = Recorder()
    child_watches = watches.ChildWatches(
        kube.load_configuration(), namespaces=namespaces, handler=recorder, logger=LOGGER
    )
    await child_watches.start()
    try:

        async def watching() -> None:  # the changes below must come as watch events
            opened = {path for _, _, path, query in requests if query.get("watch")}
            assert opened == paths

        await eventually(watching)
        await api.create("/api/v1/namespaces/a/configmaps", configmap("after", OURS))
        await api.create("/api/v1/namespaces/a/configmaps", configmap("theirs-2", {}))
        await api.delete("/api/v1/namespaces/a/configmaps/before")

        async def delivered() -> None:
            assert ("ConfigMap", "DELETED", "a", "before") in recorder.events
            assert ("ConfigMap", "ADDED", "a", "after") in recorder.events

        await eventually(delivered)
        # What the streams saw is kept for the reconciles: ours only, deletions applied.
        known, after = child_watches.cached("ConfigMap", "a", "after")
        assert known
        assert after is not None
        assert after["metadata"]["name"] == "after"
        assert child_watches.cached("ConfigMap", "a", "before") == (True, None)
        assert child_watches.cached("ConfigMap", "a", "theirs-2") == (True, None)
        assert child_watches.cached("Secret", "a", "after") == (False, None)  # not watched
        # Our own write's result is an echo when its event comes; anything newer is not.
        child_watches.remember("ConfigMap", "a", "after", after)
        assert child_watches.echo("ConfigMap", after)
        newer = {**after, "metadata": {**after["metadata"], "resourceVersion": "999999"}}
        assert not child_watches.echo("ConfigMap", newer)
    finally:
        await child_watches.stop()
    assert child_watches.cached("ConfigMap", "a", "after") == (False, None)  # stopped
    assert {name for *_, name in recorder.events} == {"before", "after"}
    ours = [(path, query) for _, method, path, query in requests if method.endswith("GET")]
    ours = [(path, query) for path, query in ours if path in paths]
    assert {path for path, _ in ours} == paths
    assert all(query["labelSelector"] == SELECTOR for _, query in ours), ours
    assert {query.get("watch") for _, query in ours} == {None, "true"}  # lists and watches


class Script:
    """A scripted API server: each GET of the ConfigMap collection takes the next answer."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.queries: list[dict[str, str]] = []
        self.done = asyncio.Event()  # set at teardown: ends the hanging watches

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.queries.append(dict(request.query))
        answer = self.answers.pop(0) if self.answers else "hang"
        if answer == "hang":
            await self.done.wait()
            return web.Response(status=503)
        if isinstance(answer, int):
            return web.json_response({"kind": "Status", "code": answer}, status=answer)
        if "items" in answer:
            return web.json_response(answer)
        response = web.StreamResponse()
        await response.prepare(request)
        for event in answer["events"]:
            await response.write(json.dumps(event).encode() + b"\n")
        return response


@pytest.fixture
async def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    async def start(answers: list[Any]) -> Script:
        script = Script(answers)
        app = web.Application()
        app.router.add_get("/api/v1/configmaps", script.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append((runner, script))
        port = runner.addresses[0][1]
        path = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("KUBECONFIG", str(path))
        return script

    runners: list[tuple[web.AppRunner, Script]] = []
    yield start
    for runner, script in runners:
        script.done.set()
        await runner.cleanup()


async def test_resumes_from_the_last_version_relists_on_gone_and_errors(scripted):
    a, b = configmap("a", OURS, "10"), configmap("b", OURS, "10")
    a11 = configmap("a", OURS, "11")
    script = await scripted(
        [
            {"metadata": {"resourceVersion": "10"}, "items": [a, b]},
            # Ends normally after one change and a bookmark: re-opened from version 12.
            {
                "events": [
                    {"type": "MODIFIED", "object": a11},
                    {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
                ]
            },
            # Version 12 expired: list again; b went away meanwhile.
            {"events": [{"type": "ERROR", "object": {"kind": "Status", "code": 410}}]},
            {"metadata": {"resourceVersion": "20"}, "items": [a11]},
            500,  # a failing watch: list again after a backoff
            {"metadata": {"resourceVersion": "30"}, "items": [a11]},
        ]
    )
    recorder = Recorder()
    child_watches = watches.ChildWatches(
        kube.load_configuration(),
        namespaces=[],
        handler=recorder,
        logger=LOGGER,
        kinds=["ConfigMap"],
    )
    await child_watches.start()
    try:

        async def finished() -> None:
            assert len(script.queries) >= 7

        await eventually(finished)
    finally:
        await child_watches.stop()
    versions = [(q.get("watch"), q.get("resourceVersion")) for q in script.queries[:7]]
    assert versions == [
        (None, None),
        ("true", "10"),
        ("true", "12"),
        (None, None),
        ("true", "20"),
        (None, None),
        ("true", "30"),
    ]
    assert all(q["labelSelector"] == SELECTOR for q in script.queries)
    assert all(q["allowWatchBookmarks"] == "true" for q in script.queries if q.get("watch"))
    assert ("ConfigMap", "DELETED", "a", "b") in recorder.events
    assert [e for e in recorder.events if e[3] == "b"][-1][1] == "DELETED"


@pytest.mark.parametrize(
    ("namespaces", "expected"),
    [
        ([], [""]),
        (["b", "a", "b"], ["a", "b"]),
        (["a", "team-*"], [""]),
        (["!kube-system"], [""]),
    ],
)
def test_scopes(namespaces, expected):
    assert watches.scopes(namespaces) == expected


@pytest.mark.parametrize(
    ("namespace", "patterns", "served"),
    [
        ("x", [], True),
        ("team-a", ["a", "team-*"], True),
        ("a", ["a", "team-*"], True),
        ("b", ["a", "team-*"], False),
        ("kube-system", ["!kube-system"], False),
        ("default", ["!kube-system"], True),
        ("team-x", ["team-*", "!team-x"], False),
    ],
)
def test_served_namespaces_follow_kopf_patterns(namespace, patterns, served):
    assert watches.served(namespace, patterns) is served


@pytest.mark.parametrize(
    ("kind", "namespace", "path"),
    [
        ("ConfigMap", "", "/api/v1/configmaps"),
        ("DaemonSet", "", "/apis/apps/v1/daemonsets"),
        ("Service", "a", "/api/v1/namespaces/a/services"),
    ],
)
def test_collection_path(kind, namespace, path):
    assert watches.collection_path(kind, namespace) == path


@pytest.mark.parametrize(
    ("memo", "environ", "expected"),
    [
        ({}, {}, ()),
        ({"namespaces": ("a", "b")}, {"FLOWKEEPER_OPERATOR_NAMESPACE": "c"}, ("a", "b")),
        ({}, {"FLOWKEEPER_OPERATOR_NAMESPACE": " c, d ,"}, ("c", "d")),
    ],
    ids=["all", "cli-wins", "environment"],
)
def test_child_watch_namespaces(memo, environ, expected, monkeypatch):
    monkeypatch.delenv("FLOWKEEPER_OPERATOR_NAMESPACE", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert settings.namespaces(kopf.Memo(**memo)) == expected

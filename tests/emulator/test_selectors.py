"""labelSelector and fieldSelector on LIST and WATCH, filtered by the server."""

import asyncio
import json

import pytest

from tests.emulator.conftest import CM

OBJECTS = {
    "a": {"app": "x", "tier": "web"},
    "b": {"app": "y", "tier": "db"},
    "c": {"app": "x"},
    "d": {},
}


@pytest.fixture
async def configmaps(http):
    for name, labels in OBJECTS.items():
        await http.create(CM, {"metadata": {"name": name, "labels": labels}})


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=x", ["a", "c"]),
        ("app==x", ["a", "c"]),
        ("app!=x", ["b", "d"]),
        ("app in (x,y)", ["a", "b", "c"]),
        ("tier notin (web)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=x,tier", ["a"]),
        ("app in (x, y),!tier", ["c"]),
    ],
)
async def test_list_by_label(http, configmaps, selector, names):
    listed = await http.get(f"{CM}?labelSelector={selector}")
    assert [i["metadata"]["name"] for i in listed["items"]] == names


async def test_list_by_field(http, configmaps):
    listed = await http.get(f"{CM}?fieldSelector=metadata.name=b")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["b"]
    listed = await http.get("/api/v1/configmaps?fieldSelector=metadata.namespace!=ns")
    assert listed["items"] == []
    status, answer = await http.call("GET", f"{CM}?fieldSelector=spec.x=1")
    assert (status, answer["reason"]) == (400, "BadRequest")


async def test_list_pages(http, configmaps):
    first = await http.get(f"{CM}?limit=3")
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b", "c"]
    assert first["metadata"]["remainingItemCount"] == 1
    rest = await http.get(f"{CM}?limit=3&continue={first['metadata']['continue']}")
    assert [i["metadata"]["name"] for i in rest["items"]] == ["d"]
    assert "continue" not in rest["metadata"]


async def test_watch_streams_only_matching_objects(http):
    response = await http.session.get(CM, params={"watch": "true", "labelSelector": "app=x"})
    events: asyncio.Queue = asyncio.Queue()

    async def read():
        async for line in response.content:
            event = json.loads(line)
            await events.put((event["type"], event["object"]["metadata"]["name"]))

    reader = asyncio.create_task(read())
    try:
        await http.create(CM, {"metadata": {"name": "mine", "labels": {"app": "x"}}})
        await http.create(CM, {"metadata": {"name": "foreign", "labels": {"app": "y"}}})
        await http.patch(f"{CM}/foreign", {"metadata": {"labels": {"app": "x"}}})
        await http.patch(f"{CM}/mine", {"metadata": {"labels": {"app": "z"}}})
        await http.patch(f"{CM}/mine", {"data": {"unseen": "1"}})
        await http.ok("DELETE", f"{CM}/foreign")
        seen = [await asyncio.wait_for(events.get(), 5) for _ in range(4)]
        assert seen == [
            ("ADDED", "mine"),
            ("ADDED", "foreign"),  # it starts matching
            ("DELETED", "mine"),  # it stops matching
            ("DELETED", "foreign"),
        ]
        await asyncio.sleep(0.1)
        assert events.empty()
    finally:
        reader.cancel()
        response.close()


async def test_watch_resumes_from_a_resource_version(http):
    await http.create(CM, {"metadata": {"name": "before"}})
    listed = await http.get(CM)
    await http.create(CM, {"metadata": {"name": "after"}})
    response = await http.session.get(
        CM,
        params={
            "watch": "true",
            "resourceVersion": listed["metadata"]["resourceVersion"],
            "timeoutSeconds": "1",
        },
    )
    lines = [json.loads(line) async for line in response.content]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "after")]

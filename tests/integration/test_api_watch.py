"""Watch: every change after a resourceVersion, exactly once, in order;
selectors turn matching transitions into ADDED/DELETED; bookmarks; expiry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from shoal import errors
from shoal.client import Client
from shoal.testing import start_server

from tests.integration.helpers import collect, pod


async def test_watch_from_version_gets_later_changes_in_order(shoal_client: Client) -> None:
    first = await shoal_client.create(pod("a"))
    events = shoal_client.watch("pods", resource_version=first.metadata.resource_version)
    await shoal_client.create(pod("b"))
    await shoal_client.patch("pods", "a", {"metadata": {"labels": {"x": "1"}}})
    await shoal_client.delete("pods", "b")
    got = await collect(events, 3)
    assert [(e.type, e.object.metadata.name) for e in got] == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]
    versions = [int(e.resource_version) for e in got]
    assert versions == sorted(versions) and len(set(versions)) == 3
    assert got[1].object.metadata.labels["x"] == "1"


async def test_watch_without_version_starts_with_current_objects(shoal_client: Client) -> None:
    await shoal_client.create(pod("a"))
    await shoal_client.create(pod("b"))
    events = shoal_client.watch("pods")
    initial = await collect(events, 2)
    assert {(e.type, e.object.metadata.name) for e in initial} == {("ADDED", "a"), ("ADDED", "b")}
    await shoal_client.create(pod("c"))
    (later,) = await collect(events, 1)
    assert (later.type, later.object.metadata.name) == ("ADDED", "c")


async def test_concurrent_writers_never_skip_or_repeat(shoal_client: Client) -> None:
    start = (await shoal_client.list("configmaps")).resource_version
    events = shoal_client.watch("configmaps", resource_version=start)

    async def writer(n: int) -> list[str]:
        from tests.integration.helpers import obj

        versions = []
        for i in range(20):
            created = await shoal_client.create(
                obj(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": f"w{n}-{i}"},
                        "data": {"i": str(i)},
                    }
                )
            )
            versions.append(created.metadata.resource_version)
        return versions

    written = [v for vs in await asyncio.gather(*(writer(n) for n in range(5))) for v in vs]
    got = await collect(events, len(written))
    seen = [e.resource_version for e in got]
    assert sorted(seen, key=int) == seen
    assert sorted(seen) == sorted(written)


async def test_selectors_turn_transitions_into_added_and_deleted(shoal_client: Client) -> None:
    created = await shoal_client.create(pod("web", labels={"tier": "front"}))
    events = shoal_client.watch(
        "pods", label_selector="tier in (front)", resource_version=created.metadata.resource_version
    )
    await shoal_client.create(pod("db", labels={"tier": "back"}))  # never matches
    await shoal_client.patch("pods", "web", {"metadata": {"labels": {"tier": "back"}}})
    await shoal_client.patch("pods", "db", {"metadata": {"labels": {"tier": "front"}}})
    await shoal_client.patch("pods", "db", {"metadata": {"labels": {"v": "2"}}})
    got = await collect(events, 3)
    assert [(e.type, e.object.metadata.name) for e in got] == [
        ("DELETED", "web"),
        ("ADDED", "db"),
        ("MODIFIED", "db"),
    ]


async def test_field_selector_on_node_name(shoal_client: Client) -> None:
    await shoal_client.create(pod("here", node="node-1"))
    await shoal_client.create(pod("there", node="node-2"))
    listed = await shoal_client.list("pods", field_selector="spec.nodeName=node-1")
    assert [p.metadata.name for p in listed.items] == ["here"]
    events = shoal_client.watch("pods", field_selector="spec.nodeName=node-1")
    (initial,) = await collect(events, 1)
    assert initial.object.metadata.name == "here"


async def test_set_based_label_selectors_on_list(shoal_client: Client) -> None:
    for name, labels in (
        ("a", {"env": "prod", "app": "web"}),
        ("b", {"env": "dev"}),
        ("c", {"app": "db"}),
    ):
        await shoal_client.create(pod(name, labels=labels))

    async def names(selector: str) -> list[str]:
        listed = await shoal_client.list("pods", label_selector=selector)
        return sorted(p.metadata.name for p in listed.items)

    assert await names("env in (prod,dev)") == ["a", "b"]
    assert await names("env notin (prod)") == ["b", "c"]
    assert await names("app") == ["a", "c"]
    assert await names("!app") == ["b"]
    assert await names("app,env!=dev") == ["a", "c"]  # != matches a missing label
    assert await names("app,env=prod") == ["a"]


async def test_namespaced_watch_sees_only_its_namespace(shoal_client: Client) -> None:
    from tests.integration.helpers import obj

    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    )
    rv = (await shoal_client.list("pods")).resource_version
    events = shoal_client.watch("pods", namespace="team-a", resource_version=rv)
    await shoal_client.create(pod("in-default"))
    await shoal_client.create(pod("in-team", namespace="team-a"))
    (event,) = await collect(events, 1)
    assert event.object.metadata.name == "in-team"


async def test_bookmarks_carry_the_newest_version(tmp_path: Path) -> None:
    server = await start_server(tmp_path, bookmark_interval=0.05)
    try:
        async with Client(f"127.0.0.1:{server.port}") as client:
            created = await client.create(pod("a"))
            events = client.watch(
                "pods", resource_version=created.metadata.resource_version, allow_bookmarks=True
            )
            await client.create(pod("b"))
            got = await collect(events, 2, skip_bookmarks=False)
            added = next(e for e in got if e.type == "ADDED")
            await collect(events, 1, skip_bookmarks=False)  # at least one more bookmark
            bookmarks = [e for e in got if e.type == "BOOKMARK"]
            assert added.object.metadata.name == "b"
            assert all(e.object is None for e in bookmarks)
    finally:
        await server.stop(grace=0)


async def test_compacted_version_is_a_distinct_error(tmp_path: Path) -> None:
    server = await start_server(tmp_path)
    try:
        async with Client(f"127.0.0.1:{server.port}") as client:
            old = await client.create(pod("a"))
            for i in range(3):
                await client.patch("pods", "a", {"metadata": {"labels": {"i": str(i)}}})
            await server.store.compact(await server.store.current_revision())
            with pytest.raises(errors.GoneError, match="too old resource version"):
                await collect(
                    client.watch("pods", resource_version=old.metadata.resource_version), 1
                )
            with pytest.raises(errors.GoneError):
                await client.list("pods", resource_version=old.metadata.resource_version)
    finally:
        await server.stop(grace=0)


async def test_invalid_resource_version(shoal_client: Client) -> None:
    with pytest.raises(errors.BadRequestError, match='invalid resource version "abc"'):
        await collect(shoal_client.watch("pods", resource_version="abc"), 1)


async def test_list_pages_read_one_snapshot(shoal_client: Client) -> None:
    for i in range(7):
        await shoal_client.create(pod(f"p{i}"))
    first = await shoal_client.list("pods", limit=3)
    assert len(first.items) == 3 and first.continue_token
    await shoal_client.create(pod("late"))  # not in the snapshot the pages read
    names = [p.metadata.name for p in first.items]
    token = first.continue_token
    while token:
        page = await shoal_client.list("pods", limit=3, continue_token=token)
        names += [p.metadata.name for p in page.items]
        token = page.continue_token
        assert page.resource_version == first.resource_version
    assert names == [f"p{i}" for i in range(7)]
    with pytest.raises(errors.BadRequestError, match="invalid continue token"):
        await shoal_client.list("pods", limit=3, continue_token="garbage")


def _top_level_fields(data: bytes) -> list[int]:
    """The field numbers of a message's top-level fields, in wire order."""
    from google.protobuf.internal.decoder import _DecodeVarint  # type: ignore[attr-defined]

    numbers, pos = [], 0
    while pos < len(data):
        tag, pos = _DecodeVarint(data, pos)
        numbers.append(tag >> 3)
        wire = tag & 7
        if wire == 0:
            pos = _DecodeVarint(data, pos)[1]
        elif wire == 2:
            length, pos = _DecodeVarint(data, pos)
            pos += length
        else:
            pos += 8 if wire == 1 else 4
    return numbers


async def test_watch_events_carry_each_object_as_one_well_formed_message(
    shoal_client: Client,
) -> None:
    """Decoders that keep only the last occurrence of a message field
    (protobufjs, which grpc-js clients use) must still see the whole
    metadata: the object holds ``metadata`` once, resourceVersion in it."""
    from shoal.api.v1 import api_pb2, core_pb2

    first = await shoal_client.create(pod("a", labels={"app": "web"}))
    call = shoal_client._objects.Watch(
        api_pb2.WatchRequest(kind="Pod", resource_version=first.metadata.resource_version)
    )
    await shoal_client.patch("pods", "a", {"metadata": {"labels": {"tier": "x"}}})
    try:
        async for response in call:
            event = response.events[0]
            break
    finally:
        call.cancel()
    metadata_field = core_pb2.Pod.DESCRIPTOR.fields_by_name["metadata"].number
    assert _top_level_fields(event.object.value).count(metadata_field) == 1
    last_only = core_pb2.Pod()
    last_only.ParseFromString(event.object.value)
    assert last_only.metadata.name == "a" and last_only.metadata.uid == first.metadata.uid
    assert dict(last_only.metadata.labels) == {"app": "web", "tier": "x"}
    assert last_only.metadata.resource_version == event.resource_version

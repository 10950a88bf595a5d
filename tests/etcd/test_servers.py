"""Several API servers on one etcd serve the same objects; clients given
several server addresses move on when one is gone."""

from __future__ import annotations

import asyncio

import pytest
from shoal import errors
from shoal.client import Client, Informer
from shoal.manifest import from_dict

from tests.etcd.conftest import StartServer
from tests.integration.helpers import collect, eventually, pod


def config_map(name: str) -> object:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    return from_dict({**manifest, "data": {"k": name}})


async def test_a_write_through_one_server_is_seen_by_a_watch_on_another(
    api_servers: StartServer,
) -> None:
    one, two = await api_servers(), await api_servers()
    async with Client(f"127.0.0.1:{one.port}") as a, Client(f"127.0.0.1:{two.port}") as b:
        listed = await b.list("Pod", "default")
        watch = b.watch("Pod", "default", resource_version=listed.resource_version)
        events = asyncio.ensure_future(collect(watch, 2))
        created = await a.create(pod("web"))
        await a.delete("Pod", "web")
        added, deleted = await events
        assert (added.type, added.object.metadata.uid) == ("ADDED", created.metadata.uid)
        assert added.resource_version == created.metadata.resource_version
        assert deleted.type == "DELETED"
        # Optimistic concurrency spans servers: a stale update through the other fails.
        cm = await a.create(config_map("settings"))
        fresh = await b.get("ConfigMap", "settings")
        fresh.data["k"] = "changed"
        await b.update(fresh)
        cm.data["k"] = "stale"
        with pytest.raises(errors.ConflictError):
            await a.update(cm)


async def test_client_with_several_servers_moves_on_and_informer_misses_nothing(
    api_servers: StartServer,
) -> None:
    one, two = await api_servers(), await api_servers()
    both = f"127.0.0.1:{one.port},127.0.0.1:{two.port}"
    async with Client(both) as client, Client(f"127.0.0.1:{two.port}") as writer:
        informer = Informer(client, "ConfigMap", "default")
        seen: list[str] = []
        informer.add_handler(on_add=lambda obj: seen.append(obj.metadata.name))
        informer.start()
        await informer.wait_synced(10)
        for i in range(5):
            await writer.create(config_map(f"before-{i}"))
        await eventually(lambda: len(seen) == 5)
        await one.stop()  # the first server is gone: the client moves to the second
        for i in range(5):
            await writer.create(config_map(f"after-{i}"))
        await eventually(lambda: len(seen) == 10, timeout=20)
        assert (await client.get("ConfigMap", "after-4")).data["k"] == "after-4"
        assert informer.relists == 1  # resumed from its resourceVersion, no relist
        await informer.stop()
    assert sorted(seen) == sorted(
        [f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(5)]
    )

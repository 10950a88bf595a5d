"""Informers: a synced cache with indexes and handlers that survives a
compacted watch by relisting, missing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shoal.client import Client, Informer
from shoal.testing import start_server

from tests.integration.helpers import eventually, pod


async def test_cache_indexes_and_handlers(shoal_client: Client) -> None:
    await shoal_client.create(pod("a"))  # unbound: a delete removes it at once
    informer = Informer(shoal_client, "pods")
    informer.add_index("node", lambda p: [p.spec.node_name])
    seen: list[tuple[str, str]] = []
    informer.add_handler(
        on_add=lambda o: seen.append(("add", o.metadata.name)),
        on_update=lambda old, new: seen.append(("update", new.metadata.name)),
        on_delete=lambda o: seen.append(("delete", o.metadata.name)),
    )
    informer.start()
    try:
        await informer.wait_synced(5)
        assert informer.get("a", "default") is not None
        await shoal_client.create(pod("b", node="node-1"))
        await shoal_client.patch("pods", "a", {"metadata": {"labels": {"x": "y"}}})
        await shoal_client.delete("pods", "a")
        await eventually(lambda: ("delete", "a") in seen)
        assert seen == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "a")]
        assert [p.metadata.name for p in informer.by_index("node", "node-1")] == ["b"]
        assert [p.metadata.name for p in informer.by_index("namespace", "default")] == ["b"]
    finally:
        await informer.stop()


async def test_relists_after_compaction_and_misses_nothing(tmp_path: Path) -> None:
    server = await start_server(tmp_path)
    client = Client(f"127.0.0.1:{server.port}")
    informer = Informer(client, "pods")
    deleted: list[Any] = []
    informer.add_handler(on_delete=deleted.append)
    try:
        await client.create(pod("gone-while-away"))
        informer.start()
        await informer.wait_synced(5)
        # Stop the server: the informer's watch breaks. While it is away, the
        # store moves on and compacts, so resuming from its version fails.
        await server.stop(grace=0)
        server = await start_server(tmp_path)  # same data dir, new port
        await client.close()
        client2 = Client(f"127.0.0.1:{server.port}")
        await client2.delete("pods", "gone-while-away")
        await client2.create(pod("new-while-away"))
        await server.store.compact(await server.store.current_revision())
        informer.client = client2  # only now can it reach the server again
        await eventually(lambda: informer.get("new-while-away", "default") is not None, timeout=15)
        assert informer.get("gone-while-away", "default") is None
        # handlers run from their own task, after the cache has changed
        await eventually(lambda: deleted)
        assert [o.metadata.name for o in deleted] == ["gone-while-away"]
        assert informer.relists >= 2
        await client2.close()
    finally:
        await informer.stop()
        await server.stop(grace=0)

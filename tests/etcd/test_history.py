"""Object history on etcd through the API server: a write through one server
shows in the history read through another, with its verb; a deleted object's
history stays readable."""

from __future__ import annotations

import pytest
from shoal import errors, kinds
from shoal.apiserver import codec
from shoal.apiserver.server import APIServer, admission_chain
from shoal.client import Client
from shoal.client.client import unpack
from shoal.manifest import from_dict
from shoal.plugins.stores.etcd_local import LocalEtcd
from shoal.plugins.stores.etcd_store import EtcdStore

from tests.etcd.conftest import StartServer


async def test_history_across_servers_on_etcd(api_servers: StartServer) -> None:
    one, two = await api_servers(), await api_servers()
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
    async with Client(f"127.0.0.1:{one.port}") as a, Client(f"127.0.0.1:{two.port}") as b:
        await a.create(from_dict({**manifest, "data": {"k": "1"}}))
        await b.patch("ConfigMap", "cfg", {"data": {"k": "2"}})
        await a.delete("ConfigMap", "cfg")
        entries = await b.history("ConfigMap", "cfg")
    assert [(e.type, e.verb) for e in entries] == [
        ("CREATE", "create"),
        ("UPDATE", "patch"),
        ("DELETE", "delete"),
    ]
    assert [unpack(e.object).data["k"] for e in entries] == ["1", "2", "2"]
    assert all(e.time for e in entries)


async def test_retention_deleted_and_paging_on_etcd(etcd_one: LocalEtcd, etcd_prefix: str) -> None:
    """On etcd through the API server: after compaction, a retained kind's
    old revisions and deletes are still listed, an unretained kind's are not;
    history and deleted objects page."""
    retention = {codec.kind_prefix(kinds.resolve("deployments.apps")): 3600.0}
    store = EtcdStore(
        etcd_one.endpoints, prefix=etcd_prefix, compact_keep=0, history_retention=retention
    )
    server = APIServer(store, store_name="etcd", admission=admission_chain())
    await server.start("127.0.0.1:0")
    try:
        async with Client(f"127.0.0.1:{server.port}") as client:
            for name in ("web", "old"):
                await client.create(_deployment(name))
                await client.patch("Deployment", name, {"spec": {"replicas": 2}})
                await client.create(
                    from_dict({**CM, "metadata": {"name": name}, "data": {"k": "1"}})
                )
                await client.patch("ConfigMap", name, {"data": {"k": "2"}})
            await client.delete("Deployment", "old")
            await client.delete("ConfigMap", "old")
            before = await client.history("Deployment", "web")
            first = await client.history_page("Deployment", "web", limit=1)
            assert list(first.items) == before[:1] and first.continue_token
            rest = await client.history_page(
                "Deployment", "web", limit=1, continue_token=first.continue_token
            )
            assert list(rest.items) == before[1:] and not rest.continue_token
            assert [i.name for i in (await client.deleted("ConfigMap")).items] == ["old"]

            await store.compact(await store.current_revision())

            assert await client.history("Deployment", "web") == before
            assert [e.type for e in await client.history("Deployment", "old")] == [
                "CREATE",
                "UPDATE",
                "DELETE",
            ]
            assert [i.name for i in (await client.deleted("Deployment")).items] == ["old"]
            assert list((await client.deleted("ConfigMap")).items) == []
            kept = await client.history("ConfigMap", "web")
            assert [unpack(e.object).data["k"] for e in kept] == ["2"]  # the current one
            with pytest.raises(errors.NotFoundError):
                await client.history("ConfigMap", "old")
    finally:
        await server.stop()


CM = {"apiVersion": "v1", "kind": "ConfigMap"}


def _deployment(name: str) -> object:
    return from_dict(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "shoal.local/hello:v1"}]},
                },
            },
        }
    )

"""Object history on etcd through the API server: a write through one server
shows in the history read through another, with its verb; a deleted object's
history stays readable."""

from __future__ import annotations

from shoal.client import Client
from shoal.client.client import unpack
from shoal.manifest import from_dict

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

"""Services through the real in-process server: allocation on create, kept
on update, freed on delete, rebuilt after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from shoal import errors
from shoal.apiserver.server import APIServer
from shoal.apiserver.services import ServiceAllocator
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.store.sqlite import SQLiteStore


def service(name: str, type_: str = "ClusterIP", **spec: Any) -> Any:
    body = {"type": type_, "ports": [{"port": 80}], **spec}
    return from_dict(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body}
    )


async def test_create_allocates_and_replace_keeps(shoal_client: Client) -> None:
    created = await shoal_client.create(service("web", "NodePort"))
    assert created.spec.cluster_ip.startswith("10.9") and list(created.spec.cluster_ips) == [
        created.spec.cluster_ip
    ]
    assert 30000 <= created.spec.ports[0].node_port <= 32767
    replaced = service("web", "NodePort")
    replaced.metadata.resource_version = created.metadata.resource_version
    updated = await shoal_client.update(replaced)
    assert updated.spec.cluster_ip == created.spec.cluster_ip
    assert updated.spec.ports[0].node_port == created.spec.ports[0].node_port
    with pytest.raises(
        errors.InvalidError, match=r"spec.clusterIP: Invalid value: field is immutable"
    ):
        await shoal_client.patch("svc", "web", {"spec": {"clusterIP": "10.96.7.7"}})


async def test_conflicts_are_clear_and_delete_frees(shoal_client: Client) -> None:
    await shoal_client.create(
        service("a", "NodePort", clusterIP="10.96.1.1", ports=[{"port": 80, "nodePort": 30080}])
    )
    with pytest.raises(
        errors.InvalidError,
        match=r'spec.clusterIP: Invalid value: "10.96.1.1": provided IP is already allocated',
    ):
        await shoal_client.create(service("b", clusterIP="10.96.1.1"))
    with pytest.raises(
        errors.InvalidError,
        match=r"spec.ports\[0\].nodePort: Invalid value: 30080: provided port is already allocated",
    ) as info:
        await shoal_client.create(service("c", "NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert info.value.causes[0][0] == "spec.ports[0].nodePort"
    with pytest.raises(errors.NotFoundError):
        await shoal_client.get("svc", "c")
    await shoal_client.delete("svc", "a")
    again = await shoal_client.create(
        service("d", "NodePort", clusterIP="10.96.1.1", ports=[{"port": 80, "nodePort": 30080}])
    )
    assert again.spec.cluster_ip == "10.96.1.1"


async def test_dry_run_and_headless_hold_nothing(shoal_client: Client) -> None:
    await shoal_client.create(service("dry", clusterIP="10.96.2.2"), dry_run=True)
    await shoal_client.create(service("real", clusterIP="10.96.2.2"))
    headless = await shoal_client.create(service("db", clusterIP="None"))
    assert headless.spec.cluster_ip == "None"


async def test_allocations_survive_a_restart(tmp_path: Path) -> None:
    def start() -> APIServer:
        store = SQLiteStore(tmp_path / "state.db", compact_interval=0)
        return APIServer(store, services=ServiceAllocator("10.100.0.0/30", "31000-31000"))

    server = start()
    await server.start("127.0.0.1:0")
    client = Client(f"127.0.0.1:{server.port}")
    first = await client.create(service("one", "NodePort"))
    await client.close()
    await server.stop(grace=0)
    server = start()
    await server.start("127.0.0.1:0")
    client = Client(f"127.0.0.1:{server.port}")
    try:
        assert first.spec.cluster_ip == "10.100.0.2"  # .1 is the kubernetes Service's
        with pytest.raises(errors.InvalidError, match=r"range 10.100.0.0/30 is full"):
            await client.create(service("three"))  # .2 is still held
        second = await client.create(service("two", clusterIP="10.100.0.1"))
        assert second.spec.cluster_ip == "10.100.0.1"
        with pytest.raises(errors.InvalidError, match=r"node port range 31000-31000 is full"):
            await client.patch("svc", "two", {"spec": {"type": "NodePort"}})
    finally:
        await client.close()
        await server.stop(grace=0)

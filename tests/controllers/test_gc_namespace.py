"""Garbage collection in all three propagation modes, and namespace deletion."""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.client import Client
from shoal.plugins.controllers.garbagecollector import GarbageCollector
from shoal.plugins.controllers.namespace import NamespaceController
from shoal.plugins.controllers.replication import ReplicaSetController

from tests.controllers.helpers import running
from tests.controllers.test_replication import count_is, live_pods, rs
from tests.integration.helpers import eventually, obj, pod


async def gone(client: Client, kind: str, name: str, namespace: str = "default") -> bool:
    try:
        await client.get(kind, name, namespace)
    except errors.NotFoundError:
        return True
    return False


async def owned_set(client: Client) -> Any:
    owner = await client.create(rs("web", 3))
    await eventually(lambda: count_is(client, 3))
    return owner


async def test_background_deletion_deletes_dependents(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client), GarbageCollector(shoal_client)):
        await owned_set(shoal_client)
        await shoal_client.delete("ReplicaSet", "web", propagation_policy="Background")
        assert await gone(shoal_client, "ReplicaSet", "web")  # the owner goes at once
        await eventually(lambda: count_is(shoal_client, 0))


async def test_foreground_deletion_waits_for_dependents(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client), GarbageCollector(shoal_client)):
        await owned_set(shoal_client)
        marked = await shoal_client.delete("ReplicaSet", "web", propagation_policy="Foreground")
        assert "foregroundDeletion" in marked.metadata.finalizers
        await eventually(lambda: gone(shoal_client, "ReplicaSet", "web"))
        assert await live_pods(shoal_client) == []  # dependents went first


async def test_orphan_deletion_keeps_dependents_without_the_owner(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client), GarbageCollector(shoal_client)):
        await owned_set(shoal_client)
        await shoal_client.delete("ReplicaSet", "web", propagation_policy="Orphan")
        await eventually(lambda: gone(shoal_client, "ReplicaSet", "web"))
        pods = await live_pods(shoal_client)
        assert len(pods) == 3
        assert all(not p.metadata.owner_references for p in pods)


async def test_dangling_references_are_collected_and_live_owners_kept(shoal_client: Client) -> None:
    owner = await shoal_client.create(pod("owner"))
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "owner", "uid": owner.metadata.uid}
    ghost = {"apiVersion": "v1", "kind": "Pod", "name": "ghost", "uid": "no-such-uid"}
    for name, refs in (("orphaned", [ghost]), ("half", [ref, ghost])):
        await shoal_client.create(
            obj(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "ownerReferences": refs},
                }
            )
        )
    async with running(GarbageCollector(shoal_client)):
        await eventually(lambda: gone(shoal_client, "ConfigMap", "orphaned"))

        async def trimmed() -> bool:
            half = await shoal_client.get("ConfigMap", "half")
            return [r.name for r in half.metadata.owner_references] == ["owner"]

        await eventually(trimmed)


async def test_deleting_a_namespace_deletes_its_content_then_itself(shoal_client: Client) -> None:
    await shoal_client.create(
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    )
    await shoal_client.create(pod("a", namespace="team"))
    await shoal_client.create(
        obj(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "team"},
            }
        )
    )
    await shoal_client.create(pod("keep"))  # another namespace is untouched
    async with running(NamespaceController(shoal_client)):
        marked = await shoal_client.delete("Namespace", "team")
        assert marked.status.phase == "Terminating"
        await eventually(lambda: gone(shoal_client, "Namespace", "team", ""))
    for kind in ("Pod", "ConfigMap"):
        assert (await shoal_client.list(kind, "team")).items == []
    assert await shoal_client.get("Pod", "keep")

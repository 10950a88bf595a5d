"""ReplicaSet and ReplicationController against a real API server."""

from __future__ import annotations

import asyncio
from typing import Any

from shoal.client import Client
from shoal.plugins.controllers.replication import ReplicaSetController, ReplicationManager

from tests.controllers.helpers import fake_kubelet, running
from tests.integration.helpers import collect, eventually, obj, pod

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
}


def rc(name: str, replicas: int) -> Any:
    return obj(
        {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"app": "web"}, "template": TEMPLATE},
        }
    )


def rs(name: str, replicas: int, min_ready: int = 0) -> Any:
    return obj(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "minReadySeconds": min_ready,
                "selector": {"matchLabels": {"app": "web"}},
                "template": TEMPLATE,
            },
        }
    )


async def live_pods(client: Client) -> list[Any]:
    items = (await client.list("Pod", "default")).items
    return [p for p in items if not p.metadata.HasField("deletion_timestamp")]


async def count_is(client: Client, n: int) -> bool:
    return len(await live_pods(client)) == n


async def test_rc_creates_pods_owned_by_it_and_reports_status(shoal_client: Client) -> None:
    async with running(ReplicationManager(shoal_client)), fake_kubelet(shoal_client):
        owner = await shoal_client.create(rc("web", 3))
        await eventually(lambda: count_is(shoal_client, 3))
        for p in await live_pods(shoal_client):
            assert p.metadata.name.startswith("web-")
            [ref] = p.metadata.owner_references
            assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
                "ReplicationController",
                "web",
                owner.metadata.uid,
                True,
                True,
            )

        async def status_done() -> bool:
            s = (await shoal_client.get("ReplicationController", "web")).status
            return (
                s.replicas,
                s.ready_replicas,
                s.available_replicas,
                s.fully_labeled_replicas,
                s.observed_generation,
            ) == (3, 3, 3, 3, 1)

        await eventually(status_done)
        events = (await shoal_client.list("Event", "default")).items
        assert sum(e.reason == "SuccessfulCreate" for e in events) == 3


async def test_deleting_a_pod_of_an_rc_brings_a_replacement(shoal_client: Client) -> None:
    async with running(ReplicationManager(shoal_client)):
        await shoal_client.create(rc("web", 2))
        await eventually(lambda: count_is(shoal_client, 2))
        listed = await shoal_client.list("Pod", "default")
        victim = listed.items[0].metadata.name
        events = shoal_client.watch("Pod", "default", resource_version=listed.resource_version)
        await shoal_client.delete("Pod", victim)
        deleted, added = await collect(events, 2)
        await events.aclose()
        assert (deleted.type, deleted.object.metadata.name) == ("DELETED", victim)
        assert added.type == "ADDED" and added.object.metadata.name != victim
        assert added.object.metadata.owner_references[0].name == "web"
        assert len(await live_pods(shoal_client)) == 2


async def test_scaling_2_to_10_to_1_never_overshoots(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client)), fake_kubelet(shoal_client):
        created = await shoal_client.create(rs("web", 2))
        live: set[str] = set()
        observed: list[int] = []

        async def watch() -> None:
            rv = created.metadata.resource_version
            async for event in shoal_client.watch("Pod", "default", resource_version=rv):
                m = event.object.metadata
                gone = event.type == "DELETED" or m.HasField("deletion_timestamp")
                (live.discard if gone else live.add)(m.name)
                observed.append(len(live))

        watcher = asyncio.create_task(watch())
        await eventually(lambda: observed and observed[-1] == 2)
        for replicas in (10, 1):
            await shoal_client.patch("ReplicaSet", "web", {"spec": {"replicas": replicas}})
            await eventually(lambda r=replicas: _status(shoal_client, r))
        await eventually(lambda: observed[-1] == 1)
        watcher.cancel()
        assert max(observed) == 10  # never more pods than asked for
        assert len(await live_pods(shoal_client)) == 1


async def _status(client: Client, n: int) -> bool:
    rs = await client.get("ReplicaSet", "web")
    s = rs.status
    return (s.replicas, s.ready_replicas, s.observed_generation) == (n, n, rs.metadata.generation)


async def test_excess_pods_go_not_ready_first(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client)), fake_kubelet(shoal_client):
        await shoal_client.create(rs("web", 3))
        await eventually(lambda: _all_ready(shoal_client, 3))
    # Without a kubelet a new orphan stays Pending; adopted, it is the one to go.
    await shoal_client.create(pod("pending", labels={"app": "web"}))
    async with running(ReplicaSetController(shoal_client)):
        await eventually(lambda: count_is(shoal_client, 3))
        assert "pending" not in {p.metadata.name for p in await live_pods(shoal_client)}


async def _all_ready(client: Client, n: int) -> bool:
    pods = await live_pods(client)
    return len(pods) == n and all(p.status.phase == "Running" for p in pods)


async def test_orphans_are_adopted_and_mismatches_released(shoal_client: Client) -> None:
    await shoal_client.create(pod("orphan", labels={"app": "web"}))
    async with running(ReplicaSetController(shoal_client)):
        owner = await shoal_client.create(rs("web", 2))
        await eventually(lambda: count_is(shoal_client, 2))
        orphan = await shoal_client.get("Pod", "orphan")
        assert orphan.metadata.owner_references[0].uid == owner.metadata.uid
        await shoal_client.patch("Pod", "orphan", {"metadata": {"labels": {"app": "other"}}})

        async def released() -> bool:
            p = await shoal_client.get("Pod", "orphan")
            return not p.metadata.owner_references

        await eventually(released)
        await eventually(lambda: count_is(shoal_client, 3))  # a replacement + the released pod


async def test_min_ready_seconds_delays_availability(shoal_client: Client) -> None:
    async with running(ReplicaSetController(shoal_client)), fake_kubelet(shoal_client):
        # A window wide enough that a loaded machine still sees "ready but not
        # yet available" before it closes.
        await shoal_client.create(rs("web", 2, min_ready=4))

        async def ready_not_available() -> bool:
            s = (await shoal_client.get("ReplicaSet", "web")).status
            return s.ready_replicas == 2 and s.available_replicas == 0

        await eventually(ready_not_available)

        async def available() -> bool:
            s = (await shoal_client.get("ReplicaSet", "web")).status
            return s.available_replicas == 2

        await eventually(available, timeout=15)


async def test_a_pod_of_another_namespace_naming_the_owner_is_not_its_replica(
    shoal_client: Client,
) -> None:
    """Pods are claimed from the informer's index of controller uids; one in
    another namespace whose ownerReference names the ReplicaSet (an owner
    cannot be in another namespace) is neither counted nor released."""
    await shoal_client.create(obj({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "elsewhere"}}))  # fmt: skip
    async with running(ReplicaSetController(shoal_client)), fake_kubelet(shoal_client):
        owner = await shoal_client.create(rs("web", 2))
        await eventually(lambda: count_is(shoal_client, 2))
        stray = pod("stray", labels={"app": "web"}, namespace="elsewhere")
        ref = stray.metadata.owner_references.add()
        ref.api_version, ref.kind, ref.name = "apps/v1", "ReplicaSet", "web"
        ref.uid, ref.controller = owner.metadata.uid, True
        await shoal_client.create(stray)
        await shoal_client.patch("ReplicaSet", "web", {"spec": {"replicas": 3}})

        async def three_of_its_own() -> bool:
            s = (await shoal_client.get("ReplicaSet", "web")).status
            return s.replicas == 3 and s.observed_generation == 2

        await eventually(three_of_its_own)
        assert await count_is(shoal_client, 3)
        kept = await shoal_client.get("Pod", "stray", namespace="elsewhere")
        assert kept.metadata.owner_references[0].uid == owner.metadata.uid

"""Deployments against a real API server, with the ReplicaSet controller and
a fake kubelet that makes pods ready; invariants checked on every event."""

from __future__ import annotations

import asyncio
from typing import Any

from shoal.client import Client
from shoal.plugins.controllers import deployment_util as du
from shoal.plugins.controllers.deployment import DeploymentController
from shoal.plugins.controllers.replication import ReplicaSetController

from tests.controllers.helpers import fake_kubelet, running
from tests.controllers.test_replication import live_pods
from tests.integration.helpers import eventually, obj


def deployment(
    replicas: int = 10, image: str = "web:1", strategy: dict[str, Any] | None = None, **spec: Any
) -> Any:
    return obj(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {du.CHANGE_CAUSE: "first"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": strategy
                or {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 3}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
                **spec,
            },
        }
    )


def controllers(client: Client) -> list[Any]:
    return [ReplicaSetController(client), DeploymentController(client)]


async def rolled_out(client: Client, replicas: int, image: str) -> bool:
    d = await client.get("Deployment", "web")
    s = d.status
    pods = await live_pods(client)
    images = {p.spec.containers[0].image for p in pods}
    progressing = du.get_condition(s, "Progressing")
    return (
        (s.replicas, s.updated_replicas, s.available_replicas, s.ready_replicas) == (replicas,) * 4
        and s.observed_generation == d.metadata.generation
        and images == {image}
        and len(pods) == replicas
        and progressing is not None
        and progressing.reason == "NewReplicaSetAvailable"
    )


class PodCensus:
    """Live and ready pods, updated on every watch event, with the extremes seen."""

    def __init__(self) -> None:
        self.ready: dict[str, bool] = {}
        self.most = 0
        self.fewest_ready = 10**9
        self.events = 0

    def apply(self, event_type: str, pod: Any) -> None:
        name = pod.metadata.name
        if event_type == "DELETED" or pod.metadata.HasField("deletion_timestamp"):
            self.ready.pop(name, None)
        else:
            self.ready[name] = any(
                c.type == "Ready" and c.status == "True" for c in pod.status.conditions
            )

    def measure(self) -> None:
        self.events += 1
        self.most = max(self.most, len(self.ready))
        self.fewest_ready = min(self.fewest_ready, sum(self.ready.values()))

    async def follow(self, client: Client, synced: asyncio.Event) -> None:
        """The current pods, then every change after them, measured each time."""
        listed = await client.list("Pod", "default")
        for pod in listed.items:
            self.apply("ADDED", pod)
        synced.set()
        async for event in client.watch("Pod", "default", resource_version=listed.resource_version):
            self.apply(event.type, event.object)
            self.measure()


async def census(client: Client, c: PodCensus) -> asyncio.Task[None]:
    synced = asyncio.Event()
    task = asyncio.create_task(c.follow(client, synced))
    await asyncio.wait_for(synced.wait(), 5)
    return task


async def test_rolling_update_keeps_availability_and_surge_bounds(shoal_client: Client) -> None:
    async with running(*controllers(shoal_client)), fake_kubelet(shoal_client):
        await shoal_client.create(deployment())
        await eventually(lambda: rolled_out(shoal_client, 10, "web:1"), timeout=20)
        c = PodCensus()
        watcher = await census(shoal_client, c)
        assert len(c.ready) == 10 and all(c.ready.values())
        await shoal_client.patch(
            "Deployment",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "web:2"}]}}}},
        )
        await eventually(lambda: rolled_out(shoal_client, 10, "web:2"), timeout=30)
        await eventually(lambda: len(c.ready) == 10 and all(c.ready.values()))
        watcher.cancel()
        assert c.events > 20  # the watch saw the rollout happen
        assert c.most <= 13, c.most
        assert c.fewest_ready >= 8, c.fewest_ready
        assert c.most > 10  # it did surge

        sets = (await shoal_client.list("ReplicaSet", "default")).items
        assert len(sets) == 2
        old, new = sorted(sets, key=du.revision)
        assert (du.revision(old), du.revision(new), old.spec.replicas) == (1, 2, 0)
        assert new.metadata.name == f"web-{new.metadata.labels[du.HASH_LABEL]}"
        assert new.spec.selector.match_labels[du.HASH_LABEL] == new.metadata.labels[du.HASH_LABEL]
        assert new.metadata.annotations[du.CHANGE_CAUSE] == "first"
        d = await shoal_client.get("Deployment", "web")
        assert d.metadata.annotations[du.REVISION] == "2"
        available = du.get_condition(d.status, "Available")
        assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
        messages = [
            e.message
            for e in (await shoal_client.list("Event", "default")).items
            if e.involved_object.kind == "Deployment"
        ]
        assert f"Scaled up replica set {new.metadata.name} to 3" in messages

        # rollout undo: the CLI copies the old template back
        d.spec.template.CopyFrom(du.without_hash(old.spec.template))
        await shoal_client.update(d)
        await eventually(lambda: rolled_out(shoal_client, 10, "web:1"), timeout=30)
        sets = {rs.metadata.name: rs for rs in (await shoal_client.list("ReplicaSet")).items}
        assert set(sets) == {old.metadata.name, new.metadata.name}  # the old set came back
        assert du.revision(sets[old.metadata.name]) == 3
        assert sets[new.metadata.name].spec.replicas == 0


async def test_recreate_stops_old_pods_before_new_ones(shoal_client: Client) -> None:
    async with running(*controllers(shoal_client)), fake_kubelet(shoal_client):
        await shoal_client.create(deployment(4, strategy={"type": "Recreate"}))
        await eventually(lambda: rolled_out(shoal_client, 4, "web:1"), timeout=20)
        c = PodCensus()
        mixed: list[set[str]] = []

        async def watch() -> None:
            images = {
                p.metadata.name: p.spec.containers[0].image for p in await live_pods(shoal_client)
            }
            async for event in shoal_client.watch("Pod", "default", resource_version=rv):
                c.apply(event.type, event.object)
                pod = event.object
                if pod.metadata.name in c.ready:
                    images[pod.metadata.name] = pod.spec.containers[0].image
                else:
                    images.pop(pod.metadata.name, None)
                mixed.append(set(images.values()))

        rv = (await shoal_client.list("Pod", "default")).resource_version
        watcher = asyncio.create_task(watch())
        await shoal_client.patch(
            "Deployment",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "web:2"}]}}}},
        )
        await eventually(lambda: rolled_out(shoal_client, 4, "web:2"), timeout=20)
        watcher.cancel()
        assert all(len(images) <= 1 for images in mixed)  # never old and new together
        assert set() in mixed  # there was a moment with no pods


async def test_scaling_and_pause(shoal_client: Client) -> None:
    async with running(*controllers(shoal_client)), fake_kubelet(shoal_client):
        await shoal_client.create(deployment(2))
        await eventually(lambda: rolled_out(shoal_client, 2, "web:1"), timeout=20)
        await shoal_client.patch("Deployment", "web", {"spec": {"replicas": 5}})
        await eventually(lambda: rolled_out(shoal_client, 5, "web:1"), timeout=20)
        await shoal_client.patch(
            "Deployment",
            "web",
            {
                "spec": {
                    "paused": True,
                    "template": {"spec": {"containers": [{"name": "main", "image": "web:2"}]}},
                }
            },
        )

        async def paused() -> bool:
            d = await shoal_client.get("Deployment", "web")
            p = du.get_condition(d.status, "Progressing")
            return p is not None and p.reason == "DeploymentPaused"

        await eventually(paused)
        await shoal_client.patch("Deployment", "web", {"spec": {"replicas": 3}})
        await eventually(lambda: _images_and_count(shoal_client, {"web:1"}, 3))
        assert len((await shoal_client.list("ReplicaSet", "default")).items) == 1
        await shoal_client.patch("Deployment", "web", {"spec": {"paused": False}})
        await eventually(lambda: rolled_out(shoal_client, 3, "web:2"), timeout=20)


async def _images_and_count(client: Client, images: set[str], n: int) -> bool:
    pods = await live_pods(client)
    return len(pods) == n and {p.spec.containers[0].image for p in pods} == images


async def test_history_limit_keeps_the_newest_old_sets(shoal_client: Client) -> None:
    async with running(*controllers(shoal_client)), fake_kubelet(shoal_client):
        await shoal_client.create(deployment(1, revisionHistoryLimit=1))
        for version in range(2, 5):
            await shoal_client.patch(
                "Deployment",
                "web",
                {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "main", "image": f"web:{version}"}]}
                        }
                    }
                },
            )
            await eventually(lambda v=version: rolled_out(shoal_client, 1, f"web:{v}"), timeout=20)

        async def revisions() -> list[int]:
            sets = (await shoal_client.list("ReplicaSet", "default")).items
            return sorted(du.revision(rs) for rs in sets)

        await eventually(lambda: _eq(revisions(), [3, 4]))


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def test_progress_deadline_exceeded_when_pods_never_get_ready(shoal_client: Client) -> None:
    async with running(*controllers(shoal_client)):  # no kubelet: nothing gets ready
        strategy = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
        }
        await shoal_client.create(deployment(2, strategy=strategy, progressDeadlineSeconds=1))

        async def exceeded() -> bool:
            d = await shoal_client.get("Deployment", "web")
            p = du.get_condition(d.status, "Progressing")
            a = du.get_condition(d.status, "Available")
            return (
                p is not None
                and (p.status, p.reason) == ("False", "ProgressDeadlineExceeded")
                and a is not None
                and a.status == "False"
            )

        await eventually(exceeded, timeout=10)

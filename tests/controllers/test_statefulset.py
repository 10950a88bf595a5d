"""StatefulSets against a real API server with the StatefulSet controller and
a kubelet stand-in that makes pods ready only when the test says so, so the
order of creation, removal and update is observed pod by pod."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from shoal import errors
from shoal.client import Client
from shoal.plugins.controllers.statefulset import StatefulSetController
from shoal.plugins.controllers.statefulset_util import POD_INDEX_LABEL, POD_NAME_LABEL

from tests.controllers.helpers import mark_ready, running
from tests.integration.helpers import eventually, obj


def statefulset(replicas: int = 3, image: str = "web:1", **spec: Any) -> Any:
    return obj(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "serviceName": "nginx",
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": image}]},
                },
                **spec,
            },
        }
    )


async def names(client: Client, *, alive: bool = True) -> list[str]:
    listed = await client.list("Pod")
    return sorted(
        p.metadata.name
        for p in listed.items
        if not (alive and p.metadata.HasField("deletion_timestamp"))
    )


class Kubelet:
    """Records the order pods appear and go; makes a pod ready on request
    (or every pod at once with ``auto``)."""

    def __init__(self, client: Client, auto: bool = False, ips: bool = False) -> None:
        self.client, self.auto, self.ips = client, auto, ips
        self.created: list[str] = []
        self.deleted: list[str] = []

    async def ready(self, name: str) -> None:
        pod = await self.client.get("Pod", name)
        await self.client.update_status(mark_ready(pod))

    async def loop(self) -> None:
        async for event in self.client.watch("Pod"):
            pod = event.object
            if pod is None:
                continue
            name = pod.metadata.name
            if event.type == "ADDED":
                self.created.append(name)
                if self.auto:
                    ready = mark_ready(pod)
                    if self.ips:
                        ready.status.pod_ip = f"10.9.0.{len(self.created)}"
                    with contextlib.suppress(errors.NotFoundError, errors.ConflictError):
                        await self.client.update_status(ready)
            elif event.type == "DELETED":
                self.deleted.append(name)


@contextlib.asynccontextmanager
async def kubelet(client: Client, auto: bool = False, ips: bool = False) -> AsyncIterator[Kubelet]:
    k = Kubelet(client, auto, ips)
    task = asyncio.create_task(k.loop())
    try:
        yield k
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_ordered_ready_creates_one_pod_at_a_time(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client) as k, running(StatefulSetController(client)):
        await client.create(statefulset(3))
        await eventually(lambda: k.created == ["web-0"])
        # web-1 waits for web-0 to be Running and Ready.
        await k.ready("web-0")
        await eventually(lambda: k.created == ["web-0", "web-1"])
        await k.ready("web-1")
        await eventually(lambda: k.created == ["web-0", "web-1", "web-2"])
        await k.ready("web-2")

        pod = await client.get("Pod", "web-1")
        assert pod.spec.hostname == "web-1" and pod.spec.subdomain == "nginx"
        assert pod.metadata.labels[POD_NAME_LABEL] == "web-1"
        assert pod.metadata.labels[POD_INDEX_LABEL] == "1"

        async def status_done() -> bool:
            s = (await client.get("StatefulSet", "web")).status
            return (
                (s.replicas, s.ready_replicas, s.current_replicas) == (3, 3, 3)
                and bool(s.current_revision)
                and s.current_revision == s.update_revision
            )

        await eventually(status_done)


async def test_scale_down_removes_the_highest_ordinal_first(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client, auto=True) as k, running(StatefulSetController(client)):
        await client.create(statefulset(4))
        await eventually(lambda: len(k.created) == 4, timeout=20)
        assert k.created == ["web-0", "web-1", "web-2", "web-3"]
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
        await eventually(lambda: len(k.deleted) == 3, timeout=20)
        assert k.deleted == ["web-3", "web-2", "web-1"]
        assert await names(client) == ["web-0"]


async def test_parallel_creates_every_pod_without_waiting(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client) as k, running(StatefulSetController(client)):
        await client.create(statefulset(3, podManagementPolicy="Parallel"))
        # Nothing is ever made ready: OrderedReady would stop at web-0.
        await eventually(lambda: sorted(k.created) == ["web-0", "web-1", "web-2"])


async def test_rolling_update_goes_highest_first_and_stops_at_the_partition(
    shoal_client: Client,
) -> None:
    client = shoal_client
    async with kubelet(client, auto=True) as k, running(StatefulSetController(client)):
        await client.create(statefulset(3))
        await eventually(lambda: len(k.created) == 3, timeout=20)
        patch = {
            "spec": {
                "updateStrategy": {"rollingUpdate": {"partition": 1}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "web:2"}]}},
            }
        }
        await client.patch("StatefulSet", "web", patch)

        async def images() -> dict[str, str]:
            listed = await client.list("Pod")
            return {
                p.metadata.name: p.spec.containers[0].image
                for p in listed.items
                if not p.metadata.HasField("deletion_timestamp")
            }

        want = {"web-0": "web:1", "web-1": "web:2", "web-2": "web:2"}
        await eventually(lambda: _equal(images(), want), timeout=20)
        assert k.deleted == ["web-2", "web-1"]
        sts = await client.get("StatefulSet", "web")
        assert sts.status.current_revision != sts.status.update_revision

        # Lowering the partition to 0 finishes the rollout.
        await client.patch(
            "StatefulSet", "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}
        )
        await eventually(lambda: _equal(images(), dict.fromkeys(want, "web:2")), timeout=20)

        async def complete() -> bool:
            s = (await client.get("StatefulSet", "web")).status
            return s.current_revision == s.update_revision and s.updated_replicas == 3

        await eventually(complete)
        revisions = await client.list("ControllerRevision")
        assert sorted(r.revision for r in revisions.items) == [1, 2]


async def _equal(got: Any, want: Any) -> bool:
    return bool(await got == want)


async def test_on_delete_waits_for_a_person(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client, auto=True) as k, running(StatefulSetController(client)):
        await client.create(statefulset(2, updateStrategy={"type": "OnDelete"}))
        await eventually(lambda: len(k.created) == 2, timeout=20)
        template = {"spec": {"containers": [{"name": "nginx", "image": "web:2"}]}}
        await client.patch("StatefulSet", "web", {"spec": {"template": template}})

        async def observed() -> bool:
            s = (await client.get("StatefulSet", "web")).status
            return s.observed_generation == 2 and s.current_revision != s.update_revision

        await eventually(observed)
        assert k.deleted == []
        await client.delete("Pod", "web-1")

        async def replaced() -> bool:
            try:
                pod = await client.get("Pod", "web-1")
            except errors.NotFoundError:
                return False
            return pod.spec.containers[0].image == "web:2"

        await eventually(replaced, timeout=20)
        assert (await client.get("Pod", "web-0")).spec.containers[0].image == "web:1"


async def test_pods_get_dns_names_under_the_headless_service(shoal_client: Client) -> None:
    """hostname/subdomain -> Endpoints hostnames -> cluster DNS records."""
    from shoal.plugins.controllers.endpoints import EndpointsController
    from shoal.plugins.dns.records import build_names

    client = shoal_client
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "nginx"},
        "spec": {"clusterIP": "None", "selector": {"app": "nginx"}, "ports": [{"port": 80}]},
    }
    await client.create(obj(service))
    async with (
        kubelet(client, auto=True, ips=True),
        running(StatefulSetController(client), EndpointsController(client)),
    ):
        await client.create(statefulset(2))

        async def resolved() -> dict[str, list[str]]:
            services, endpoints = await client.list("Service"), await client.list("Endpoints")
            names = build_names(list(services.items), list(endpoints.items))
            return {
                host: names.addresses.get(f"{host}.nginx.default.svc.cluster.local", [])
                for host in ("web-0", "web-1")
            }

        async def both() -> bool:
            got = await resolved()
            return all(got.values())

        await eventually(both, timeout=20)
        got = await resolved()
        for host, ips in got.items():
            pod = await client.get("Pod", host)
            assert ips == [pod.status.pod_ip]


CLAIM_TEMPLATE = {
    "metadata": {"name": "www"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    },
}


def with_claims(replicas: int, **policy: str) -> Any:
    sts = statefulset(
        replicas,
        volumeClaimTemplates=[CLAIM_TEMPLATE],
        persistentVolumeClaimRetentionPolicy=policy,
    )
    sts.spec.template.spec.containers[0].volume_mounts.add(
        name="www", mount_path="/usr/share/nginx/html"
    )
    return sts


async def claim_names(client: Client) -> list[str]:
    listed = await client.list("PersistentVolumeClaim")
    return sorted(
        c.metadata.name for c in listed.items if not c.metadata.HasField("deletion_timestamp")
    )


async def test_a_claim_per_ordinal_made_before_the_pod_and_kept(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client, auto=True) as k, running(StatefulSetController(client)):
        await client.create(with_claims(2))
        await eventually(lambda: len(k.created) == 2, timeout=20)
        assert await claim_names(client) == ["www-web-0", "www-web-1"]
        pod = await client.get("Pod", "web-1")
        volume = next(v for v in pod.spec.volumes if v.name == "www")
        assert volume.persistent_volume_claim.claim_name == "www-web-1"
        claim = await client.get("PersistentVolumeClaim", "www-web-0")
        assert claim.metadata.labels["app"] == "nginx" and not claim.metadata.owner_references
        # Retain/Retain: a scale down and a pod's deletion leave the claims.
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
        await eventually(lambda: k.deleted == ["web-1"], timeout=20)
        await client.delete("Pod", "web-0")
        await eventually(lambda: k.created.count("web-0") == 2, timeout=20)
        assert await claim_names(client) == ["www-web-0", "www-web-1"]


async def test_retention_delete_owner_references(shoal_client: Client) -> None:
    client = shoal_client
    async with kubelet(client, auto=True) as k, running(StatefulSetController(client)):
        sts = await client.create(with_claims(2, whenDeleted="Delete", whenScaled="Delete"))
        await eventually(lambda: len(k.created) == 2, timeout=20)
        claim = await client.get("PersistentVolumeClaim", "www-web-1")
        assert [r.uid for r in claim.metadata.owner_references] == [sts.metadata.uid]
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
        await eventually(lambda: k.deleted == ["web-1"], timeout=20)
        claim = await client.get("PersistentVolumeClaim", "www-web-1")
        assert [r.kind for r in claim.metadata.owner_references] == ["Pod"]


async def test_when_deleted_delete_takes_the_claims_with_the_set(shoal_client: Client) -> None:
    from shoal.plugins.controllers.garbagecollector import GarbageCollector

    client = shoal_client
    controllers = (StatefulSetController(client), GarbageCollector(client))
    async with kubelet(client, auto=True) as k, running(*controllers):
        await client.create(with_claims(2, whenDeleted="Delete"))
        await eventually(lambda: len(k.created) == 2, timeout=20)
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
        await eventually(lambda: k.deleted == ["web-1"], timeout=20)
        assert await claim_names(client) == ["www-web-0", "www-web-1"]  # whenScaled: Retain
        await client.delete("StatefulSet", "web")

        async def gone() -> bool:
            return await claim_names(client) == []

        await eventually(gone, timeout=20)


async def test_when_scaled_delete_takes_the_claim_with_its_pod(shoal_client: Client) -> None:
    from shoal.plugins.controllers.garbagecollector import GarbageCollector

    client = shoal_client
    controllers = (StatefulSetController(client), GarbageCollector(client))
    async with kubelet(client, auto=True) as k, running(*controllers):
        await client.create(with_claims(2, whenScaled="Delete"))
        await eventually(lambda: len(k.created) == 2, timeout=20)
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})

        async def one_left() -> bool:
            return await claim_names(client) == ["www-web-0"]

        await eventually(one_left, timeout=20)
        assert k.deleted == ["web-1"]

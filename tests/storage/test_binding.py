"""Claims, volumes and the local provisioner in a whole cluster (server,
control plane, hollow nodes): WaitForFirstConsumer binding, the node's
directory, pods of a claim kept on its node, reclaim and protection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from shoal import errors
from shoal.agent.testing import Cluster, start_cluster, stop_cluster
from shoal.client import Client
from shoal.manifest import from_dict

from tests.integration.helpers import eventually, update_latest
from tests.storage.test_kinds import claim, volume


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = await start_cluster(tmp_path, nodes=3)
    try:
        yield c
    finally:
        await stop_cluster(c)


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, or fail at the deadline."""
    return await eventually(check, timeout=timeout, interval=0.05)


def pod_with_claim(name: str, claim_name: str) -> Any:
    return from_dict({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "busybox",
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        },
    })  # fmt: skip


async def get_or_none(client: Client, kind: str, name: str, ns: str | None = None) -> Any:
    try:
        return await client.get(kind, name, ns)
    except errors.NotFoundError:
        return None


async def running(client: Client, name: str) -> Any:
    async def check() -> Any:
        pod = await client.get("Pod", name, "default")
        return pod if pod.status.phase == "Running" else None

    try:
        return await until(check)
    except AssertionError:
        pod = await client.get("Pod", name, "default")
        claims = await client.list("PersistentVolumeClaim", namespace="default")
        pvs = await client.list("PersistentVolume")
        raise AssertionError(
            f"pod {name} not running: {pod.status}; claims: "
            f"{[(x.metadata.annotations, x.spec, x.status) for x in claims.items]}; "
            f"volumes: {[(x.metadata.name, x.spec.claim_ref, x.status) for x in pvs.items]}"
        ) from None


async def test_wait_for_first_consumer_provisions_on_the_pods_node(cluster: Cluster) -> None:
    c = cluster.client
    await c.create(claim("data"))
    made = await c.get("PersistentVolumeClaim", "data", "default")
    assert made.status.phase == "Pending" and not made.spec.volume_name  # waits for a pod
    await c.create(pod_with_claim("first", "data"))
    pod = await running(c, "first")
    bound = await c.get("PersistentVolumeClaim", "data", "default")
    assert bound.status.phase == "Bound"
    assert bound.metadata.annotations["volume.kubernetes.io/selected-node"] == pod.spec.node_name
    pv = await c.get("PersistentVolume", bound.spec.volume_name)
    assert pv.status.phase == "Bound"
    assert pv.spec.capacity["storage"] == "1Gi"
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.spec.claim_ref.uid == bound.metadata.uid
    path = Path(pv.spec.local.path)
    assert path.is_dir() and pod.spec.node_name in str(path)
    assert dict(bound.status.capacity) == {"storage": "1Gi"}
    # the claim's next pod goes where its volume is, whatever the spreading says
    await c.delete("Pod", "first", "default", grace_period_seconds=0)
    for n in range(3):
        await c.create(pod_with_claim(f"again-{n}", "data"))
    for n in range(3):
        again = await running(c, f"again-{n}")
        assert again.spec.node_name == pod.spec.node_name


async def test_claim_protection_and_reclaim_delete(cluster: Cluster) -> None:
    c = cluster.client
    await c.create(claim("data"))
    await c.create(pod_with_claim("user", "data"))
    await running(c, "user")
    bound = await c.get("PersistentVolumeClaim", "data", "default")
    pv = await c.get("PersistentVolume", bound.spec.volume_name)
    path = Path(pv.spec.local.path)
    (path / "file").write_text("kept")
    await c.delete("PersistentVolumeClaim", "data", "default")
    held = await c.get("PersistentVolumeClaim", "data", "default")  # a pod still uses it
    assert held.metadata.HasField("deletion_timestamp")
    assert "kubernetes.io/pvc-protection" in held.metadata.finalizers
    assert path.is_dir()
    await c.delete("Pod", "user", "default", grace_period_seconds=0)

    async def gone() -> bool:
        return (
            await get_or_none(c, "PersistentVolumeClaim", "data", "default") is None
            and await get_or_none(c, "PersistentVolume", pv.metadata.name) is None
        )

    await until(gone)
    assert not path.exists()


async def test_static_volume_binds_immediately_and_retains(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster.client
    pv = volume("task-pv-volume", "10Gi", str(tmp_path / "static"))
    pv.spec.storage_class_name = "manual"
    pv.metadata.labels["type"] = "local"
    await c.create(pv)
    small = volume("small", "1Gi", str(tmp_path / "small"))
    small.spec.storage_class_name = "manual"
    await c.create(small)
    want = claim("task-pv-claim", "3Gi", cls="manual")  # no class "manual": Immediate
    await c.create(want)

    async def bound() -> Any:
        got = await c.get("PersistentVolumeClaim", "task-pv-claim", "default")
        return got if got.status.phase == "Bound" else None

    got = await until(bound)
    assert got.spec.volume_name == "task-pv-volume"  # the one big enough
    assert dict(got.status.capacity) == {"storage": "10Gi"}

    async def phase(name: str, want: str) -> bool:
        return (await c.get("PersistentVolume", name)).status.phase == want

    await until(lambda: phase("small", "Available"))
    await c.delete("PersistentVolumeClaim", "task-pv-claim", "default")
    await until(lambda: phase("task-pv-volume", "Released"))  # Retain: kept, not reused
    assert (await c.get("PersistentVolume", "task-pv-volume")).spec.claim_ref.name


async def test_unbound_immediate_claim_keeps_its_pod_pending(cluster: Cluster) -> None:
    c = cluster.client
    await c.create(claim("nothing", cls=""))
    await c.create(pod_with_claim("waits", "nothing"))

    async def reported() -> Any:
        pod = await c.get("Pod", "waits", "default")
        return [
            x for x in pod.status.conditions if x.type == "PodScheduled" and x.status == "False"
        ]

    condition = (await until(reported))[0]
    assert "unbound immediate PersistentVolumeClaims" in condition.message
    missing = pod_with_claim("orphan", "no-such-claim")
    await c.create(missing)

    async def orphan_reported() -> Any:
        pod = await c.get("Pod", "orphan", "default")
        return [x for x in pod.status.conditions if x.type == "PodScheduled"]

    assert (
        'persistentvolumeclaim "no-such-claim" not found'
        in (await until(orphan_reported))[0].message
    )


async def test_local_path_claim_grows_when_its_class_allows(cluster: Cluster) -> None:
    from shoal.api.v1 import storage_pb2

    c = cluster.client
    sc = storage_pb2.StorageClass(
        provisioner="shoal.dev/local-path",
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
    )
    sc.metadata.name = "growable"
    await c.create(sc)
    await c.create(claim("data", cls="growable"))
    await c.create(pod_with_claim("user", "data"))
    await running(c, "user")
    await update_latest(  # the binder may still be writing the claim
        c, "PersistentVolumeClaim", "data", "default", _requests("2Gi")
    )

    async def grown() -> bool:
        got = await c.get("PersistentVolumeClaim", "data", "default")
        pv = await c.get("PersistentVolume", got.spec.volume_name)
        return got.status.capacity["storage"] == "2Gi" and pv.spec.capacity["storage"] == "2Gi"

    await until(grown)


def _requests(storage: str) -> Callable[[Any], None]:
    def change(pvc: Any) -> None:
        pvc.spec.resources.requests["storage"] = storage

    return change

"""PersistentVolume, PersistentVolumeClaim and StorageClass through the API
server: defaults, the default class, validation and the kubectl columns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from shoal import errors
from shoal.api.v1 import core_pb2, storage_pb2
from shoal.client import Client
from shoal.plugins.kinds import storage_columns as columns
from shoal.testing import start_server

GI = "1Gi"


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    server = await start_server(tmp_path)
    c = Client(f"127.0.0.1:{server.port}")
    try:
        yield c
    finally:
        await c.close()
        await server.stop(grace=0)


def claim(name: str, size: str = GI, *, cls: str | None = None) -> core_pb2.PersistentVolumeClaim:
    pvc = core_pb2.PersistentVolumeClaim()
    pvc.metadata.name = name
    pvc.spec.access_modes.append("ReadWriteOnce")
    pvc.spec.resources.requests["storage"] = size
    if cls is not None:
        pvc.spec.storage_class_name = cls
    return pvc


def volume(name: str, size: str = GI, path: str = "/tmp/pv") -> core_pb2.PersistentVolume:
    pv = core_pb2.PersistentVolume()
    pv.metadata.name = name
    pv.spec.capacity["storage"] = size
    pv.spec.access_modes.append("ReadWriteOnce")
    pv.spec.host_path.path = path
    return pv


async def test_default_class_made_at_start(client: Client) -> None:
    sc = await client.get("StorageClass", "standard")
    assert sc.provisioner == "shoal.dev/local-path"
    assert sc.reclaim_policy == "Delete"
    assert sc.volume_binding_mode == "WaitForFirstConsumer"
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"


async def test_claim_defaults_and_default_class(client: Client) -> None:
    made = await client.create(claim("data"))
    assert made.spec.storage_class_name == "standard"
    assert made.spec.volume_mode == "Filesystem"
    assert made.status.phase == "Pending"
    # "" asks for no class: DefaultStorageClass leaves it alone
    none = await client.create(claim("static", cls=""))
    assert none.spec.HasField("storage_class_name") and none.spec.storage_class_name == ""


async def test_volume_defaults_to_retain(client: Client) -> None:
    pv = await client.create(volume("pv1"))
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    assert pv.spec.volume_mode == "Filesystem"
    assert pv.metadata.namespace == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.spec.ClearField("access_modes"), "spec.accessModes"),
        (lambda p: p.spec.resources.requests.pop("storage"), "spec.resources.requests[storage]"),
        (lambda p: p.spec.resources.requests.update(storage="lots"), "spec.resources.requests"),
        (lambda p: p.spec.access_modes.append("WriteSometimes"), "spec.accessModes"),
        (lambda p: setattr(p.spec, "volume_mode", "Sideways"), "spec.volumeMode"),
    ],
)
async def test_bad_claims_refused(client: Client, change: object, field: str) -> None:
    pvc = claim("bad")
    change(pvc)  # type: ignore[operator]
    with pytest.raises(errors.InvalidError) as refused:
        await client.create(pvc)
    assert field in str(refused.value)
    assert not (await client.list("PersistentVolumeClaim", namespace="default")).items


async def test_bad_volume_and_class_refused(client: Client) -> None:
    pv = volume("nosource")
    pv.spec.ClearField("host_path")
    with pytest.raises(errors.InvalidError, match="must specify a volume type"):
        await client.create(pv)
    local = volume("local")
    local.spec.ClearField("host_path")
    local.spec.local.path = "/mnt/x"
    with pytest.raises(errors.InvalidError, match="Local volume requires node affinity"):
        await client.create(local)
    sc = storage_pb2.StorageClass(reclaim_policy="Recycle")
    sc.metadata.name = "odd"
    with pytest.raises(errors.InvalidError) as refused:
        await client.create(sc)
    assert "provisioner: Required value" in str(refused.value)
    assert "reclaimPolicy" in str(refused.value)


async def test_claim_spec_is_immutable_but_may_grow_when_class_allows(client: Client) -> None:
    grow = storage_pb2.StorageClass(provisioner="example.com/x", allow_volume_expansion=True)
    grow.metadata.name = "growable"
    await client.create(grow)
    pvc = await client.create(claim("c", cls="growable"))
    pvc.spec.access_modes[:] = ["ReadWriteMany"]
    with pytest.raises(errors.InvalidError, match="spec is immutable after creation"):
        await client.update(pvc)
    pvc = await client.get("PersistentVolumeClaim", "c", "default")
    pvc.spec.volume_name = "pv-x"  # the binder's write on an unbound claim
    pvc = await client.update(pvc)
    pvc.spec.resources.requests["storage"] = "2Gi"
    grown = await client.update(pvc)
    assert grown.spec.resources.requests["storage"] == "2Gi"
    grown.spec.resources.requests["storage"] = "1Gi"
    with pytest.raises(errors.InvalidError, match="can not be less than previous value"):
        await client.update(grown)


async def test_claim_may_not_grow_without_expansion(client: Client) -> None:
    pvc = await client.create(claim("fixed"))  # class standard: no expansion
    pvc.spec.volume_name = "pv-y"
    pvc = await client.update(pvc)
    pvc.spec.resources.requests["storage"] = "5Gi"
    with pytest.raises(errors.InvalidError, match="storageclass that provisions the pvc"):
        await client.update(pvc)
    kept = await client.get("PersistentVolumeClaim", "fixed", "default")
    assert kept.spec.resources.requests["storage"] == GI


async def test_storage_class_fields_immutable(client: Client) -> None:
    sc = await client.get("StorageClass", "standard")
    sc.provisioner = "example.com/other"
    with pytest.raises(errors.InvalidError, match="updates to provisioner are forbidden"):
        await client.update(sc)


def test_columns_as_kubectl_prints_them() -> None:
    pv = {
        "metadata": {"name": "pv1"},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "data"},
            "storageClassName": "manual",
        },
        "status": {"phase": "Bound"},
    }
    cells = columns.PERSISTENT_VOLUME.cells(pv, 0.0)
    assert cells[:8] == [
        "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "manual", "<unset>", ""
    ]  # fmt: skip
    pvc = {
        "metadata": {"name": "data", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"volumeName": "pv1", "storageClassName": "manual"},
        "status": {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "10Gi"},
        },
    }
    assert columns.PERSISTENT_VOLUME_CLAIM.cells(pvc, 0.0)[:6] == [
        "Terminating", "pv1", "10Gi", "RWO", "manual", "<unset>"
    ]  # fmt: skip
    unbound = {"metadata": {}, "spec": {}, "status": {"phase": "Pending"}}
    assert columns.PERSISTENT_VOLUME_CLAIM.cells(unbound, 0.0)[:4] == ["Pending", "", "", ""]
    sc = {"metadata": {}, "provisioner": "shoal.dev/local-path"}
    assert columns.STORAGE_CLASS.cells(sc, 0.0)[:4] == [
        "shoal.dev/local-path", "Delete", "Immediate", "false"
    ]  # fmt: skip

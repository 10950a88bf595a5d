"""The storage kinds through the REST gateway: kubectl, the official Python
client, and refusals as 422."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.gateway.conftest import GatewayServer
from tests.requirements import require_module

CLAIM = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "task-pv-claim"},
    "spec": {
        "storageClassName": "manual",
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "3Gi"}},
    },
}
VOLUME = """
apiVersion: v1
kind: PersistentVolume
metadata:
  name: task-pv-volume
  labels:
    type: local
spec:
  storageClassName: manual
  capacity:
    storage: 10Gi
  accessModes:
    - ReadWriteOnce
  hostPath:
    path: "/tmp/shoal-task-pv"
"""


async def test_refusals_are_422(gateway_server: GatewayServer) -> None:
    bad = {**CLAIM, "spec": {"accessModes": ["ReadWriteOnce"]}}
    async with gateway_server.http.post(
        "/api/v1/namespaces/default/persistentvolumeclaims", json=bad
    ) as resp:
        body = await resp.json()
    assert resp.status == 422, body
    assert body["reason"] == "Invalid"
    assert "spec.resources.requests[storage]: Required value" in body["message"]
    async with gateway_server.http.post(
        "/apis/storage.k8s.io/v1/storageclasses",
        json={"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
              "metadata": {"name": "x"}, "provisioner": "a/b", "volumeBindingMode": "Later"},
    ) as resp:  # fmt: skip
        assert resp.status == 422
    async with gateway_server.http.get("/api/v1/namespaces/default/persistentvolumeclaims") as r:
        assert (await r.json())["items"] == []


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_apply_and_get(gateway_server: GatewayServer) -> None:
    applied = await gateway_server.kubectl("apply", "-f", "-", input=VOLUME)
    assert applied.code == 0, applied.err
    got = await gateway_server.kubectl("get", "pv,sc", "-o", "name")
    assert got.code == 0, got.err
    assert got.out.split() == [
        "persistentvolume/task-pv-volume",
        "storageclass.storage.k8s.io/standard",
    ]
    shown = await gateway_server.kubectl("get", "pv", "task-pv-volume", "-o", "json")
    assert '"persistentVolumeReclaimPolicy": "Retain"' in shown.out


def _create_read(url: str) -> tuple[Any, Any]:
    import kubernetes

    configuration = kubernetes.client.Configuration()
    configuration.host = url
    with kubernetes.client.ApiClient(configuration) as api:
        core = kubernetes.client.CoreV1Api(api)
        created = core.create_namespaced_persistent_volume_claim("default", CLAIM)
        read = core.read_namespaced_persistent_volume_claim("task-pv-claim", "default")
        storage = kubernetes.client.StorageV1Api(api)
        classes = storage.list_storage_class()
        return (created, read), classes


async def test_python_client_claims(gateway_server: GatewayServer) -> None:
    require_module("kubernetes")
    (created, read), classes = await asyncio.to_thread(_create_read, gateway_server.url)
    assert created.spec.resources.requests == {"storage": "3Gi"}
    assert read.status.phase == "Pending"
    assert read.spec.volume_mode == "Filesystem"
    assert [c.metadata.name for c in classes.items] == ["standard"]
    assert classes.items[0].volume_binding_mode == "WaitForFirstConsumer"


@pytest.mark.usefixtures("needs_kubectl")
async def test_kubectl_prints_kubernetes_columns(gateway_server: GatewayServer) -> None:
    assert (await gateway_server.kubectl("apply", "-f", "-", input=VOLUME)).code == 0
    async with gateway_server.http.post(
        "/api/v1/namespaces/default/persistentvolumeclaims", json=CLAIM
    ) as resp:
        assert resp.status == 201
    pv = await gateway_server.kubectl("get", "pv")
    assert pv.out.split("\n")[0].split() == [
        "NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
        "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE",
    ]  # fmt: skip
    assert pv.out.split("\n")[1].split()[:5] == [
        "task-pv-volume",
        "10Gi",
        "RWO",
        "Retain",
        "Pending",
    ]
    pvc = await gateway_server.kubectl("get", "pvc", "-o", "wide")
    assert pvc.out.split("\n")[0].split() == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE",
    ]  # fmt: skip
    assert pvc.out.split("\n")[1].split()[:4] == ["task-pv-claim", "Pending", "manual", "<unset>"]
    sc = await gateway_server.kubectl("get", "sc")
    assert sc.out.split("\n")[0].split() == [
        "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"
    ]  # fmt: skip
    # Kubernetes' printer marks the default class in NAME (printStorageClass)
    assert sc.out.split("\n")[1].split()[:6] == [
        "standard", "(default)", "shoal.dev/local-path", "Delete", "WaitForFirstConsumer", "false"
    ]  # fmt: skip
    ops = await gateway_server.kubectl("get", "pv,sc")
    assert "\nstorageclass.storage.k8s.io/standard (default)   shoal.dev/local-path" in ops.out
    assert "\npersistentvolume/task-pv-volume   10Gi" in ops.out, ops.out
    named = await gateway_server.kubectl("get", "sc", "-o", "name")
    assert named.out == "storageclass.storage.k8s.io/standard\n"

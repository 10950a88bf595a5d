"""Persistent volumes on real Docker and Podman: a pod writes into its
claim, is deleted, and its replacement reads the data back; the claim's
deletion (reclaim Delete) removes the directory. And Kubernetes' "Configure
a Pod to Use a PersistentVolume for Storage" manifests, unchanged but for
the image and the hostPath."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from shoal import errors
from shoal.client import Client
from shoal.controlplane import ControlPlane
from shoal.manifest import from_dict, load_documents
from shoal.plugins.runtimes.images import BUSYBOX_IMAGE

from tests.e2e.agents import E2ENode, exec_in, logs, start_node, stop_node, watch_pod
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e


@dataclass
class StorageCluster:
    node: E2ENode
    control_plane: ControlPlane


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[StorageCluster]:
    node = await start_node(engine, node_name, tmp_path)
    plane = ControlPlane(
        Client(f"127.0.0.1:{node.server.port}"),
        ["persistentvolume-binder", "scheduler"],
        leader_elect=False,
    )
    plane.start()
    try:
        yield StorageCluster(node, plane)
    finally:
        await plane.stop()
        await plane.client.close()
        await stop_node(node)


def claim_pod(name: str, claim: str, script: str) -> Any:
    """A pod (scheduled, not bound by hand) mounting ``claim`` at /data."""
    return from_dict({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                "command": ["sh", "-c", script],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
        },
    })  # fmt: skip


def running(p: Any) -> bool:
    statuses = p.status.container_statuses
    return p.status.phase == "Running" and bool(statuses) and statuses[0].state.HasField("running")


async def absent(client: Client, kind: str, name: str, namespace: str | None = None) -> bool:
    try:
        await client.get(kind, name, namespace)
        return False
    except errors.NotFoundError:
        return True


async def test_data_outlives_the_pod_and_goes_with_the_claim(cluster: StorageCluster) -> None:
    node = cluster.node
    c = node.client
    claim = from_dict({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    })  # fmt: skip
    await c.create(claim)
    await c.create(claim_pod("writer", "data", "echo kept > /data/note && exec sleep 3600"))
    writer, _ = await watch_pod(c, "writer", running, timeout=60)
    assert writer.spec.node_name == node.node
    bound = await c.get("PersistentVolumeClaim", "data", "default")
    pv = await c.get("PersistentVolume", bound.spec.volume_name)
    path = Path(pv.spec.local.path)
    assert path.is_relative_to(node.data_dir)  # under the agent's data dir
    code, out, _ = await exec_in(node.streams, "writer", "main", ["cat", "/data/note"])
    assert (code, out) == (0, b"kept\n")
    await c.delete("Pod", "writer", "default")
    await eventually(lambda: absent(c, "Pod", "writer", "default"), timeout=30)

    await c.create(claim_pod("reader", "data", "cat /data/note && exec sleep 3600"))
    await watch_pod(c, "reader", running, timeout=60)
    assert await logs(node.streams, "reader") == b"kept\n"

    await c.delete("PersistentVolumeClaim", "data", "default")
    held = await c.get("PersistentVolumeClaim", "data", "default")
    assert held.metadata.HasField("deletion_timestamp")  # the reader still uses it
    await c.delete("Pod", "reader", "default")
    await eventually(lambda: absent(c, "PersistentVolume", pv.metadata.name), timeout=30)
    assert await absent(c, "PersistentVolumeClaim", "data", "default")
    assert not path.exists()


TASK = """
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
    path: "{host_path}"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: task-pv-claim
spec:
  storageClassName: manual
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 3Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: task-pv-pod
spec:
  volumes:
    - name: task-pv-storage
      persistentVolumeClaim:
        claimName: task-pv-claim
  containers:
    - name: task-pv-container
      image: {image}
      command: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
      ports:
        - containerPort: 80
          name: "http-server"
      volumeMounts:
        - mountPath: "/usr/share/nginx/html"
          name: task-pv-storage
"""


async def test_kubernetes_task_manifests(cluster: StorageCluster, tmp_path: Path) -> None:
    node, c = cluster.node, cluster.node.client
    host = tmp_path / "mnt-data"
    host.mkdir()
    (host / "index.html").write_text("Hello from Kubernetes storage\n")
    text = TASK.format(host_path=host, image=BUSYBOX_IMAGE)
    for doc in load_documents(text):
        obj = from_dict(doc)
        if doc["kind"] == "Pod":
            obj.spec.containers[0].image_pull_policy = "Never"  # no registry here
        await c.create(obj)
    await watch_pod(c, "task-pv-pod", running, timeout=60)
    got = await c.get("PersistentVolumeClaim", "task-pv-claim", "default")
    assert (got.status.phase, got.spec.volume_name) == ("Bound", "task-pv-volume")
    command = ["wget", "-qO-", "http://127.0.0.1:80/"]

    async def served() -> bytes:
        code, out, _ = await exec_in(node.streams, "task-pv-pod", "task-pv-container", command)
        return out if code == 0 else b""

    assert await eventually(served, timeout=20) == b"Hello from Kubernetes storage\n"

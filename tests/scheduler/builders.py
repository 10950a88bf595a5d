"""Nodes and pods for scheduler tests, as Kubernetes manifests."""

from __future__ import annotations

from typing import Any

from shoal.manifest import from_dict


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    ready: str = "True",
    unschedulable: bool = False,
) -> Any:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods}
    return from_dict(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            },
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {
                "capacity": allocatable,
                "allocatable": allocatable,
                "conditions": [{"type": "Ready", "status": ready}],
            },
        }
    )


def pod(
    name: str,
    *,
    cpu: str = "",
    memory: str = "",
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    node_name: str = "",
    owner_uid: str = "",
    host_port: int = 0,
    **spec: Any,
) -> Any:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: dict[str, Any] = {"name": "main", "image": "busybox:1.36"}
    if requests:
        container["resources"] = {"requests": requests}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner_uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "rs",
                "uid": owner_uid,
                "controller": True,
            }
        ]
    body = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    return from_dict({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": body})

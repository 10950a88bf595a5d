"""``--from-cluster``: the live cluster's nodes and workloads as a
simulation's starting point. Nodes become hollow nodes with the same
allocatable CPU, memory and pods, labels and taints (less the taints the
node lifecycle controller manages); Namespaces, Deployments, StatefulSets,
DaemonSets, ReplicaSets and Pods that no controller owns are copied without
their status, so the simulated controllers recreate what they own. Reading
them needs ``list`` on each of these kinds (cluster-wide)."""

from __future__ import annotations

from typing import Any

from shoal.manifest import to_dict
from shoal.plugins.simulate.scenario import NodeSpec, Simulation, node_from_object

WORKLOAD_KINDS = ("Namespace", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod")
MANAGED_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KEPT_METADATA = ("name", "namespace", "labels", "annotations")


async def snapshot(client: Any, sim: Simulation) -> None:
    for node in (await client.list("Node")).items:
        sim.nodes.append(_node(to_dict(node)))
    for kind in WORKLOAD_KINDS:
        for obj in (await client.list(kind)).items:
            doc = workload(to_dict(obj))
            if doc is not None:
                sim.workloads.append(doc)


def _node(doc: dict[str, Any]) -> NodeSpec:
    spec = node_from_object(doc)
    spec.taints = [t for t in spec.taints if t.get("key") not in MANAGED_TAINTS]
    spec.labels.pop("kubernetes.io/hostname", None)
    return spec


def workload(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The object to apply in the simulation, or None to leave it out."""
    meta = doc.get("metadata") or {}
    if any(r.get("controller") for r in meta.get("ownerReferences") or []):
        return None  # its owner is copied and makes it again
    if doc.get("kind") == "Namespace" and meta.get("name") in SYSTEM_NAMESPACES:
        return None
    copy = {k: v for k, v in doc.items() if k not in ("status", "metadata")}
    copy["metadata"] = {k: meta[k] for k in KEPT_METADATA if k in meta}
    return copy

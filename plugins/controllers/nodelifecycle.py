"""The node lifecycle controller, like Kubernetes' (with its taint manager):

* every node's agent renews a Lease named after the node in
  ``kube-node-lease``; a node whose Lease (and Ready heartbeat) has not moved
  for the grace period (``--node-monitor-grace-period``, 40 s) gets its
  conditions set to ``Unknown`` (reason ``NodeStatusUnknown``);
* a node whose Ready is ``Unknown`` gets the ``node.kubernetes.io/unreachable``
  NoExecute taint, ``False`` the ``not-ready`` one; ``True`` neither; a node
  that has not posted a Ready condition yet (just registered) keeps its
  taints until the grace period passes without one (then it is ``Unknown``);
* pods on a node with a NoExecute taint are deleted at once if they do not
  tolerate it, or once their ``tolerationSeconds`` (300 s by default, added
  by the API server) have passed since the taint was added.

Staleness is measured on this controller's own clock from when it last *saw*
the Lease change, so clocks on nodes do not matter.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock, errors, hookimpl
from shoal.api.v1 import core_pb2
from shoal.client import (
    Client,
    SharedInformerFactory,
    object_key,
    run_every,
    shared_informers,
)
from shoal.events import NORMAL, EventRecorder
from shoal.plugins.kinds import podconditions
from shoal.registry import Registry

log = structlog.get_logger("nodelifecycle")

NODE_LEASE_NAMESPACE = "kube-node-lease"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(clock.time_ns())
    return stamp


def ready_status(node: Any) -> str:
    """The Ready condition's status; "" when the node has posted none."""
    for c in node.status.conditions:
        if c.type == "Ready":
            return c.status
    return ""


def wanted_taint(status: str) -> str | None:
    return {"True": None, "False": NOT_READY_TAINT}.get(status, UNREACHABLE_TAINT)


def eviction_delay(pod: Any, taints: list[Any], now: float) -> float | None:
    """Seconds until ``pod`` must go from a node with these NoExecute taints
    (0: now), or None if it tolerates them for ever. A toleration's seconds
    count from when its taint was added."""
    delay: float | None = None
    for taint in taints:
        matching = [t for t in pod.spec.tolerations if _tolerates(t, taint)]
        if not matching:
            return 0.0
        added = taint.time_added.ToNanoseconds() / 1e9 if taint.HasField("time_added") else now
        for t in matching:
            if t.HasField("toleration_seconds"):
                left = max(t.toleration_seconds - (now - added), 0.0)
                delay = left if delay is None else min(delay, left)
    return delay


def _tolerates(toleration: Any, taint: Any) -> bool:
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    return toleration.operator == "Exists" or toleration.value == taint.value


class NodeLifecycleController:
    def __init__(
        self,
        client: Client,
        *,
        grace_period: float = 40.0,
        monitor_period: float | None = None,
        options: dict[str, Any] | None = None,
        informers: SharedInformerFactory | None = None,
    ) -> None:
        self.client = client
        self.grace_period = float((options or {}).get("node_monitor_grace_period", grace_period))
        self.monitor_period = monitor_period or max(0.1, min(5.0, self.grace_period / 4))
        factory = informers or shared_informers(client)
        self.nodes = factory.for_kind("Node")
        self.leases = factory.for_kind("Lease", NODE_LEASE_NAMESPACE)
        self.pods = factory.for_kind("Pod")
        self.pods.add_index("node", lambda pod: [pod.spec.node_name] if pod.spec.node_name else [])
        self.recorder = EventRecorder(client, "node-controller")
        self._heartbeat: dict[str, tuple[Any, float]] = {}  # node -> (last seen beat, when)
        self._evicting: set[str] = set()

    async def run(self) -> None:
        await self._ensure_lease_namespace()
        await run_every((self.nodes, self.leases, self.pods), self.monitor, self.monitor_period)

    async def _ensure_lease_namespace(self) -> None:
        namespace = core_pb2.Namespace()
        namespace.metadata.name = NODE_LEASE_NAMESPACE
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.client.create(namespace)

    async def monitor(self) -> None:
        """One pass over every node: health, taints, evictions."""
        for node in self.nodes.list():
            try:
                node = await self._check_health(node)
                node = await self._reconcile_taints(node)
                await self._evict_pods(node)
            except (errors.APIError, OSError) as err:
                log.warning("node check failed", node=node.metadata.name, error=str(err))
        names = {n.metadata.name for n in self.nodes.list()}
        for gone in [n for n in self._heartbeat if n not in names]:
            del self._heartbeat[gone]

    def _stale_for(self, node: Any) -> float:
        name = node.metadata.name
        lease = self.leases.get(name, NODE_LEASE_NAMESPACE)
        ready = [
            c.last_heartbeat_time.ToNanoseconds()
            for c in node.status.conditions
            if c.type == "Ready"
        ]
        beat = (lease.spec.renew_time.ToNanoseconds() if lease is not None else None, tuple(ready))
        seen = self._heartbeat.get(name)
        now = clock.monotonic()
        if seen is None or seen[0] != beat:
            self._heartbeat[name] = (beat, now)
            return 0.0
        return now - seen[1]

    async def _check_health(self, node: Any) -> Any:
        if self._stale_for(node) <= self.grace_period or ready_status(node) == "Unknown":
            return node
        log.info("node stopped posting status", node=node.metadata.name)
        copy = core_pb2.Node()
        copy.CopyFrom(node)
        _mark_unknown(copy)
        updated = await self.client.update_status(copy)
        self.recorder.emit(
            updated,
            NORMAL,
            "NodeNotReady",
            f"Node {node.metadata.name} status is now: NodeNotReady",
        )
        return updated

    async def _reconcile_taints(self, node: Any) -> Any:
        status = ready_status(node)
        if not status:  # registered, no status posted yet: nothing to judge
            return node
        want = wanted_taint(status)
        have = [
            t
            for t in node.spec.taints
            if t.key in (NOT_READY_TAINT, UNREACHABLE_TAINT) and t.effect == "NoExecute"
        ]
        if [t.key for t in have] == ([want] if want else []):
            return node
        copy = core_pb2.Node()
        copy.CopyFrom(node)
        kept = [t for t in copy.spec.taints if t not in have]
        del copy.spec.taints[:]
        copy.spec.taints.extend(kept)
        if want:
            copy.spec.taints.add(key=want, effect="NoExecute", time_added=_now())
        log.info("node taints changed", node=node.metadata.name, taint=want or "none")
        return await self.client.update(copy)

    async def _evict_pods(self, node: Any) -> None:
        taints = [t for t in node.spec.taints if t.effect == "NoExecute"]
        if not taints:
            return
        now = clock.time()
        for pod in self.pods.by_index("node", node.metadata.name):
            if pod.metadata.HasField("deletion_timestamp") or object_key(pod) in self._evicting:
                continue
            delay = eviction_delay(pod, taints, now)
            if delay is not None and delay <= 0:
                await self._evict(pod)

    async def _evict(self, pod: Any) -> None:
        key = object_key(pod)
        self._evicting.add(key)
        try:
            await podconditions.mark_disrupted(self.client, pod, podconditions.TAINT_MANAGER)
            await self.client.delete(
                "Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid
            )
            log.info("evicted pod from tainted node", pod=key, node=pod.spec.node_name)
            self.recorder.emit(
                pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {key}"
            )
        except (errors.NotFoundError, errors.PreconditionFailedError):
            pass
        finally:
            self._evicting.discard(key)


def _mark_unknown(node: Any) -> None:
    now = _now()
    present = {c.type for c in node.status.conditions}
    for kind in NODE_CONDITIONS:
        if kind not in present and kind == "Ready":
            node.status.conditions.add(type=kind)
    for c in node.status.conditions:
        if c.type in NODE_CONDITIONS and c.status != "Unknown":
            c.status, c.reason = "Unknown", "NodeStatusUnknown"
            c.message = "Kubelet stopped posting node status."
            c.last_transition_time.CopyFrom(now)


def node_lifecycle_factory(
    client: Client, options: dict[str, Any] | None = None
) -> NodeLifecycleController:
    return NodeLifecycleController(client, options=options)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("nodelifecycle", node_lifecycle_factory)

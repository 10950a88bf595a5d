"""The disruption controller: each PodDisruptionBudget's status from the
pods it covers, as Kubernetes' ``DisruptionController`` keeps it.

``expectedPods`` is, for ``maxUnavailable`` or a percentage
``minAvailable``, the scale of the pods' controllers (their ``replicas``;
a ReplicaSet's Deployment's own), as Kubernetes' ``getExpectedScale``: a
pod an eviction deleted and its replacement are one expected pod, not two.
Otherwise (a number ``minAvailable``, or a pod without a controller that
has replicas) it counts the covered pods that are not finished. The
controllers are read from the shared informers of the four kinds with
``replicas`` (ReplicationController, ReplicaSet, Deployment, StatefulSet),
never a GET per reconcile, and one whose uid is not the pod's reference
(recreated under the same name) is not the pod's controller.
``desiredHealthy`` comes from ``minAvailable`` (a number, or a percentage
of the expected pods rounded up) or from ``expectedPods - maxUnavailable``;
``currentHealthy`` counts covered pods that are Ready and not going away,
leaving out pods an eviction took in the last two minutes
(``disruptedPods``, which the eviction writes and this controller prunes);
``disruptionsAllowed`` is what is left above the floor.
"""

from __future__ import annotations

import math
from typing import Any

from shoal import clock, hookimpl, kinds
from shoal.api.v1 import policy_pb2
from shoal.apiserver import meta
from shoal.controller import Controller
from shoal.plugins.controllers.podutil import controller_of, is_ready
from shoal.plugins.kinds.policy import covers
from shoal.registry import Registry

# How long an evicted pod counts as disrupted while it has not gone.
DELETION_TIMEOUT = 120.0
# The pod controllers whose replicas are the expected pods (getExpectedScale's finders).
SCALED_KINDS = ("ReplicationController", "ReplicaSet", "Deployment", "StatefulSet")


def _scaled(value: Any, total: int) -> int:
    """An IntOrString as a count: a percentage of ``total``, rounded up."""
    if value.WhichOneof("kind") == "string_value":
        return math.ceil(int(value.string_value.rstrip("%")) * total / 100)
    return int(value.number_value)


def desired_healthy(spec: Any, expected: int) -> int:
    if spec.HasField("max_unavailable"):
        return max(0, expected - _scaled(spec.max_unavailable, expected))
    if spec.HasField("min_available"):
        return _scaled(spec.min_available, expected)
    return 0


def uses_scale(spec: Any) -> bool:
    """Whether the expected pods come from the controllers' scale."""
    return spec.HasField("max_unavailable") or (
        spec.HasField("min_available") and spec.min_available.WhichOneof("kind") == "string_value"
    )


def covered_pods(pdb: Any, pods: list[Any]) -> list[Any]:
    """The pods ``pdb`` selects that are not finished."""
    return [p for p in pods if covers(pdb, p) and p.status.phase not in ("Succeeded", "Failed")]


def budget_status(pdb: Any, pods: list[Any], now: float, scale: int | None = None) -> Any:
    """The status ``pdb`` should have over every pod of its namespace;
    ``scale``: its pods' controllers' replicas (see the module docstring)."""
    covered = covered_pods(pdb, pods)
    present = {p.metadata.name: p for p in covered if not p.metadata.HasField("deletion_timestamp")}
    disrupted = {
        name: stamp
        for name, stamp in pdb.status.disrupted_pods.items()
        if name in present and stamp.seconds + DELETION_TIMEOUT > now
    }
    healthy = sum(1 for n, p in present.items() if is_ready(p) and n not in disrupted)
    expected = scale if scale is not None and uses_scale(pdb.spec) else len(covered)
    desired = desired_healthy(pdb.spec, expected)
    allowed = max(0, healthy - desired) if expected else 0
    status = policy_pb2.PodDisruptionBudgetStatus(
        observed_generation=pdb.metadata.generation,
        disruptions_allowed=allowed,
        current_healthy=healthy,
        desired_healthy=desired,
        expected_pods=expected,
    )
    for name, stamp in disrupted.items():
        status.disrupted_pods[name].CopyFrom(stamp)
    _allowed_condition(status, pdb.status.conditions, allowed > 0)
    return status


def _allowed_condition(status: Any, previous: Any, allowed: bool) -> None:
    value, reason = ("True", "SufficientPods") if allowed else ("False", "InsufficientPods")
    old = next((c for c in previous if c.type == "DisruptionAllowed"), None)
    condition = status.conditions.add(
        type="DisruptionAllowed",
        status=value,
        reason=reason,
        observed_generation=status.observed_generation,
    )
    if old is not None and old.status == value:
        condition.last_transition_time.CopyFrom(old.last_transition_time)
    else:
        condition.last_transition_time.CopyFrom(meta.now())


class DisruptionController(Controller):
    name = "disruption"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.budgets = self.watch("PodDisruptionBudget")
        self.pods = self.informer("Pod")
        self.pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.scaled = {kind: self.informer(kind) for kind in SCALED_KINDS if kinds.is_served(kind)}

    def _pod_changed(self, pod: Any) -> None:
        for pdb in self.budgets.by_index("namespace", pod.metadata.namespace):
            if covers(pdb, pod):
                self.enqueue(pdb)

    def _pod_updated(self, old: Any, new: Any) -> None:
        self._pod_changed(new)
        if old.metadata.labels != new.metadata.labels:
            self._pod_changed(old)

    async def reconcile(self, key: Any) -> float | None:
        namespace, _, name = str(key).rpartition("/")
        pdb = self.budgets.get(name, namespace)
        if pdb is None or pdb.metadata.HasField("deletion_timestamp"):
            return None
        now = clock.time()
        pods = self.pods.by_index("namespace", namespace)
        scale = None
        if uses_scale(pdb.spec):
            scale = self._expected_scale(namespace, covered_pods(pdb, pods))
        status = budget_status(pdb, pods, now, scale)
        if _same(status, pdb.status):
            # Look again when the oldest disruption entry expires.
            stamps = [s.seconds for s in status.disrupted_pods.values()]
            return max(1.0, min(stamps) + DELETION_TIMEOUT - now) if stamps else None
        updated = policy_pb2.PodDisruptionBudget()
        updated.CopyFrom(pdb)
        updated.status.CopyFrom(status)
        await self.client.update_status(updated)
        return None

    def _expected_scale(self, namespace: str, pods: list[Any]) -> int | None:
        """The sum of the replicas of the pods' controllers, each counted
        once (a Deployment's ReplicaSets count as the Deployment); None when
        a pod has no controller with replicas."""
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_of(pod)
            if ref is None:
                return None
            owner = self._controller(ref, namespace)
            if owner is None:
                return None
            parent = controller_of(owner)
            if ref.kind == "ReplicaSet" and parent is not None and parent.kind == "Deployment":
                owner = self._controller(parent, namespace)
                if owner is None:
                    return None
            scales[owner.metadata.uid] = int(owner.spec.replicas)
        return sum(scales.values())

    def _controller(self, ref: Any, namespace: str) -> Any | None:
        """The cached object ``ref`` names, if it is that object (same uid)."""
        informer = self.scaled.get(ref.kind)
        owner = informer.get(ref.name, namespace) if informer is not None else None
        return owner if owner is not None and owner.metadata.uid == ref.uid else None


def _same(a: Any, b: Any) -> bool:
    left, right = type(a)(), type(b)()
    left.CopyFrom(a)
    right.CopyFrom(b)
    for status in (left, right):
        for condition in status.conditions:
            condition.ClearField("last_transition_time")
    return left.SerializeToString(deterministic=True) == right.SerializeToString(deterministic=True)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("disruption", DisruptionController)

"""Watches pods during a simulation and keeps the figures of its report:
pending, running on live nodes, evicted and rescheduled pods, time to
recovery after each disruption, and per-node CPU requested over time.

Counts are kept incrementally from informer events (O(1) per event), so a
30,000-pod simulation does not rescan every pod.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shoal.quantity import cpu_millis


def _key(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _owner(pod: Any) -> str:
    refs = [r.uid for r in pod.metadata.owner_references if r.controller]
    return refs[0] if refs else ""


def _requested_millis(pod: Any) -> int:
    total = 0
    for c in pod.spec.containers:
        cpu = c.resources.requests.get("cpu")
        total += cpu_millis(cpu) if cpu else 0
    return total


@dataclass
class Disruption:
    at: float
    action: str
    node: str
    pods: set[str]  # the pods on the node when it happened
    owners: set[str]
    baseline: int  # pods running on live nodes just before
    on_node: int = 0
    evicted: int = 0
    rescheduled: int = 0
    recovered_at: float | None = None
    _replacements: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "action": self.action,
            "node": self.node,
            "podsOnNode": self.on_node,
            "evicted": self.evicted,
            "rescheduled": self.rescheduled,
            "recoverySeconds": None
            if self.recovered_at is None
            else round(self.recovered_at - self.at, 3),
        }


class Observer:
    def __init__(self, now: Any) -> None:
        self.now = now  # () -> virtual seconds since the start
        self.pods: dict[str, tuple[str, bool, int, str, float]] = {}
        self.running_by_node: Counter[str] = Counter()
        self.millis_by_node: Counter[str] = Counter()
        self.dead: set[str] = set()
        self.pending = 0
        self.disruptions: list[Disruption] = []
        self.created_at: dict[str, float] = {}

    # informer handlers
    def added(self, pod: Any) -> None:
        self.created_at.setdefault(_key(pod), self.now())
        self._set(pod)

    def updated(self, _old: Any, pod: Any) -> None:
        self._set(pod)

    def deleted(self, pod: Any) -> None:
        self._forget(_key(pod))
        self._count_eviction(pod)

    def _set(self, pod: Any) -> None:
        key = _key(pod)
        self._forget(key)
        if pod.metadata.HasField("deletion_timestamp"):
            self._count_eviction(pod)
            return
        phase, node = pod.status.phase, pod.spec.node_name
        if phase in ("Succeeded", "Failed"):
            return
        running = phase == "Running" and bool(node)
        millis = _requested_millis(pod)
        self.pods[key] = (node, running, millis, _owner(pod), self.created_at.get(key, 0.0))
        if not running:
            self.pending += 1
        if node:
            self.millis_by_node[node] += millis
        if running:
            self.running_by_node[node] += 1
            self._count_rescheduled(key, node)
        self._check_recovery()

    def _forget(self, key: str) -> None:
        entry = self.pods.pop(key, None)
        if entry is None:
            return
        node, running, millis, _, _ = entry
        if not running:
            self.pending -= 1
        if node:
            self.millis_by_node[node] -= millis
        if running:
            self.running_by_node[node] -= 1

    def running_live(self) -> int:
        return sum(self.running_by_node.values()) - sum(self.running_by_node[d] for d in self.dead)

    def running_on(self, node: str) -> int:
        return self.running_by_node[node]

    # disruptions
    def disrupt(self, action: str, node: str) -> Disruption:
        on_node = {k for k, v in self.pods.items() if v[0] == node}
        owners = {self.pods[k][3] for k in on_node if self.pods[k][3]}
        disruption = Disruption(
            self.now(), action, node, on_node, owners, self.running_live(), len(on_node)
        )
        self.dead.add(node)
        self.disruptions.append(disruption)
        self._check_recovery()
        return disruption

    def _count_eviction(self, pod: Any) -> None:
        key = _key(pod)
        for d in self.disruptions:
            if key in d.pods:
                d.pods.discard(key)
                d.evicted += 1

    def _count_rescheduled(self, key: str, node: str) -> None:
        entry = self.pods[key]
        for d in self.disruptions:
            if (
                entry[3] in d.owners
                and entry[4] >= d.at
                and node not in self.dead
                and key not in d._replacements
                and d.rescheduled < d.evicted
            ):
                d._replacements.add(key)
                d.rescheduled += 1

    def _check_recovery(self) -> None:
        for d in self.disruptions:
            if (
                d.recovered_at is None
                and d.evicted
                and self.pending == 0
                and self.running_live() >= d.baseline
            ):
                d.recovered_at = self.now()

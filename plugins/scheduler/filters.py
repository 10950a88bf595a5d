"""The built-in filters, one small class per Kubernetes filter plugin. Each
answers None when the pod fits the node, else the reason as Kubernetes
words it in ``0/3 nodes are available: ...``."""

from __future__ import annotations

from typing import Any

from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from shoal.plugins.scheduler.matching import (
    AffinityTerm,
    describe_taint,
    node_selector_matches,
    pinned_node_names,
    required_terms,
    untolerated,
)
from shoal.scheduling import PreFilterResult

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"


class NodeReady:
    """Only Ready nodes that are not cordoned (``spec.unschedulable``)."""

    unresolvable = True  # preemption cannot help

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        if not node.ready:
            return "node(s) were not ready"
        if node.unschedulable and not any(
            t.key == UNSCHEDULABLE_TAINT or (not t.key and t.operator == "Exists")
            for t in pod.spec.tolerations
        ):
            return "node(s) were unschedulable"
        return None


class TaintToleration:
    """NoSchedule and NoExecute taints the pod does not tolerate."""

    unresolvable = True  # preemption cannot help

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        if not node.taints:
            return None
        taint = untolerated(node.taints, pod.spec.tolerations, ("NoSchedule", "NoExecute"))
        if taint is None:
            return None
        return f"node(s) had untolerated taint {describe_taint(taint)}"


class NodeAffinity:
    """``spec.nodeSelector`` and required node affinity."""

    unresolvable = True  # preemption cannot help

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool | PreFilterResult:
        affinity = pod.spec.affinity.node_affinity
        if not affinity.HasField("required_during_scheduling_ignored_during_execution"):
            return bool(pod.spec.node_selector)
        names = pinned_node_names(affinity.required_during_scheduling_ignored_during_execution)
        if not names:  # every node may match, or none can (the filter says so)
            return True
        return PreFilterResult(names, AFFINITY_MISMATCH)

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        labels = node.metadata.labels
        for key, value in pod.spec.node_selector.items():
            if labels.get(key) != value:
                return AFFINITY_MISMATCH
        affinity = pod.spec.affinity.node_affinity
        if affinity.HasField("required_during_scheduling_ignored_during_execution"):
            required = affinity.required_during_scheduling_ignored_during_execution
            if not node_selector_matches(required, node):
                return AFFINITY_MISMATCH
        return None


def _ports_conflict(want: tuple[str, str, int], used: tuple[str, str, int]) -> bool:
    if want[1:] != used[1:]:
        return False
    return "0.0.0.0" in (want[0], used[0]) or want[0] == used[0]


class NodePorts:
    """A host port (per protocol and address) is given to one pod per node."""

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool:
        return bool(state["pod_info"].host_ports)

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        for want in state["pod_info"].host_ports:
            if any(_ports_conflict(want, used) for used in node.used_ports):
                return "node(s) didn't have free ports for the requested pod ports"
        return None


class NodeResourcesFit:
    """Requests against allocatable minus what the node's pods request,
    and the node's pod count against its ``pods`` allocatable."""

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> list[str] | None:
        info: PodInfo = state["pod_info"]
        if (  # the common case, decided without building a list
            len(node.pods) < node.alloc_pods
            and node.req_cpu + info.cpu <= node.alloc_cpu
            and node.req_memory + info.memory <= node.alloc_memory
            and not info.extended
        ):
            return None
        reasons = []
        if len(node.pods) + 1 > node.alloc_pods:
            reasons.append("Too many pods")
        if info.cpu and node.req_cpu + info.cpu > node.alloc_cpu:
            reasons.append("Insufficient cpu")
        if info.memory and node.req_memory + info.memory > node.alloc_memory:
            reasons.append("Insufficient memory")
        for resource, amount in info.extended:
            if node.requested[resource] + amount > node.allocatable.get(resource, 0):
                reasons.append(f"Insufficient {resource}")
        return reasons or None


class InterPodAffinity:
    """Required pod affinity and anti-affinity by topology key, both the
    pod's own and that of pods already placed (anti-affinity is symmetric)."""

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool:
        cache: SchedulerCache = state["cache"]
        affinity, ns = pod.spec.affinity, pod.metadata.namespace
        wanted = required_terms(affinity.pod_affinity, ns)
        shunned = required_terms(affinity.pod_anti_affinity, ns)
        if not wanted and not shunned and not cache.anti_affinity_pods:
            return False
        state["interpod"] = _AffinityState(pod, cache, wanted, shunned)
        return True

    def filter(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> str | None:
        return state["interpod"].check(node.metadata.labels)


class _AffinityState:
    """For one pod: the topology domains (key, value) its terms see pods in."""

    def __init__(
        self,
        pod: Any,
        cache: SchedulerCache,
        wanted: list[AffinityTerm],
        shunned: list[AffinityTerm],
    ) -> None:
        self.wanted, self.shunned = wanted, shunned
        self.wanted_domains: list[set[str]] = [set() for _ in wanted]
        self.shunned_domains: list[set[str]] = [set() for _ in shunned]
        self.forbidden: set[tuple[str, str]] = set()
        for node in cache.node_list if (wanted or shunned) else ():
            for other in node.pods.values():
                self._see(other.pod, node.labels)
        self._see_existing_anti_affinity(pod, cache)
        # The first pod of a group that wants to be with its own kind may go
        # anywhere, or it could never start (Kubernetes' special case).
        self.wanted_free = (
            bool(wanted) and not any(self.wanted_domains) and all(t.matches(pod) for t in wanted)
        )

    def _see(self, other: Any, labels: Any) -> None:
        for i, term in enumerate(self.wanted):
            if term.topology_key in labels and term.matches(other):
                self.wanted_domains[i].add(labels[term.topology_key])
        for i, term in enumerate(self.shunned):
            if term.topology_key in labels and term.matches(other):
                self.shunned_domains[i].add(labels[term.topology_key])

    def _see_existing_anti_affinity(self, pod: Any, cache: SchedulerCache) -> None:
        for key, info in cache.anti_affinity_pods.items():
            node = cache.nodes.get(cache.node_of(key) or "")
            if node is None:
                continue
            other = info.pod
            anti = other.spec.affinity.pod_anti_affinity
            for term in required_terms(anti, other.metadata.namespace):
                if term.topology_key in node.labels and term.matches(pod):
                    self.forbidden.add((term.topology_key, node.labels[term.topology_key]))

    def check(self, labels: Any) -> str | None:
        for i, term in enumerate(self.wanted):
            value = labels.get(term.topology_key)
            if value is None or not (self.wanted_free or value in self.wanted_domains[i]):
                return "node(s) didn't match pod affinity rules"
        for i, term in enumerate(self.shunned):
            if labels.get(term.topology_key) in self.shunned_domains[i]:
                return "node(s) didn't match pod anti-affinity rules"
        for key, value in self.forbidden:
            if labels.get(key) == value:
                return "node(s) didn't satisfy existing pods anti-affinity rules"
        return None

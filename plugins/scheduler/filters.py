"""The built-in filters, one small class per Kubernetes filter plugin. Each
answers None when the pod fits the node, else the reason as Kubernetes
words it in ``0/3 nodes are available: ...``."""

from __future__ import annotations

from collections import Counter
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

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool:
        return bool(state["cache"].unfit_nodes)  # every node Ready and schedulable: sit out

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

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool:
        return bool(state["cache"].tainted_nodes)  # no node has a taint: sit out

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
    pod's own and that of pods already placed (anti-affinity is symmetric).
    Its PreFilterExtensions (``add_pod``/``remove_pod``) keep the counts in
    step when preemption's dry run takes pods off a node."""

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

    def add_pod(self, pod: Any, state: dict[str, Any], other: PodInfo, node: NodeInfo) -> None:
        if "interpod" in state:
            state["interpod"].update(pod, other.pod, node.labels, 1)

    def remove_pod(self, pod: Any, state: dict[str, Any], other: PodInfo, node: NodeInfo) -> None:
        if "interpod" in state:
            state["interpod"].update(pod, other.pod, node.labels, -1)


def _count(counts: Counter[Any], key: Any, sign: int) -> None:
    counts[key] += sign
    if counts[key] <= 0:
        del counts[key]


class _AffinityState:
    """For one pod: how many pods each of its terms sees per topology domain
    (a label value of the term's key), and the domains (key, value) where
    placed pods' anti-affinity forbids it, counted so pods can be taken out."""

    def __init__(
        self,
        pod: Any,
        cache: SchedulerCache,
        wanted: list[AffinityTerm],
        shunned: list[AffinityTerm],
    ) -> None:
        self.wanted, self.shunned = wanted, shunned
        self.wanted_domains: list[Counter[str]] = [Counter() for _ in wanted]
        self.shunned_domains: list[Counter[str]] = [Counter() for _ in shunned]
        self.forbidden: Counter[tuple[str, str]] = Counter()
        for node in cache.node_list if (wanted or shunned) else ():
            for other in node.pods.values():
                self._see(other.pod, node.labels, 1)
        for key, info in cache.anti_affinity_pods.items():
            placed = cache.nodes.get(cache.node_of(key) or "")
            if placed is not None:
                self._see_anti_affinity(pod, info.pod, placed.labels, 1)
        # The first pod of a group that wants to be with its own kind may go
        # anywhere, or it could never start (Kubernetes' special case).
        self.wanted_self = bool(wanted) and all(t.matches(pod) for t in wanted)

    def _see(self, other: Any, labels: Any, sign: int) -> None:
        for i, term in enumerate(self.wanted):
            if term.topology_key in labels and term.matches(other):
                _count(self.wanted_domains[i], labels[term.topology_key], sign)
        for i, term in enumerate(self.shunned):
            if term.topology_key in labels and term.matches(other):
                _count(self.shunned_domains[i], labels[term.topology_key], sign)

    def _see_anti_affinity(self, pod: Any, other: Any, labels: Any, sign: int) -> None:
        anti = other.spec.affinity.pod_anti_affinity
        for term in required_terms(anti, other.metadata.namespace):
            if term.topology_key in labels and term.matches(pod):
                _count(self.forbidden, (term.topology_key, labels[term.topology_key]), sign)

    def update(self, pod: Any, other: Any, labels: Any, sign: int) -> None:
        """``other`` was added to (1) or taken off (-1) a node with ``labels``."""
        self._see(other, labels, sign)
        anti = other.spec.affinity.pod_anti_affinity
        if anti.required_during_scheduling_ignored_during_execution:
            self._see_anti_affinity(pod, other, labels, sign)

    def check(self, labels: Any) -> str | None:
        if self.wanted:
            free = self.wanted_self and not any(self.wanted_domains)
            for i, term in enumerate(self.wanted):
                value = labels.get(term.topology_key)
                if value is None or not (free or value in self.wanted_domains[i]):
                    return "node(s) didn't match pod affinity rules"
        for i, term in enumerate(self.shunned):
            if labels.get(term.topology_key) in self.shunned_domains[i]:
                return "node(s) didn't match pod anti-affinity rules"
        for key, value in self.forbidden:
            if labels.get(key) == value:
                return "node(s) didn't satisfy existing pods anti-affinity rules"
        return None

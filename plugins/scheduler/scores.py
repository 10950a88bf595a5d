"""The built-in scores (0..100 each, times ``weight``), one small class per
Kubernetes score plugin."""

from __future__ import annotations

from typing import Any

from shoal.plugins.scheduler.cache import NodeInfo, PodInfo
from shoal.plugins.scheduler.matching import preferred_terms, term_matches, tolerates
from shoal.scheduling import BoundedScores


def _fractions(pod: PodInfo, node: NodeInfo) -> tuple[float, float]:
    # Hot: called for every feasible node of every pod; plain arithmetic only.
    alloc_cpu, alloc_memory = node.alloc_cpu, node.alloc_memory
    cpu_f = (node.nonzero_cpu + pod.nonzero_cpu) / alloc_cpu if alloc_cpu else 1.0
    mem_f = (node.nonzero_memory + pod.nonzero_memory) / alloc_memory if alloc_memory else 1.0
    return (cpu_f if cpu_f < 1.0 else 1.0), (mem_f if mem_f < 1.0 else 1.0)


def _resource_scores(nodes: list[NodeInfo], state: dict[str, Any]) -> tuple[list[int], list[int]]:
    """LeastAllocated's and BalancedAllocation's raw scores of every node,
    worked out in one pass per pod's cycle (both read the same fractions)
    and kept in ``state``."""
    cached = state.get("resource_scores")
    if cached is not None and cached[0] is nodes:
        return cached[1], cached[2]  # type: ignore[no-any-return]
    pod: PodInfo = state["pod_info"]
    pod_cpu, pod_memory = pod.nonzero_cpu, pod.nonzero_memory
    asked = (pod_cpu, pod_memory)
    least: list[int] = []
    balanced: list[int] = []
    for node in nodes:  # _fractions inlined: this runs for every feasible node of every pod
        memo = node.resource_memo
        if memo is not None and memo[0] == asked:
            least.append(memo[1])
            balanced.append(memo[2])
            continue
        alloc_cpu, alloc_memory = node.alloc_cpu, node.alloc_memory
        cpu_f = (node.nonzero_cpu + pod_cpu) / alloc_cpu if alloc_cpu else 1.0
        mem_f = (node.nonzero_memory + pod_memory) / alloc_memory if alloc_memory else 1.0
        if cpu_f > 1.0:
            cpu_f = 1.0
        if mem_f > 1.0:
            mem_f = 1.0
        node.resource_memo = memo = (
            asked,
            int((2.0 - cpu_f - mem_f) * 50),
            int((1.0 - abs(cpu_f - mem_f) / 2) * 100),
        )
        least.append(memo[1])
        balanced.append(memo[2])
    bounded = BoundedScores(least), BoundedScores(balanced)  # fractions within 0..1
    state["resource_scores"] = (nodes, *bounded)
    return bounded


def _normalize(scores: dict[str, int], reverse: bool = False) -> None:
    """Scale to 0..100 by the highest score (reverse: the highest gets 0)."""
    top = max(scores.values(), default=0)
    for name, value in scores.items():
        scaled = 100 * value // top if top > 0 else 0
        scores[name] = 100 - scaled if reverse else scaled


class LeastAllocated:
    """Prefer emptier nodes: the mean free fraction of cpu and memory."""

    weight = 1

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        cpu_f, mem_f = _fractions(state["pod_info"], node)
        return int((2.0 - cpu_f - mem_f) * 50)

    def score_nodes(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> list[int]:
        return _resource_scores(nodes, state)[0]


class BalancedAllocation:
    """Prefer nodes whose cpu and memory would be used in equal measure."""

    weight = 1

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        cpu_f, mem_f = _fractions(state["pod_info"], node)
        return int((1.0 - abs(cpu_f - mem_f) / 2) * 100)

    def score_nodes(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> list[int]:
        return _resource_scores(nodes, state)[1]


class SelectorSpread:
    """Spread pods of one owner (ReplicaSet, RC...) across nodes."""

    weight = 2

    def pre_score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> bool:
        return bool(state["pod_info"].owner_uid)

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        return node.owner_counts.get(state["pod_info"].owner_uid, 0)

    def normalize_scores(self, pod: Any, scores: dict[str, int], state: dict[str, Any]) -> None:
        _normalize(scores, reverse=True)


class NodeAffinityPreferred:
    """Preferred node affinity: the sum of the weights of matching terms."""

    weight = 2

    def pre_score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> bool:
        return bool(
            pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        )

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        terms = pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        return sum(t.weight for t in terms if term_matches(t.preference, node))

    def normalize_scores(self, pod: Any, scores: dict[str, int], state: dict[str, Any]) -> None:
        _normalize(scores)


class InterPodAffinityPreferred:
    """Preferred pod affinity (+weight) and anti-affinity (-weight) for each
    matching pod in the node's topology domain, scaled to 0..100."""

    weight = 2

    def pre_score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> bool:
        affinity, ns = pod.spec.affinity, pod.metadata.namespace
        terms = [(t, 1) for t in preferred_terms(affinity.pod_affinity, ns)]
        terms += [(t, -1) for t in preferred_terms(affinity.pod_anti_affinity, ns)]
        if not terms:
            return False
        domains: dict[tuple[str, str], int] = {}
        for node in state["cache"].node_list:
            for other in node.pods.values():
                for term, sign in terms:
                    value = node.labels.get(term.topology_key)
                    if value is not None and term.matches(other.pod):
                        key = (term.topology_key, value)
                        domains[key] = domains.get(key, 0) + sign * term.weight
        state["interpod_scores"] = domains
        return True

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        domains = state["interpod_scores"]
        return sum(v for (key, value), v in domains.items() if node.labels.get(key) == value)

    def normalize_scores(self, pod: Any, scores: dict[str, int], state: dict[str, Any]) -> None:
        low, high = min(scores.values(), default=0), max(scores.values(), default=0)
        for name, value in scores.items():
            scores[name] = 100 * (value - low) // (high - low) if high > low else 0


class TaintTolerationPreferred:
    """Fewer untolerated PreferNoSchedule taints is better."""

    weight = 3

    def pre_score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> bool:
        if not state["cache"].preferring_nodes:  # the common cluster: no node prefers
            return False
        return any(n.prefer_no_schedule for n in nodes)

    def score(self, pod: Any, node: NodeInfo, state: dict[str, Any]) -> int:
        tolerations = [t for t in pod.spec.tolerations if t.effect in ("", "PreferNoSchedule")]
        return sum(
            1
            for taint in node.prefer_no_schedule
            if not any(tolerates(t, taint) for t in tolerations)
        )

    def normalize_scores(self, pod: Any, scores: dict[str, int], state: dict[str, Any]) -> None:
        _normalize(scores, reverse=True)

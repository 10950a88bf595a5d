"""``topologySpreadConstraints``, as Kubernetes' PodTopologySpread plugin.

For each constraint, pods in the pod's namespace that match its
``labelSelector`` (plus ``matchLabelKeys``: the pod's own values of those
labels) are counted per topology domain (the value of ``topologyKey`` on
their node). Only nodes that carry every constraint's key count, and, by the
inclusion policies, only nodes the pod's node selector/affinity allows
(``nodeAffinityPolicy: Honor``, the default) and, with ``nodeTaintsPolicy:
Honor``, whose taints it tolerates (default ``Ignore``).

* ``whenUnsatisfiable: DoNotSchedule`` filters: placing the pod in a domain
  may not make ``count + 1 - min(count over domains)`` exceed ``maxSkew``
  (with fewer than ``minDomains`` domains, the minimum counts as 0).
* ``ScheduleAnyway`` scores: fewer matching pods in the node's domains is
  better, each constraint weighted by log(number of domains + 2).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from shoal.plugins.scheduler.matching import node_selector_matches, untolerated
from shoal.scheduling import CycleState, Status
from shoal.selectors import LabelSelector, SelectorError, label_selector_from_proto

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
SKEW_UNMET = "node(s) didn't match pod topology spread constraints"


@dataclass
class Constraint:
    """One TopologySpreadConstraint, parsed once for one pod."""

    max_skew: int
    topology_key: str
    selector: LabelSelector | None  # None matches nothing (an unset selector)
    extra: dict[str, str] = field(default_factory=dict)  # from matchLabelKeys
    min_domains: int = 1
    honor_affinity: bool = True
    honor_taints: bool = False

    @classmethod
    def of(cls, raw: Any, pod: Any) -> Constraint:
        selector = None
        if raw.HasField("label_selector"):
            try:
                selector = label_selector_from_proto(raw.label_selector)
            except SelectorError:
                selector = None
        labels = pod.metadata.labels
        return cls(
            max_skew=raw.max_skew,
            topology_key=raw.topology_key,
            selector=selector,
            extra={k: labels[k] for k in raw.match_label_keys if k in labels},
            min_domains=raw.min_domains if raw.HasField("min_domains") else 1,
            honor_affinity=(raw.node_affinity_policy or "Honor") == "Honor",
            honor_taints=(raw.node_taints_policy or "Ignore") == "Honor",
        )

    def matches(self, pod: Any, namespace: str) -> bool:
        if self.selector is None or pod.metadata.namespace != namespace:
            return False
        labels = pod.metadata.labels
        if any(labels.get(k) != v for k, v in self.extra.items()):
            return False
        return self.selector.matches(labels)


def constraints_of(pod: Any, when: str) -> list[Constraint]:
    return [
        Constraint.of(c, pod)
        for c in pod.spec.topology_spread_constraints
        if (c.when_unsatisfiable or DO_NOT_SCHEDULE) == when
    ]


def _included(pod: Any, node: NodeInfo, constraint: Constraint) -> bool:
    """The node inclusion policies: does this node's domain count?"""
    if constraint.honor_affinity:
        labels = node.labels
        if any(labels.get(k) != v for k, v in pod.spec.node_selector.items()):
            return False
        affinity = pod.spec.affinity.node_affinity
        if affinity.HasField("required_during_scheduling_ignored_during_execution"):
            required = affinity.required_during_scheduling_ignored_during_execution
            if not node_selector_matches(required, node):
                return False
    if constraint.honor_taints and node.taints:
        return untolerated(node.taints, pod.spec.tolerations, ("NoSchedule", "NoExecute")) is None
    return True


def count_domains(
    pod: Any, constraints: list[Constraint], nodes: list[NodeInfo]
) -> list[Counter[str]]:
    """Per constraint: matching pods per domain value, every eligible domain
    present (0 if empty). A node without every constraint's key is skipped."""
    namespace = pod.metadata.namespace
    counts: list[Counter[str]] = [Counter() for _ in constraints]
    keys = [c.topology_key for c in constraints]
    for node in nodes:
        labels = node.labels
        if not all(k in labels for k in keys):
            continue
        for i, constraint in enumerate(constraints):
            if not _included(pod, node, constraint):
                continue
            value = labels[constraint.topology_key]
            counts[i][value] += sum(
                1
                for other in node.pods.values()
                if not other.pod.metadata.HasField("deletion_timestamp")
                and constraint.matches(other.pod, namespace)
            )
    return counts


def skew_minimum(constraint: Constraint, counts: Counter[str]) -> int:
    """The global minimum a placement's skew is measured from."""
    if len(counts) < constraint.min_domains:
        return 0
    return min(counts.values(), default=0)


@dataclass
class _FilterState:
    constraints: list[Constraint]
    counts: list[Counter[str]]
    minimums: list[int]
    self_match: list[int]


class PodTopologySpread:
    """Filter for DoNotSchedule constraints, score for ScheduleAnyway ones."""

    weight = 2

    def pre_filter(self, pod: Any, state: CycleState) -> bool:
        constraints = constraints_of(pod, DO_NOT_SCHEDULE)
        if not constraints:
            return False
        cache: SchedulerCache = state["cache"]
        counts = count_domains(pod, constraints, cache.node_list)
        namespace = pod.metadata.namespace
        state["spread"] = _FilterState(
            constraints,
            counts,
            [skew_minimum(c, n) for c, n in zip(constraints, counts, strict=True)],
            [int(c.matches(pod, namespace)) for c in constraints],
        )
        return True

    def add_pod(self, pod: Any, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        """PreFilterExtensions: ``other`` now counts on ``node`` (preemption)."""
        self._recount(pod, state, other, node, 1)

    def remove_pod(self, pod: Any, state: CycleState, other: PodInfo, node: NodeInfo) -> None:
        """PreFilterExtensions: ``other`` no longer counts on ``node``."""
        self._recount(pod, state, other, node, -1)

    def _recount(
        self, pod: Any, state: CycleState, other: PodInfo, node: NodeInfo, by: int
    ) -> None:
        spread: _FilterState | None = state.get("spread")
        if spread is None or other.pod.metadata.HasField("deletion_timestamp"):
            return
        labels, namespace = node.labels, pod.metadata.namespace
        if not all(c.topology_key in labels for c in spread.constraints):
            return
        for i, constraint in enumerate(spread.constraints):
            if _included(pod, node, constraint) and constraint.matches(other.pod, namespace):
                spread.counts[i][labels[constraint.topology_key]] += by
                spread.minimums[i] = skew_minimum(constraint, spread.counts[i])

    def filter(self, pod: Any, node: NodeInfo, state: CycleState) -> Status | str | None:
        spread: _FilterState = state["spread"]
        labels = node.labels
        for i, constraint in enumerate(spread.constraints):
            value = labels.get(constraint.topology_key)
            if value is None:
                return Status.unschedulable(MISSING_LABEL, unresolvable=True)
            skew = spread.counts[i].get(value, 0) + spread.self_match[i] - spread.minimums[i]
            if skew > constraint.max_skew:
                return SKEW_UNMET
        return None

    def pre_score(self, pod: Any, nodes: list[NodeInfo], state: CycleState) -> bool:
        constraints = constraints_of(pod, SCHEDULE_ANYWAY)
        if not constraints:
            return False
        keys = [c.topology_key for c in constraints]
        scored = [n for n in nodes if all(k in n.labels for k in keys)]
        domains = [{n.labels[c.topology_key] for n in scored} for c in constraints]
        counts = count_domains(pod, constraints, state["cache"].node_list)
        weights = [math.log(len(d) + 2) for d in domains]
        state["spread_score"] = (constraints, counts, weights)
        return True

    def score(self, pod: Any, node: NodeInfo, state: CycleState) -> int:
        constraints, counts, weights = state["spread_score"]
        total = 0.0
        for constraint, count, weight in zip(constraints, counts, weights, strict=True):
            value = node.labels.get(constraint.topology_key)
            if value is None:
                return -1  # ignored: scores 0 after normalizing
            total += count.get(value, 0) * weight + (constraint.max_skew - 1)
        return round(total)

    def normalize_scores(self, pod: Any, scores: dict[str, int], state: CycleState) -> None:
        valid = [s for s in scores.values() if s >= 0]
        low, high = min(valid, default=0), max(valid, default=0)
        for name, value in scores.items():
            if value < 0:
                scores[name] = 0
            elif high == 0:
                scores[name] = 100
            else:
                scores[name] = 100 * (high + low - value) // high

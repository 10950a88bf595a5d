"""Preemption, as kube-scheduler's DefaultPreemption PostFilter plugin.

When a pod fits no node, look for nodes where removing pods of lower
``spec.priority`` would make it fit (a dry run: the filters again, on a copy
of the node without them), keep as few of them as victims as possible (the
most important pods are tried back first, pods a PodDisruptionBudget
protects before the others), and choose one node as Kubernetes'
``pickOneNodeForPreemption`` does: fewest budget violations, then the lowest
highest-victim priority, the lowest sum of victim priorities, the fewest
victims. The decision is left in ``state["preemption"]``; the scheduler
deletes the victims (preemption deletes, it does not evict), records
``Preempted`` events and sets the preemptor's ``status.nominatedNodeName``;
the preemptor stays queued and lands once the victims are gone, its room
held for it meanwhile against pods of lower priority.

The decision is plain Python over the scheduler's cache: no API calls.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.plugins.kinds.policy import covers
from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from shoal.scheduling import Code, CycleState, Status

# kube-scheduler's DefaultPreemptionArgs defaults: look at 10% of the nodes,
# at least 100, before choosing among the candidates found.
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


@dataclass
class Candidate:
    """A node where deleting ``victims`` makes room for the preemptor."""

    node: str
    victims: list[PodInfo] = field(default_factory=list)
    pdb_violations: int = 0

    def rank(self) -> tuple[int, int, int, int]:
        """Smaller is better (pickOneNodeForPreemption's order)."""
        priorities = [v.priority for v in self.victims]
        return (
            self.pdb_violations,
            max(priorities, default=-(2**31)),
            sum(priorities),
            len(self.victims),
        )


def pick_one_node(candidates: Iterable[Candidate]) -> Candidate | None:
    """The candidate with the fewest PDB violations, then the lowest highest
    victim priority, the lowest sum of priorities, the fewest victims; the
    first found on a tie."""
    best: Candidate | None = None
    for candidate in candidates:
        if best is None or candidate.rank() < best.rank():
            best = candidate
    return best


def _started(info: PodInfo) -> float:
    status = info.pod.status
    if status.HasField("start_time"):
        return status.start_time.seconds + status.start_time.nanos / 1e9
    return float("inf")


def by_importance(pods: Iterable[PodInfo]) -> list[PodInfo]:
    """Most important first: higher priority, then started earlier."""
    return sorted(pods, key=lambda p: (-p.priority, _started(p)))


def split_by_pdb_violation(
    pods: list[PodInfo], pdbs: Iterable[Any]
) -> tuple[list[PodInfo], list[PodInfo]]:
    """(violating, non-violating), each in the order given: a pod violates
    when deleting it and the pods before it would take a budget that covers
    it below its ``status.disruptionsAllowed`` (pods the budget already
    counts as disrupted are not counted twice)."""
    budgets = list(pdbs)
    allowed = [pdb.status.disruptions_allowed for pdb in budgets]
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for info in pods:
        violated = False
        for i, pdb in enumerate(budgets):
            if not covers(pdb, info.pod) or info.pod.metadata.name in pdb.status.disrupted_pods:
                continue
            allowed[i] -= 1
            if allowed[i] < 0:
                violated = True
        (violating if violated else fine).append(info)
    return violating, fine


def eligible_to_preempt(pod: Any, info: PodInfo, cache: SchedulerCache) -> str | None:
    """Why ``pod`` may not preempt now (None: it may)."""
    if pod.spec.preemption_policy == "Never":
        return "not eligible due to preemptionPolicy=Never."
    nominated = cache.nominated_node(info.key) or pod.status.nominated_node_name
    node = cache.nodes.get(nominated) if nominated else None
    if node is not None and any(
        other.pod.metadata.HasField("deletion_timestamp") and other.priority < info.priority
        for other in node.pods.values()
    ):
        # Its earlier victims are still going: wait for them, do not preempt more.
        return "not eligible due to a terminating pod on the nominated node."
    return None


class DefaultPreemption:
    """The PostFilter: choose a node and victims; see the module doc."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()

    def post_filter(self, pod: Any, state: CycleState, reasons: Mapping[str, int]) -> Status:
        cache: SchedulerCache = state["cache"]
        info: PodInfo = state["pod_info"]
        why = eligible_to_preempt(pod, info, cache)
        if why is not None:
            return Status.unschedulable(why)
        nodes = cache.node_list
        if not nodes:
            return Status.unschedulable()
        candidates, refusals = self.dry_run(pod, nodes, state)
        best = pick_one_node(candidates)
        if best is None:
            ordered = sorted(refusals.items(), key=lambda item: (-item[1], item[0]))
            histogram = ", ".join(f"{n} {r}" for r, n in ordered)
            return Status.unschedulable(
                f"preemption: 0/{len(nodes)} nodes are available: {histogram}."
            )
        state["preemption"] = best
        return Status.success()

    def dry_run(
        self, pod: Any, nodes: list[NodeInfo], state: CycleState
    ) -> tuple[list[Candidate], Counter[str]]:
        """Candidates from enough nodes (10% of them, at least 100), starting
        at a random node so preemptions spread; why the others were not."""
        total = len(nodes)
        wanted = min(
            total, max(total * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE)
        )
        start = self.rng.randrange(total) if total else 0
        pdbs = _budgets_for(pod, state["cache"])
        framework = state["framework"]
        candidates: list[Candidate] = []
        refusals: Counter[str] = Counter()
        for i in range(total):
            node = nodes[(start + i) % total]
            found = select_victims_on_node(pod, node, state, framework, pdbs)
            if isinstance(found, Candidate):
                candidates.append(found)
                if len(candidates) >= wanted:
                    break
            else:
                refusals[found] += 1
        return candidates, refusals


def _budgets_for(pod: Any, cache: SchedulerCache) -> list[Any]:
    """Budgets that could cover a victim: any namespace (victims may be in
    another namespace than the preemptor)."""
    return [pdb for pdb in cache.pdbs.values() if pdb.spec.HasField("selector")]


def _unresolvable(plugin: Any, status: Status) -> bool:
    """A refusal no deletion can change (taints, node selector, readiness):
    filters say so with an ``unresolvable`` attribute or Status code."""
    return (
        getattr(plugin, "unresolvable", False) or status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    )


def select_victims_on_node(
    pod: Any, node: NodeInfo, state: CycleState, framework: Any, pdbs: list[Any]
) -> Candidate | str:
    """The fewest pods of lower priority to delete from ``node`` so ``pod``
    fits (a Candidate), or why no deletion helps (a reason)."""
    info: PodInfo = state["pod_info"]
    view = framework.with_nominated_pods(pod, [node], state)[0]
    potential = [p for p in view.pods.values() if p.priority < info.priority]
    if not potential:
        failure = framework.first_failure(pod, view, state)
        return NOT_HELPFUL if failure is not None and _unresolvable(*failure) else NO_VICTIMS
    view = view.clone() if view is node else view
    for victim in potential:
        view.remove_pod(victim.key)
    failure = framework.first_failure(pod, view, state)
    if failure is not None:
        plugin, status = failure
        if _unresolvable(plugin, status):
            return NOT_HELPFUL
        return status.reasons[0] if status.reasons else NO_VICTIMS
    violating, fine = split_by_pdb_violation(by_importance(potential), pdbs)
    victims: list[PodInfo] = []
    violations = 0
    for group, counts in ((violating, True), (fine, False)):
        for other in group:  # try to keep each one, most important first
            view.add_pod(other)
            if framework.first_failure(pod, view, state) is None:
                continue
            view.remove_pod(other.key)
            victims.append(other)
            violations += counts
    if not victims:
        return NO_VICTIMS
    return Candidate(node.name, by_importance(victims), violations)

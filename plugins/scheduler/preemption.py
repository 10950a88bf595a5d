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
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from shoal.scheduling import Code, CycleState, PreFilterResult, Status
from shoal.selectors import LabelSelector, SelectorError, label_selector_from_proto

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


@dataclass
class Budget:
    """A PodDisruptionBudget as preemption weighs it, its selector parsed."""

    namespace: str
    selector: LabelSelector
    allowed: int  # status.disruptionsAllowed
    disrupted: frozenset[str]  # pods it already counts as going


class BudgetIndex:
    """Budgets by namespace and one of their matchLabels pairs, so finding
    the budgets covering a pod looks at its labels, not every budget (an
    unset selector covers no pod; an empty one every pod of the namespace)."""

    def __init__(self, pdbs: Iterable[Any]) -> None:
        self.budgets: list[Budget] = []
        self._by_label: dict[tuple[str, str, str], list[int]] = {}
        self._scanned: list[int] = []  # no matchLabels: checked for every pod
        self._memo: dict[str, tuple[Any, list[int]]] = {}  # pod key -> (pod, budgets)
        for pdb in pdbs:
            if not pdb.spec.HasField("selector"):
                continue
            try:
                selector = label_selector_from_proto(pdb.spec.selector)
            except SelectorError:
                continue  # validation refuses these; never fail scheduling on one
            namespace = pdb.metadata.namespace
            status = pdb.status
            index = len(self.budgets)
            self.budgets.append(
                Budget(namespace, selector, status.disruptions_allowed,
                       frozenset(status.disrupted_pods))
            )  # fmt: skip
            match_labels = pdb.spec.selector.match_labels
            if match_labels:
                key = min(match_labels)
                self._by_label.setdefault((namespace, key, match_labels[key]), []).append(index)
            else:
                self._scanned.append(index)

    def covering(self, info: PodInfo) -> list[int]:
        """Indexes of the budgets that cover the pod (remembered per pod
        version: the index is rebuilt whenever a budget changes)."""
        if not self.budgets:
            return []
        known = self._memo.get(info.key)
        if known is not None and known[0] is info.pod:
            return known[1]
        found = self._covering(info.pod)
        self._memo[info.key] = (info.pod, found)
        return found

    def _covering(self, pod: Any) -> list[int]:
        namespace, labels = pod.metadata.namespace, pod.metadata.labels
        found = [
            i
            for key, value in labels.items()
            for i in self._by_label.get((namespace, key, value), ())
        ]
        found += [i for i in self._scanned if self.budgets[i].namespace == namespace]
        return [i for i in found if self.budgets[i].selector.matches(labels)]


def split_by_pdb_violation(
    pods: list[PodInfo], budgets: BudgetIndex
) -> tuple[list[PodInfo], list[PodInfo]]:
    """(violating, non-violating), each in the order given: a pod violates
    when deleting it and the pods before it would take a budget that covers
    it below its ``status.disruptionsAllowed`` (pods the budget already
    counts as disrupted are not counted twice)."""
    if not budgets.budgets:
        return [], list(pods)
    allowed = [b.allowed for b in budgets.budgets]
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for info in pods:
        violated = False
        for i in budgets.covering(info):
            if info.pod.metadata.name in budgets.budgets[i].disrupted:
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
        # Per cache: its budgets' generation and their index, rebuilt on change.
        self._budgets: weakref.WeakKeyDictionary[SchedulerCache, tuple[int, BudgetIndex]] = (
            weakref.WeakKeyDictionary()
        )

    def budgets(self, cache: SchedulerCache) -> BudgetIndex:
        known = self._budgets.get(cache)
        if known is None or known[0] != cache.pdb_generation:
            known = (cache.pdb_generation, BudgetIndex(cache.pdbs.values()))
            self._budgets[cache] = known
        return known[1]

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
            # No room anywhere: an earlier nomination no longer holds (cleared).
            state["preemption_cleared"] = True
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
        pdbs = self.budgets(state["cache"])
        framework = state["framework"]
        candidates: list[Candidate] = []
        refusals: Counter[str] = Counter()
        order: Iterator[NodeInfo] = (nodes[(start + i) % total] for i in range(total))
        result: PreFilterResult | None = state.get("pre_filter_result")
        if result is not None:  # the other nodes cannot fit whatever goes (unresolvable)
            kept = [n for n in order if n.name in result.node_names]
            if total > len(kept):
                refusals[NOT_HELPFUL] = total - len(kept)
            order = iter(kept)
        for node in order:
            found = select_victims_on_node(pod, node, state, framework, pdbs)
            if isinstance(found, Candidate):
                candidates.append(found)
                if len(candidates) >= wanted:
                    break
            else:
                refusals[found] += 1
        return candidates, refusals


class _Removals:
    """Pods taken off a node's view, with the pre-filters' counts kept in
    step (and put back afterwards, so the next node starts clean)."""

    def __init__(self, pod: Any, state: CycleState, framework: Any, view: NodeInfo) -> None:
        self.pod, self.state, self.framework, self.view = pod, state, framework, view
        self.out: dict[str, PodInfo] = {}

    def remove(self, other: PodInfo) -> None:
        self.view.remove_pod(other.key)
        self.out[other.key] = other
        self.framework.run_pre_filter_extensions(
            "remove_pod", self.pod, self.state, other, self.view
        )

    def add(self, other: PodInfo) -> None:
        self.view.add_pod(other)
        del self.out[other.key]
        self.framework.run_pre_filter_extensions("add_pod", self.pod, self.state, other, self.view)

    def restore(self) -> None:
        for other in list(self.out.values()):
            self.framework.run_pre_filter_extensions(
                "add_pod", self.pod, self.state, other, self.view
            )
        self.out.clear()


def _unresolvable(plugin: Any, status: Status) -> bool:
    """A refusal no deletion can change (taints, node selector, readiness):
    filters say so with an ``unresolvable`` attribute or Status code."""
    return (
        getattr(plugin, "unresolvable", False) or status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    )


def select_victims_on_node(
    pod: Any, node: NodeInfo, state: CycleState, framework: Any, pdbs: BudgetIndex
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
    removed = _Removals(pod, state, framework, view)
    for victim in potential:
        removed.remove(victim)
    try:
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
                removed.add(other)
                if framework.first_failure(pod, view, state) is None:
                    continue
                removed.remove(other)
                victims.append(other)
                violations += counts
    finally:
        removed.restore()  # the cycle state is shared by every node's dry run
    if not victims:
        return NO_VICTIMS
    return Candidate(node.name, by_importance(victims), violations)

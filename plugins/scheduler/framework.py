"""The scheduling cycle for one pod: pre-filter, filter the nodes, score
the ones that fit, pick the best, reserve; then (in the background) the
binding cycle: permit, pre-bind, bind, post-bind. Plain Python over the
cache, except that binders may call the API.

The extension points and what each returns are in :mod:`shoal.scheduling`
(one Protocol per point); a plugin takes part in every point whose Protocol
it satisfies, in the order of the profile (:mod:`.profile`; by default the
registration order). ``state`` is a dict shared by every plugin for one pod;
it holds ``state["pod_info"]`` (the pod's precomputed requests) and
``state["cache"]`` (every node, for plugins that look across nodes).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import structlog
from shoal.plugins.scheduler.bindingcycle import BindingCycle, Plugin, guarded
from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache
from shoal.plugins.scheduler.decision import DecisionRecorder
from shoal.plugins.scheduler.profile import SchedulerProfile, default_order
from shoal.scheduling import (
    EXTENSION_POINTS,
    BoundedScores,
    CycleState,
    PreFilterResult,
    Status,
    as_status,
)

log = structlog.get_logger("scheduler")

MIN_FEASIBLE_NODES = 100


class FitError(Exception):
    """No node fits; the message is the FailedScheduling event's, followed
    by what the post-filter (preemption) said when it could not help."""

    def __init__(
        self, pod: Any, total: int, reasons: Counter[str], post_filter_message: str = ""
    ) -> None:
        self.pod, self.total, self.reasons = pod, total, reasons
        message = fit_error_message(total, reasons)
        if post_filter_message:
            message += f" {post_filter_message}"
        super().__init__(message)


def fit_error_message(total: int, reasons: Counter[str]) -> str:
    """``0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had ...``"""
    if total == 0:
        return "0/0 nodes are available: no nodes available to schedule pods."
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return f"0/{total} nodes are available: " + ", ".join(f"{n} {r}" for r, n in ordered) + "."


def num_feasible_nodes_to_find(total: int, percentage: int = 0) -> int:
    """Kubernetes' percentageOfNodesToScore: in a big cluster, stop looking
    once enough nodes fit (adaptive: 50% minus 1% per 125 nodes, at least 5%,
    at least 100 nodes). ``percentage`` 100 looks at every node."""
    if total < MIN_FEASIBLE_NODES or percentage >= 100:
        return total
    if percentage <= 0:
        percentage = max(50 - total // 125, 5)
    return max(total * percentage // 100, MIN_FEASIBLE_NODES)


class Framework(BindingCycle):
    """The plugins of one profile, by extension point, in the profile's order."""

    def __init__(
        self,
        plugins: Sequence[tuple[str, Any]],
        *,
        profile: SchedulerProfile | None = None,
        percentage_of_nodes_to_score: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        plugins = list(plugins)
        self.profile = profile or SchedulerProfile()
        objects = dict(plugins)
        self.points: dict[str, list[Plugin]] = {}
        for point in EXTENSION_POINTS:
            names = self.profile.plugins.get(point)
            if names is None:
                names = default_order(point, plugins)
            self.points[point] = [Plugin(n, objects[n], self._weight(n, objects[n])) for n in names]
        self.filters, self.scores = self.points["filter"], self.points["score"]
        self.extensions = {
            method: [
                (p.name, getattr(p.obj, method))
                for p in self.points["preFilter"]
                if callable(getattr(p.obj, method, None))
            ]
            for method in ("add_pod", "remove_pod")
        }
        self.percentage = percentage_of_nodes_to_score or self.profile.percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self._next_start = 0
        self.recorder: DecisionRecorder | None = None  # set to record decisions (shoal why)

    def _weight(self, name: str, obj: Any) -> int:
        return int(self.profile.weights.get(name, getattr(obj, "weight", 1)))

    # -- the scheduling cycle ---------------------------------------------------

    def schedule(
        self,
        pod: Any,
        cache: SchedulerCache,
        info: PodInfo | None = None,
        state: CycleState | None = None,
    ) -> str:
        """The chosen node's name, or :class:`FitError`."""
        if state is None:
            state = {}
        state.update({"pod_info": info or PodInfo.of(pod), "cache": cache, "framework": self})
        nodes = cache.node_list
        recorder = self.recorder
        if recorder is None:
            feasible, reasons = self.find_feasible(pod, nodes, state)
        else:  # shoal why: what the cycle computed anyway, kept compact
            recorder.begin(state)
            try:
                feasible, reasons = self.find_feasible(pod, nodes, state)
            except FitError as err:  # a pre-filter refused every node
                recorder.unschedulable(pod, state, nodes, err.reasons)
                raise
            if not feasible:
                recorder.unschedulable(pod, state, nodes, reasons)
        if not feasible:
            message = self.run_post_filter(pod, state, reasons)
            raise FitError(pod, len(nodes), reasons, message)
        if len(feasible) == 1:
            if recorder is not None:
                recorder.scheduled(state, len(nodes), reasons, feasible, None, 0)
            return feasible[0].name
        totals = self.score(pod, feasible, state)
        chosen = self.select(totals)
        if recorder is not None:
            recorder.scheduled(state, len(nodes), reasons, feasible, totals, chosen)
        return feasible[chosen].name

    def run_pre_filter(self, pod: Any, state: CycleState) -> set[str]:
        """Names of the plugins whose filter skips this pod; a rejection is
        a :class:`FitError` on every node."""
        skipped: set[str] = set()
        state.pop("pre_filter_result", None)
        for plugin in self.points["preFilter"]:
            answer = plugin.obj.pre_filter(pod, state)
            if isinstance(answer, PreFilterResult):
                self._merge_result(plugin.name, answer, state)
                continue
            status = as_status(answer)
            if status.is_skip():
                skipped.add(plugin.name)
            elif not status.is_success():
                nodes = len(state["cache"].node_list)
                reasons = Counter({status.message or plugin.name: nodes})
                message = self.run_post_filter(pod, state, reasons)
                raise FitError(pod, nodes, reasons, message)
        state["skipped_filters"] = skipped
        return skipped

    @staticmethod
    def _merge_result(name: str, result: PreFilterResult, state: CycleState) -> None:
        """Intersect a plugin's PreFilterResult with the ones before it (the
        first one's reason names the nodes left out)."""
        known: PreFilterResult | None = state.get("pre_filter_result")
        if known is None:
            reason = result.reason or f"node(s) didn't satisfy plugin(s) [{name}]"
            state["pre_filter_result"] = PreFilterResult(result.node_names, reason)
        else:
            names = known.node_names & result.node_names
            state["pre_filter_result"] = PreFilterResult(names, known.reason)

    def find_feasible(
        self, pod: Any, nodes: Sequence[NodeInfo], state: dict[str, Any]
    ) -> tuple[list[NodeInfo], Counter[str]]:
        """The nodes that fit, from where the previous pod stopped, until
        enough fit; why the others do not. A PreFilterResult (a DaemonSet
        pod's node) limits the search to the nodes it names; the others
        count as refused, and the search stops and moves on exactly where a
        search of every node would have (same decisions, fewer filters)."""
        skipped = self.run_pre_filter(pod, state)
        filters = [p.obj.filter for p in self.filters if p.name not in skipped]
        want = num_feasible_nodes_to_find(len(nodes), self.percentage)
        feasible: list[NodeInfo] = []
        reasons: Counter[str] = Counter()
        total, start = len(nodes), self._next_start
        order = [*nodes[start:], *nodes[:start]] if start else nodes
        result: PreFilterResult | None = state.get("pre_filter_result")
        positions: list[int] | None = None
        if result is not None:  # only these nodes can fit: filter them alone
            names = result.node_names
            positions = [i for i, n in enumerate(order) if n.name in names]
            order = [order[i] for i in positions]
        if state["cache"].nominated:
            order = self.with_nominated_pods(pod, order, state)
        checked = 0
        for node in order:
            checked += 1
            for check in filters:  # inlined: this loop runs for every node of every pod
                reason = check(pod, node, state)
                if reason:
                    if isinstance(reason, Status):
                        if reason.is_success() or reason.is_skip():
                            continue
                        reasons.update(reason.reasons or ("filter failed",))
                    elif isinstance(reason, str):
                        reasons[reason] += 1
                    else:
                        reasons.update(reason)
                    break
            else:
                feasible.append(node)
                if len(feasible) >= want:
                    break
        if result is not None and positions is not None:
            # as far as a search of every node would have gone; the nodes it
            # would have looked at and the result left out count as refused
            filtered = checked
            checked = positions[checked - 1] + 1 if checked and len(feasible) >= want else total
            if checked > filtered:
                reasons[result.reason] += checked - filtered
        self._next_start = (start + checked) % total if total else 0
        return feasible, reasons

    def with_nominated_pods(
        self, pod: Any, nodes: Sequence[NodeInfo], state: CycleState
    ) -> list[NodeInfo]:
        """``nodes``, where pods nominated to a node (waiting for the room
        their preemption freed) of at least this pod's priority count as if
        placed there, so lower-priority pods do not take that room."""
        held, info = state["cache"].nominated, state["pod_info"]
        result = []
        for node in nodes:
            waiting = [
                other
                for other in held.get(node.name, {}).values()
                if other.key != info.key and other.priority >= info.priority
            ]
            if waiting:
                node = node.clone()
                for other in waiting:
                    node.add_pod(other)
            result.append(node)
        return result

    def first_failure(
        self, pod: Any, node: NodeInfo, state: CycleState
    ) -> tuple[Any, Status] | None:
        """Run the filters the pre-filters kept on ``node`` (a view, maybe
        with pods removed): None if the pod fits, else the first refusing
        plugin and its Status. For the post-filter (preemption)."""
        skipped = state.get("skipped_filters", ())
        for plugin in self.filters:
            if plugin.name in skipped:
                continue
            reason = plugin.obj.filter(pod, node, state)
            if not reason:
                continue
            status = as_status(reason)
            if not (status.is_success() or status.is_skip()):
                return plugin.obj, status
        return None

    def filter_reasons(self, pod: Any, node: NodeInfo, state: CycleState) -> list[str]:
        """Every reason every filter the pre-filters kept gives against
        ``node`` (not only the first): for ``shoal why`` on a pending pod."""
        skipped = state.get("skipped_filters", ())
        found: list[str] = []
        for plugin in self.filters:
            if plugin.name in skipped:
                continue
            try:
                status = as_status(plugin.obj.filter(pod, node, state))
            except Exception as err:
                found.append(f"{plugin.name}: {type(err).__name__}")
                continue
            if not (status.is_success() or status.is_skip()):
                found.extend(status.reasons or (status.message or plugin.name,))
        return found

    def run_pre_filter_extensions(
        self, method: str, pod: Any, state: CycleState, other: PodInfo, node: NodeInfo
    ) -> None:
        """Kubernetes' PreFilterExtensions: tell pre-filters that keep counts
        in ``state`` (PodTopologySpread) that ``other`` was removed from
        (``method="remove_pod"``) or added to (``"add_pod"``) ``node``'s view,
        as preemption's dry runs do."""
        skipped = state.get("skipped_filters", ())
        for name, hook in self.extensions[method]:
            if name not in skipped:
                hook(pod, state, other, node)

    def run_post_filter(self, pod: Any, state: CycleState, reasons: Counter[str]) -> str:
        """Run the post-filters until one succeeds (preemption nominated a
        node); the message of the last refusal otherwise."""
        message = ""
        for plugin in self.points["postFilter"]:
            try:
                status = as_status(plugin.obj.post_filter(pod, state, reasons))
            except Exception as err:
                log.exception("post-filter failed", plugin=plugin.name)
                status = Status.error(f"{type(err).__name__}: {err}")
            if status.is_success():
                return ""
            if status.code.name == "ERROR":
                log.warning("post-filter failed", plugin=plugin.name, error=status.message)
            message = status.message
        return message

    def score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> list[int]:
        """Weighted totals, in the order of ``nodes``."""
        totals = [0] * len(nodes)
        skipped = self._pre_score(pod, nodes, state)
        breakdown = state.get("score_breakdown")  # per plugin, when recording
        for plugin in self.scores:
            obj = plugin.obj
            if plugin.name in skipped:
                continue
            weight = plugin.weight
            batch = getattr(obj, "score_nodes", None)
            if batch is not None:  # one call per pod, not one per node
                values = batch(pod, nodes, state)
            else:
                score = obj.score
                values = [score(pod, n, state) for n in nodes]
            normalize = getattr(obj, "normalize_scores", None)
            if normalize is not None:
                by_name = {n.name: v for n, v in zip(nodes, values, strict=True)}
                normalize(pod, by_name, state)
                values = [by_name[n.name] for n in nodes]
            if breakdown is not None:
                breakdown[plugin.name] = (values, weight)
            totals = _add_scores(totals, values, weight)
        return totals

    def _pre_score(self, pod: Any, nodes: list[NodeInfo], state: CycleState) -> set[str]:
        skipped: set[str] = set()
        for plugin in self.points["preScore"]:
            if not as_status(plugin.obj.pre_score(pod, nodes, state)).is_success():
                skipped.add(plugin.name)
        return skipped

    def select(self, totals: list[int]) -> int:
        """The index of the highest total; ties broken at random so equal
        nodes share load (the k-th tied, found by ``list.index``: this runs
        for every pod over hundreds of nodes)."""
        best = max(totals)
        at = totals.index(best)
        ties = totals.count(best)
        if ties > 1:
            for _ in range(self.rng.randrange(ties)):
                at = totals.index(best, at + 1)
        return at

    def run_reserve(self, pod: Any, node: str, state: CycleState) -> Status:
        """Reserve in order; on the first failure, unreserve everything."""
        for plugin in self.points["reserve"]:
            status = guarded(plugin, lambda p=plugin: p.obj.reserve(pod, node, state))
            if not status.is_success():
                self.run_unreserve(pod, node, state)
                return status
        return Status.success()

    def run_unreserve(self, pod: Any, node: str, state: CycleState) -> None:
        for plugin in reversed(self.points["reserve"]):
            try:
                plugin.obj.unreserve(pod, node, state)
            except Exception:
                log.exception("unreserve failed", plugin=plugin.name)


_INTS = {int}


def _add_scores(totals: list[int], values: Sequence[Any], weight: int) -> list[int]:
    """``totals`` plus each of a plugin's ``values`` clamped to 0..100 and
    made an integer, times ``weight``. Hot (every feasible node, every score
    plugin, every pod): integers already in range (a plugin's
    :class:`BoundedScores`, or found so) skip the clamp."""
    if len(values) != len(totals):
        raise ValueError(f"{len(values)} scores for {len(totals)} nodes")
    if type(values) is BoundedScores or (
        values and set(map(type, values)) == _INTS and min(values) >= 0 and max(values) <= 100
    ):
        if weight == 1 and not any(totals):  # the first score
            return list(values)
        if weight == 1:
            return [total + value for total, value in zip(totals, values, strict=True)]
        return [total + value * weight for total, value in zip(totals, values, strict=True)]
    return [
        total + (0 if value < 0 else 100 if value > 100 else int(value)) * weight
        for total, value in zip(totals, values, strict=True)
    ]

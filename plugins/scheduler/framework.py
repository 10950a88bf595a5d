"""The scheduling cycle for one pod: filter the nodes, score the ones that
fit, pick the best. Plain Python over the cache; no API calls.

A scheduler plugin (``register_scheduler_plugins``) has any of:

* ``filter(pod, node, state) -> str | list[str] | None`` - None if the pod
  fits ``node`` (a :class:`~shoal.plugins.scheduler.cache.NodeInfo`, which
  reads like a Node), else why not (several reasons as a list);
* ``score(pod, node, state) -> int`` - 0 to 100, times ``weight`` (default 1);
* ``pre_filter(pod, state)`` / ``pre_score(pod, nodes, state)`` - called once
  per pod; returning ``False`` skips the plugin for this pod (it has nothing
  to say about it), which keeps the per-node loop short;
* ``normalize_scores(pod, scores, state)`` - rescale ``{node name: score}``
  in place to 0..100 once every node is scored.

``state`` is a dict shared by all plugins for one cycle; it holds
``state["pod_info"]`` (the pod's precomputed requests) and
``state["cache"]`` (every node, for plugins that look across nodes).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from shoal.plugins.scheduler.cache import NodeInfo, PodInfo, SchedulerCache

log = structlog.get_logger("scheduler")

MIN_FEASIBLE_NODES = 100


class FitError(Exception):
    """No node fits; the message is the FailedScheduling event's."""

    def __init__(self, pod: Any, total: int, reasons: Counter[str]) -> None:
        self.pod, self.total, self.reasons = pod, total, reasons
        super().__init__(fit_error_message(total, reasons))


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


@dataclass
class _Plugin:
    name: str
    obj: Any
    weight: int


class Framework:
    """Filter and score plugins, called in registration order."""

    def __init__(
        self,
        plugins: Sequence[tuple[str, Any]],
        *,
        percentage_of_nodes_to_score: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.filters = [_Plugin(n, p, 1) for n, p in plugins if hasattr(p, "filter")]
        self.scores = [
            _Plugin(n, p, int(getattr(p, "weight", 1))) for n, p in plugins if hasattr(p, "score")
        ]
        self.percentage = percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self._next_start = 0

    def schedule(self, pod: Any, cache: SchedulerCache, info: PodInfo | None = None) -> str:
        """The chosen node's name, or :class:`FitError`."""
        state: dict[str, Any] = {"pod_info": info or PodInfo.of(pod), "cache": cache}
        nodes = cache.node_list
        feasible, reasons = self.find_feasible(pod, nodes, state)
        if not feasible:
            raise FitError(pod, len(nodes), reasons)
        if len(feasible) == 1:
            return feasible[0].name
        return self.select(feasible, self.score(pod, feasible, state))

    def find_feasible(
        self, pod: Any, nodes: Sequence[NodeInfo], state: dict[str, Any]
    ) -> tuple[list[NodeInfo], Counter[str]]:
        filters = [p.obj.filter for p in self.filters if _wants(p.obj, "pre_filter", pod, state)]
        want = num_feasible_nodes_to_find(len(nodes), self.percentage)
        feasible: list[NodeInfo] = []
        reasons: Counter[str] = Counter()
        total, start = len(nodes), self._next_start
        checked = 0
        order = [*nodes[start:], *nodes[:start]] if start else nodes
        for node in order:
            checked += 1
            for check in filters:  # inlined: this loop runs for every node of every pod
                reason = check(pod, node, state)
                if reason:
                    if isinstance(reason, str):
                        reasons[reason] += 1
                    else:
                        reasons.update(reason)
                    break
            else:
                feasible.append(node)
                if len(feasible) >= want:
                    break
        self._next_start = (start + checked) % total if total else 0
        return feasible, reasons

    def score(self, pod: Any, nodes: list[NodeInfo], state: dict[str, Any]) -> list[int]:
        """Weighted totals, in the order of ``nodes``."""
        totals = [0] * len(nodes)
        for plugin in self.scores:
            obj = plugin.obj
            if not _wants(obj, "pre_score", pod, nodes, state):
                continue
            score, weight = obj.score, plugin.weight
            values = [score(pod, n, state) for n in nodes]
            normalize = getattr(obj, "normalize_scores", None)
            if normalize is not None:
                by_name = {n.name: v for n, v in zip(nodes, values, strict=True)}
                normalize(pod, by_name, state)
                values = [by_name[n.name] for n in nodes]
            for i, value in enumerate(values):
                totals[i] += (0 if value < 0 else 100 if value > 100 else int(value)) * weight
        return totals

    def select(self, nodes: list[NodeInfo], totals: list[int]) -> str:
        """The highest total; ties broken at random so equal nodes share load."""
        best = max(totals)
        tied = [i for i, value in enumerate(totals) if value == best]
        return nodes[tied[0] if len(tied) == 1 else self.rng.choice(tied)].name


def _wants(plugin: Any, hook: str, *args: Any) -> bool:
    pre = getattr(plugin, hook, None)
    return pre is None or pre(*args) is not False

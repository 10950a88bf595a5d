"""Why a pod landed where it did (or nowhere): a compact record of one
scheduling cycle, for ``shoal why``.

The framework calls the recorder at the end of the scheduling cycle with
what it already computed (the filter verdicts counted by reason, the feasible
nodes, the per-plugin scores); the recorder keeps the top ``top`` nodes and
the counts, never one row per node, so a record stays a few hundred bytes at
any cluster size. The scheduler carries it to the API as the pod's
``scheduler.shoal.dev/decision`` annotation: on the Binding for a scheduled
pod (no extra write: the API server copies a Binding's annotations onto the
pod, as Kubernetes does), by a patch after the FailedScheduling condition for
a pending one. The last ``recent`` records also stay in memory.

A pending pod gets more work (bounded: the ``analyzed`` nodes with the most
room): each node's failures (all filters, not only the first that refused),
the nearest nodes (fewest failures, then smallest resource shortfall), and
hints: the largest request that fits somewhere, the taint to tolerate, the
label a node lacks.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

from shoal.plugins.scheduler.cache import NodeInfo, PodInfo
from shoal.scheduling import CycleState

ANNOTATION = "scheduler.shoal.dev/decision"
TOP_NODES = 5
RECENT_DECISIONS = 1000
ANALYZED_NODES = 1000  # a pending pod's every-filter analysis: the roomiest this many
MAX_REASONS = 10
RESOURCE_REASONS = ("Insufficient cpu", "Insufficient memory")


def encode(decision: dict[str, Any]) -> str:
    return json.dumps(decision, separators=(",", ":"), sort_keys=True)


class DecisionRecorder:
    """Bounded: ``recent`` decisions, each of ``top`` nodes plus counts."""

    def __init__(
        self, top: int = TOP_NODES, recent: int = RECENT_DECISIONS, analyzed: int = ANALYZED_NODES
    ) -> None:
        self.top, self.recent, self.analyzed = top, recent, analyzed
        self.decisions: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def begin(self, state: CycleState) -> None:
        """Ask :meth:`Framework.score` to keep each plugin's values."""
        state["score_breakdown"] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.decisions.get(key)

    def _keep(self, state: CycleState, decision: dict[str, Any]) -> dict[str, Any]:
        key = state["pod_info"].key
        self.decisions[key] = decision
        self.decisions.move_to_end(key)
        while len(self.decisions) > self.recent:
            self.decisions.popitem(last=False)
        state["decision"] = decision
        return decision

    def scheduled(
        self,
        state: CycleState,
        total: int,
        reasons: Counter[str],
        feasible: Sequence[NodeInfo],
        totals: Sequence[int] | None,
        chosen: int,
    ) -> dict[str, Any]:
        """``totals`` None when one node fit (nothing was scored);
        ``chosen``: the index of the chosen node in ``feasible``."""
        breakdown: dict[str, tuple[list[int], int]] = state.get("score_breakdown") or {}
        if totals is None:
            order = [0]
            totals = [0]
        else:  # the highest totals, the first node of a tie first; the chosen one leads
            best = heapq.nlargest(self.top, zip(totals, range(0, -len(totals), -1), strict=True))
            order = [chosen, *[-i for _total, i in best if -i != chosen]][: self.top]
        top = [
            {
                "node": feasible[i].name,
                "total": int(totals[i]),
                "scores": {name: _clamp(values[i]) for name, (values, _w) in breakdown.items()},
            }
            for i in order
        ]
        decision = {
            "node": feasible[chosen].name,
            "nodes": total,
            "feasible": len(feasible),
            "filtered": _counts(reasons),
            "weights": {name: weight for name, (_v, weight) in breakdown.items()},
            "top": top,
        }
        return self._keep(state, decision)

    def unschedulable(
        self, pod: Any, state: CycleState, nodes: Sequence[NodeInfo], reasons: Counter[str]
    ) -> dict[str, Any]:
        """Every node's failures, the nearest nodes and what would make it fit."""
        framework = state.get("framework")
        info: PodInfo = state["pod_info"]
        rows: list[tuple[NodeInfo, list[str]]] = []
        if framework is not None and "skipped_filters" in state:  # pre-filters ran
            looked = nodes
            if len(nodes) > self.analyzed:  # bounded: the nodes with the most room
                looked = heapq.nsmallest(self.analyzed, nodes, key=lambda n: _shortfall(info, n))
            rows = [(n, framework.filter_reasons(pod, n, state)) for n in looked]
        rows.sort(key=lambda row: (len(row[1]), _shortfall(info, row[0]), row[0].name))
        decision = {
            "node": "",
            "nodes": len(nodes),
            "feasible": 0,
            "filtered": _counts(reasons),
            "nearest": [
                {"node": n.name, "reasons": failures, "free": _free(n)}
                for n, failures in rows[: self.top]
            ],
            "hints": _hints(pod, info, rows),
        }
        return self._keep(state, decision)


def _clamp(value: Any) -> int:
    return 0 if value < 0 else 100 if value > 100 else int(value)


def _counts(reasons: Counter[str]) -> dict[str, int]:
    ordered = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    return dict(ordered[:MAX_REASONS])


def _free(node: NodeInfo) -> dict[str, int]:
    """Free CPU in millicores and memory in bytes."""
    return {
        "cpu": node.alloc_cpu - node.req_cpu,
        "memory": node.alloc_memory - node.req_memory,
    }


def _shortfall(info: PodInfo, node: NodeInfo) -> float:
    """How far the pod's requests are over the node's free room, relative."""
    free = _free(node)
    missing = 0.0
    for resource, want in (("cpu", info.cpu), ("memory", info.memory)):
        if want > free[resource]:
            missing += (want - free[resource]) / max(want, 1)
    return missing


def _hints(pod: Any, info: PodInfo, rows: list[tuple[NodeInfo, list[str]]]) -> list[str]:
    """What would make the pod fit, one change at a time, nearest node first."""
    hints: list[str] = []
    resource_only = [n for n, fails in rows if fails and set(fails) <= set(RESOURCE_REASONS)]
    if resource_only:
        roomiest = max(resource_only, key=lambda n: (_free(n)["cpu"], _free(n)["memory"]))
        free = _free(roomiest)
        parts = []
        if info.cpu > free["cpu"]:
            parts.append(f"cpu {max(free['cpu'], 0)}m (asks {info.cpu}m)")
        if info.memory > free["memory"]:
            parts.append(f"memory {max(free['memory'], 0)} bytes (asks {info.memory})")
        hints.append(f"request at most {', '.join(parts)}: fits node {roomiest.name}")
    for node, fails in rows:
        if len(fails) == 1 and "taint" in fails[0]:
            taint = fails[0].split("untolerated ")[-1]
            hints.append(f"tolerate the {taint}: fits node {node.name}")
            break
    selector = dict(pod.spec.node_selector)
    for node, fails in rows:
        if len(fails) == 1 and "affinity/selector" in fails[0] and selector:
            missing = {k: v for k, v in selector.items() if node.labels.get(k) != v}
            if missing:
                labels = ",".join(f"{k}={v}" for k, v in sorted(missing.items()))
                hints.append(f"label node {node.name} with {labels}")
                break
    return hints


async def annotate(client: Any, pod: Any, decision: dict[str, Any]) -> Any:
    """Patch a pending pod's decision annotation, unless it already says the
    same: the updated pod, or None (unchanged, gone, or the write failed)."""
    from shoal import errors

    text = encode(decision)
    if pod.metadata.annotations.get(ANNOTATION) == text:
        return None
    patch = {"metadata": {"annotations": {ANNOTATION: text}}}
    try:
        return await client.patch("Pod", pod.metadata.name, patch, pod.metadata.namespace)
    except (errors.APIError, OSError):
        return None

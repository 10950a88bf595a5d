"""The scheduler's fast paths (issue 18) decide as the plain ones do:
batch scores equal per-node scores, and NodeResourcesFit's shortcut still
reports every shortage."""

from __future__ import annotations

from typing import Any

from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.filters import NodeResourcesFit
from shoal.plugins.scheduler.scores import BalancedAllocation, LeastAllocated

from tests.scheduler.builders import node, pod


def _cache() -> SchedulerCache:
    cache = SchedulerCache()
    for i, (cpu, memory) in enumerate([("4", "8Gi"), ("2", "16Gi"), ("0", "0"), ("8", "1Gi")]):
        cache.set_node(node(f"n{i}", cpu=cpu, memory=memory))
    for i in range(6):  # uneven load, so the fractions differ per node
        bound = pod(f"b{i}", cpu=f"{100 * (i + 1)}m", memory=f"{i * 300}Mi", node_name=f"n{i % 4}")
        cache.set_pod(bound)
    return cache


def test_batch_scores_equal_per_node_scores() -> None:
    cache = _cache()
    for candidate in (pod("p", cpu="500m", memory="1Gi"), pod("q")):
        info = PodInfo.of(candidate)
        for plugin in (LeastAllocated(), BalancedAllocation()):
            state: dict[str, Any] = {"pod_info": info, "cache": cache}
            one_by_one = [plugin.score(candidate, n, state) for n in cache.node_list]
            assert plugin.score_nodes(candidate, cache.node_list, state) == one_by_one


def _with_gpus(n: Any, count: str) -> Any:
    n.status.allocatable["example.com/gpu"] = count
    return n


def _reasons(candidate: Any, target: Any, bound: list[Any] = ()) -> list[str] | None:  # type: ignore[assignment]
    cache = SchedulerCache()
    info = cache.set_node(target)
    for p in bound:
        cache.set_pod(p)
    return NodeResourcesFit().filter(candidate, info, {"pod_info": PodInfo.of(candidate)})


def _gpu_pod(name: str, gpus: str, **kw: Any) -> Any:
    p = pod(name, **kw)
    p.spec.containers[0].resources.requests["example.com/gpu"] = gpus
    return p


def test_extended_resources_are_still_checked() -> None:
    assert _reasons(_gpu_pod("p", "2"), _with_gpus(node("a"), "1")) == [
        "Insufficient example.com/gpu"
    ]
    assert _reasons(_gpu_pod("p", "1"), _with_gpus(node("a"), "1")) is None


def test_every_shortage_is_reported() -> None:
    full = [pod("b", cpu="3", memory="7Gi", node_name="a")]
    reasons = _reasons(_gpu_pod("p", "1", cpu="2", memory="2Gi"), node("a", pods="1"), full)
    assert reasons == [
        "Too many pods",
        "Insufficient cpu",
        "Insufficient memory",
        "Insufficient example.com/gpu",
    ]


def test_a_pod_without_requests_fits_an_overcommitted_node() -> None:
    over = [pod("b", cpu="6", memory="10Gi", node_name="a")]
    assert _reasons(pod("p"), node("a", cpu="4", memory="8Gi"), over) is None

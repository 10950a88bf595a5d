"""The scheduler's fast paths (issue 18) decide as the plain ones do:
batch scores equal per-node scores, NodeResourcesFit's shortcut still
reports every shortage, the filters and scores that sit out when no node
could make them differ come back as soon as one node changes, and scores
are clamped whichever way they are added."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.plugin_manager import scheduler_plugins
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.filters import NodeResourcesFit
from shoal.plugins.scheduler.framework import FitError, Framework
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
    """Also after a pod lands on a node, or a node changes: the batch keeps
    each node's last scores, and must forget them then."""
    cache = _cache()
    candidates = (pod("p", cpu="500m", memory="1Gi"), pod("q"), pod("p2", cpu="500m", memory="1Gi"))
    for step in range(4):
        for candidate in candidates:
            info = PodInfo.of(candidate)
            for plugin in (LeastAllocated(), BalancedAllocation()):
                state: dict[str, Any] = {"pod_info": info, "cache": cache}
                one_by_one = [plugin.score(candidate, n, state) for n in cache.node_list]
                assert plugin.score_nodes(candidate, cache.node_list, state) == one_by_one
        if step == 0:
            cache.assume_pod(PodInfo.of(pod("x", cpu="1", memory="2Gi")), "n0")
        elif step == 1:
            cache.set_node(node("n1", cpu="3", memory="16Gi"))
        else:
            cache.forget_pod("default/x")


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


NO_SCHEDULE = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
PREFER_NOT = [{"key": "old", "effect": "PreferNoSchedule"}]


def _framework() -> Framework:
    return Framework(scheduler_plugins().items())


@pytest.mark.parametrize(
    "changed",
    [{"taints": NO_SCHEDULE}, {"ready": "False"}, {"unschedulable": True}],
    ids=["tainted", "not-ready", "cordoned"],
)
def test_a_node_that_changes_later_is_filtered(changed: dict[str, Any]) -> None:
    """NodeReady and TaintToleration sit out while every node is Ready,
    schedulable and untainted; one node changing (after it was added)
    brings them back, and changing back lets them sit out again."""
    cache, framework = SchedulerCache(), _framework()
    cache.set_node(node("only"))
    assert framework.schedule(pod("a"), cache) == "only"
    assert {"NodeReady", "TaintToleration"} <= framework.run_pre_filter(
        pod("a"), {"pod_info": PodInfo.of(pod("a")), "cache": cache}
    )
    cache.set_node(node("only", **changed))
    with pytest.raises(FitError):
        framework.schedule(pod("b"), cache)
    cache.set_node(node("only"))
    assert framework.schedule(pod("c"), cache) == "only"
    cache.set_node(node("only", **changed))
    cache.remove_node("only")
    assert not (cache.unfit_nodes or cache.tainted_nodes or cache.preferring_nodes)


def test_a_prefer_no_schedule_taint_added_later_is_scored() -> None:
    cache, framework = SchedulerCache(), _framework()
    cache.set_node(node("a"))
    cache.set_node(node("b"))
    cache.set_node(node("a", taints=PREFER_NOT))
    assert {framework.schedule(pod(f"p{i}"), cache) for i in range(20)} == {"b"}
    cache.set_node(node("a"))
    assert {framework.schedule(pod(f"q{i}"), cache) for i in range(20)} == {"a", "b"}


class _Scores:
    def __init__(self, values: list[Any], weight: int = 1) -> None:
        self.values, self.weight = values, weight

    def score(self, pod: Any, node: Any, state: dict[str, Any]) -> Any:
        raise AssertionError("score_nodes is preferred")

    def score_nodes(self, pod: Any, nodes: list[Any], state: dict[str, Any]) -> list[Any]:
        return self.values


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([7, 100, 0], [7 * 3, 100 * 3, 0]),  # in range: added as they are
        ([-5, 250, 42], [0, 100 * 3, 42 * 3]),  # out of range: clamped
        ([1.9, 99.5, 100.0], [1 * 3, 99 * 3, 100 * 3]),  # floats: made integers
        ([True, 5, 6], [1 * 3, 5 * 3, 6 * 3]),
    ],
)
def test_scores_are_clamped_and_weighted(values: list[Any], expected: list[int]) -> None:
    cache = SchedulerCache()
    for name in ("a", "b", "c"):
        cache.set_node(node(name))
    framework = Framework([("Custom", _Scores(values, 3)), ("Flat", _Scores([10, 10, 10]))])
    state = {"pod_info": PodInfo.of(pod("p")), "cache": cache}
    totals = framework.score(pod("p"), cache.node_list, state)
    assert totals == [total + 10 for total in expected]


def test_a_score_per_node_is_required() -> None:
    cache = SchedulerCache()
    for name in ("a", "b"):
        cache.set_node(node(name))
    framework = Framework([("Short", _Scores([1]))])
    state = {"pod_info": PodInfo.of(pod("p")), "cache": cache}
    with pytest.raises(ValueError, match="1 scores for 2 nodes"):
        framework.score(pod("p"), cache.node_list, state)

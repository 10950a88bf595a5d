"""NodeAffinity's PreFilterResult (issue 16): a pod whose required node
affinity names its node(s) by ``matchFields: metadata.name`` (a DaemonSet's
pod) is filtered and scored on those nodes alone, and every decision is the
one a search of every node makes: the same node, the same preemption (victims and
node), the same place for the next pod to start from. Only the fit error's
histogram differs: nodes the result leaves out count under NodeAffinity's
reason whatever filter would have refused them first (as Kubernetes counts
them under ``didn't satisfy plugin(s) [NodeAffinity]``)."""

from __future__ import annotations

import random
from typing import Any

from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.filters import NodeAffinity
from shoal.plugins.scheduler.framework import FitError, Framework
from shoal.plugins.scheduler.matching import pinned_node_names
from shoal.plugins.scheduler.preemption import DefaultPreemption
from shoal.scheduling import PreFilterResult

from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import builtin_plugins


class WithoutNodeNames(NodeAffinity):
    """NodeAffinity as it was: it filters every node."""

    def pre_filter(self, pod: Any, state: dict[str, Any]) -> bool:
        return bool(super().pre_filter(pod, state))


class Counting:
    """Wraps a filter to count the nodes it looks at."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def filter(self, pod: Any, node: Any, state: dict[str, Any]) -> Any:
        self.calls += 1
        return self.inner.filter(pod, node, state)


def _plugins(narrow: bool, counter: Counting) -> list[tuple[str, Any]]:
    plugins = []
    for name, obj in builtin_plugins():
        if name == "NodeAffinity" and not narrow:
            obj = WithoutNodeNames()
        elif name == "DefaultPreemption":
            obj = DefaultPreemption(random.Random(7))
        elif name == "NodeReady":
            counter.inner = obj
            obj = counter
        plugins.append((name, obj))
    return plugins


def pinned(name: str, nodes: list[str], *, priority: int = 0, **kw: Any) -> Any:
    p = pod(
        name,
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": nodes}
                            ]
                        }
                    ]
                }
            }
        },
        **kw,
    )
    p.spec.priority = priority
    return p


def _cluster(count: int) -> SchedulerCache:
    cache = SchedulerCache()
    for i in range(count):
        taints = (
            [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}] if i % 17 == 3 else []
        )
        cpu = "1" if i % 5 == 0 else "4"
        cache.set_node(
            node(f"n{i:03}", cpu=cpu, taints=taints, ready="False" if i % 23 == 5 else "True")
        )
    for i in range(count):
        low = pod(f"low{i}", cpu="700m", node_name=f"n{i:03}")
        low.spec.priority = i % 3
        cache.set_pod(low)
    return cache


def _workload(count: int) -> list[Any]:
    rng = random.Random(3)
    pods: list[Any] = []
    for i in range(120):
        kind = i % 6
        target = f"n{rng.randrange(count):03}"
        if kind == 0:
            pods.append(pod(f"plain{i}", cpu="300m"))
        elif kind == 1:
            pods.append(pinned(f"ds{i}", [target], cpu="200m"))
        elif kind == 2:  # a node of 1 cpu, already 700m used: preemption or fit error
            pods.append(
                pinned(f"big{i}", [f"n{rng.randrange(count // 5) * 5:03}"], cpu="900m", priority=5)
            )
        elif kind == 3:
            several = sorted({f"n{rng.randrange(count):03}" for _ in range(rng.randrange(2, 120))})
            pods.append(pinned(f"few{i}", several, cpu="100m"))
        elif kind == 4:
            pods.append(pinned(f"gone{i}", ["no-such-node"]))
        else:  # a nodeSelector beside the names
            p = pinned(f"sel{i}", [target], cpu="100m")
            p.spec.node_selector["kubernetes.io/hostname"] = target
            pods.append(p)
    return pods


def _decide(narrow: bool, count: int) -> tuple[list[Any], int]:
    cache = _cluster(count)
    counter = Counting(None)
    framework = Framework(_plugins(narrow, counter), rng=random.Random(11))
    decisions: list[Any] = []
    for p in _workload(count):
        info = PodInfo.of(p)
        state: dict[str, Any] = {}
        try:
            chosen = framework.schedule(p, cache, info, state)
        except FitError as err:
            preemption = state.get("preemption")
            victims = [v.key for v in preemption.victims] if preemption else None
            total = str(err).split(" nodes are available")[0]  # "0/40"
            decisions.append(("unschedulable", total, victims, framework._next_start))
            continue
        cache.assume_pod(info, chosen)
        decisions.append((chosen, framework._next_start))
    return decisions, counter.calls


def test_decisions_are_those_of_a_search_of_every_node() -> None:
    for count in (40, 260):  # below and above the 100 nodes where searches stop early
        narrowed, narrowed_calls = _decide(True, count)
        every, every_calls = _decide(False, count)
        assert narrowed == every
        assert {d[0] for d in every} - {"unschedulable"}  # some pods were placed
        assert any(d[0] == "unschedulable" and d[2] for d in every)  # and some preempted
        assert narrowed_calls * 3 < every_calls  # with far fewer filter calls


def test_a_daemon_pod_is_filtered_on_its_node_alone() -> None:
    cache = _cluster(300)
    counter = Counting(None)
    framework = Framework(_plugins(True, counter))
    assert framework.schedule(pinned("ds", ["n042"]), cache) == "n042"
    assert counter.calls == 1


def test_the_names_of_required_node_affinity() -> None:
    def names(*terms: list[dict[str, Any]]) -> frozenset[str]:
        p = pod("p", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": t} if t else {"matchExpressions": [
                {"key": "zone", "operator": "Exists"}]} for t in terms]}}})  # fmt: skip
        return pinned_node_names(
            p.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
        )

    def field(op: str, *values: str) -> dict[str, Any]:
        return {"key": "metadata.name", "operator": op, "values": list(values)}

    assert names([field("In", "a", "b")]) == {"a", "b"}
    assert names([field("In", "a", "b"), field("In", "b", "c")]) == {"b"}  # ANDed
    assert names([field("In", "a")], [field("In", "c")]) == {"a", "c"}  # terms ORed
    assert names([field("In", "a")], []) == frozenset()  # a term open to every node
    assert names([field("NotIn", "a")]) == frozenset()
    assert (
        names([field("In", "a"), field("In", "b")]) == frozenset()
    )  # contradictory: the filter says


def test_a_pre_filter_result_is_a_success_and_results_intersect() -> None:
    class Only:
        def __init__(self, *names: str) -> None:
            self.names = frozenset(names)

        def pre_filter(self, pod: Any, state: dict[str, Any]) -> PreFilterResult:
            return PreFilterResult(self.names)

        def filter(self, pod: Any, node: Any, state: dict[str, Any]) -> None:
            return None

    cache = SchedulerCache()
    for name in ("a", "b", "c"):
        cache.set_node(node(name))
    framework = Framework([*builtin_plugins(), ("AB", Only("a", "b")), ("BC", Only("b", "c"))])
    assert framework.schedule(pod("p"), cache) == "b"
    framework = Framework([*builtin_plugins(), ("A", Only("a")), ("C", Only("c"))])
    try:
        framework.schedule(pod("p"), cache)
    except FitError as err:
        assert str(err).startswith(
            "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [A]."
        )
    else:
        raise AssertionError("no node should fit")

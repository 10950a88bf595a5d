"""Filters and scores, table-driven over the built-in policies as the
plugin manager registers them."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.default_scheduler import register_scheduler_plugins
from shoal.plugins.scheduler.framework import (
    FitError,
    Framework,
    fit_error_message,
    num_feasible_nodes_to_find,
)
from shoal.registry import Registry

from tests.scheduler.builders import node, pod


def builtin_plugins() -> list[tuple[str, Any]]:
    registry: Registry[Any] = Registry("scheduler plugin")
    register_scheduler_plugins(registry)
    return registry.items()


def cluster(nodes: list[Any], bound: list[Any] = ()) -> SchedulerCache:  # type: ignore[assignment]
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    for p in bound:
        cache.set_pod(p)
    return cache


def reasons_for(candidate: Any, nodes: list[Any], bound: list[Any] = ()) -> dict[str, str | None]:  # type: ignore[assignment]
    """node name -> first failing reason (None: fits)."""
    cache = cluster(nodes, bound)
    framework = Framework(builtin_plugins())
    result = {}
    for info in cache.node_list:
        state = {"pod_info": PodInfo.of(candidate), "cache": cache}
        feasible, reasons = framework.find_feasible(candidate, [info], state)
        result[info.name] = None if feasible else ", ".join(sorted(reasons))
    return result


AFFINITY_IN = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
            ]
        }
    }
}


def _affinity(op: str, values: list[str] | None = None) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": "gen", "operator": op}
    if values is not None:
        expression["values"] = values
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }


def _pod_affinity(kind: str, app: str, key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


NOT_SELECTED = "node(s) didn't match Pod's node affinity/selector"

FILTER_CASES = [
    # (description, pod, nodes, bound pods, expected reasons by node)
    ("ready node fits", pod("p"), [node("a")], [], {"a": None}),
    ("not ready", pod("p"), [node("a", ready="False")], [], {"a": "node(s) were not ready"}),
    ("ready unknown", pod("p"), [node("a", ready="Unknown")], [], {"a": "node(s) were not ready"}),
    (
        "cordoned",
        pod("p"),
        [node("a", unschedulable=True)],
        [],
        {"a": "node(s) were unschedulable"},
    ),
    (
        "cordoned but tolerated",
        pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]),
        [node("a", unschedulable=True)],
        [],
        {"a": None},
    ),
    ("cpu", pod("p", cpu="3"), [node("a", cpu="2")], [], {"a": "Insufficient cpu"}),
    (
        "cpu and memory both",
        pod("p", cpu="3", memory="9Gi"),
        [node("a", cpu="2")],
        [],
        {"a": "Insufficient cpu, Insufficient memory"},
    ),
    (
        "bound pods count against allocatable",
        pod("p", cpu="1500m"),
        [node("a", cpu="2")],
        [pod("q", cpu="1", node_name="a")],
        {"a": "Insufficient cpu"},
    ),
    (
        "finished pods do not count",
        pod("p", cpu="1500m"),
        [node("a", cpu="2")],
        [pod("q", cpu="1", node_name="a", restartPolicy="Never")],
        {"a": None},
    ),
    (
        "pods count",
        pod("p"),
        [node("a", pods="1")],
        [pod("q", node_name="a")],
        {"a": "Too many pods"},
    ),
    (
        "nodeSelector",
        pod("p", nodeSelector={"disk": "ssd"}),
        [node("a", labels={"disk": "ssd"}), node("b", labels={"disk": "hdd"})],
        [],
        {"a": None, "b": NOT_SELECTED},
    ),
    (
        "affinity In",
        pod("p", affinity=AFFINITY_IN),
        [node("a", labels={"disk": "ssd"}), node("b")],
        [],
        {"a": None, "b": NOT_SELECTED},
    ),
    (
        "affinity NotIn",
        pod("p", affinity=_affinity("NotIn", ["1"])),
        [node("a", labels={"gen": "1"}), node("b", labels={"gen": "2"}), node("c")],
        [],
        {"a": NOT_SELECTED, "b": None, "c": None},
    ),
    (
        "affinity Exists / DoesNotExist",
        pod("p", affinity=_affinity("DoesNotExist")),
        [node("a", labels={"gen": "1"}), node("b")],
        [],
        {"a": NOT_SELECTED, "b": None},
    ),
    (
        "affinity Gt",
        pod("p", affinity=_affinity("Gt", ["2"])),
        [
            node("a", labels={"gen": "3"}),
            node("b", labels={"gen": "2"}),
            node("c", labels={"gen": "x"}),
        ],
        [],
        {"a": None, "b": NOT_SELECTED, "c": NOT_SELECTED},
    ),
    (
        "affinity Lt",
        pod("p", affinity=_affinity("Lt", ["2"])),
        [node("a", labels={"gen": "1"}), node("b", labels={"gen": "2"})],
        [],
        {"a": None, "b": NOT_SELECTED},
    ),
    (
        "untolerated taint",
        pod("p"),
        [node("a", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])],
        [],
        {"a": "node(s) had untolerated taint {dedicated: gpu}"},
    ),
    (
        "tolerated taint",
        pod("p", tolerations=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        [node("a", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])],
        [],
        {"a": None},
    ),
    (
        "NoExecute is filtered, PreferNoSchedule is not",
        pod("p"),
        [
            node("a", taints=[{"key": "k", "value": "v", "effect": "NoExecute"}]),
            node("b", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]),
        ],
        [],
        {"a": "node(s) had untolerated taint {k: v}", "b": None},
    ),
    (
        "host port taken",
        pod("p", host_port=8080),
        [node("a"), node("b")],
        [pod("q", host_port=8080, node_name="a")],
        {"a": "node(s) didn't have free ports for the requested pod ports", "b": None},
    ),
    (
        "pod affinity: with its kind",
        pod("p", affinity=_pod_affinity("podAffinity", "db")),
        [node("a"), node("b")],
        [pod("db", labels={"app": "db"}, node_name="b")],
        {"a": "node(s) didn't match pod affinity rules", "b": None},
    ),
    (
        "pod affinity: first of its group goes anywhere",
        pod("p", labels={"app": "web"}, affinity=_pod_affinity("podAffinity", "web")),
        [node("a"), node("b")],
        [],
        {"a": None, "b": None},
    ),
    (
        "pod affinity by zone",
        pod("p", affinity=_pod_affinity("podAffinity", "db", "zone")),
        [
            node("a", labels={"zone": "1"}),
            node("b", labels={"zone": "1"}),
            node("c", labels={"zone": "2"}),
        ],
        [pod("db", labels={"app": "db"}, node_name="a")],
        {"a": None, "b": None, "c": "node(s) didn't match pod affinity rules"},
    ),
    (
        "pod anti-affinity",
        pod("p", affinity=_pod_affinity("podAntiAffinity", "web")),
        [node("a"), node("b")],
        [pod("w", labels={"app": "web"}, node_name="a")],
        {"a": "node(s) didn't match pod anti-affinity rules", "b": None},
    ),
    (
        "existing pods' anti-affinity is symmetric",
        pod("p", labels={"app": "web"}),
        [node("a"), node("b")],
        [
            pod(
                "w",
                labels={"app": "x"},
                node_name="a",
                affinity=_pod_affinity("podAntiAffinity", "web"),
            )
        ],
        {"a": "node(s) didn't satisfy existing pods anti-affinity rules", "b": None},
    ),
]


@pytest.mark.parametrize(
    ("candidate", "nodes", "bound", "expected"),
    [case[1:] for case in FILTER_CASES],
    ids=[case[0] for case in FILTER_CASES],
)
def test_filters(
    candidate: Any, nodes: list[Any], bound: list[Any], expected: dict[str, Any]
) -> None:
    for p in bound:
        if p.spec.restart_policy == "Never":
            p.status.phase = "Succeeded"
    assert reasons_for(candidate, nodes, bound) == expected


def test_fit_error_message_reads_like_kubernetes() -> None:
    cache = cluster(
        [
            node("a", cpu="1"),
            node("b", cpu="1"),
            node("c", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        ]
    )
    with pytest.raises(FitError) as err:
        Framework(builtin_plugins()).schedule(pod("web", cpu="2"), cache)
    assert str(err.value) == (
        "0/3 nodes are available: 2 Insufficient cpu, "
        "1 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/3 nodes are available: 2 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling."
    )
    assert (
        fit_error_message(0, Counter())
        == "0/0 nodes are available: no nodes available to schedule pods."
    )


def best_node(candidate: Any, nodes: list[Any], bound: list[Any] = (), seed: int = 0) -> str:  # type: ignore[assignment]
    framework = Framework(builtin_plugins(), rng=random.Random(seed))
    return framework.schedule(candidate, cluster(nodes, bound))


def _preferred_node(weight: int, value: str) -> dict[str, Any]:
    term = {"matchExpressions": [{"key": "disk", "operator": "In", "values": [value]}]}
    return {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": weight, "preference": term}
            ]
        }
    }


def _preferred_pod(kind: str, app: str) -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}
    return {
        kind: {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": term}
            ]
        }
    }


SCORE_CASES = [
    (
        "least allocated",
        pod("p", cpu="1"),
        [node("a"), node("b")],
        [pod("q", cpu="3", memory="6Gi", node_name="a")],
        "b",
    ),
    (
        "balanced allocation",
        pod("p", cpu="1", memory="1Gi"),
        [node("a", cpu="4", memory="8Gi"), node("b", cpu="4", memory="8Gi")],
        [pod("q", cpu="2", node_name="a"), pod("r", cpu="1", memory="2Gi", node_name="b")],
        "b",
    ),
    (
        "spread one owner's pods",
        pod("p", owner_uid="rs-1"),
        [node("a"), node("b")],
        [
            pod("q", owner_uid="rs-1", node_name="b"),
            pod("r", node_name="a"),
            pod("s", node_name="a"),
        ],
        "a",
    ),
    (
        "preferred node affinity",
        pod("p", affinity=_preferred_node(50, "ssd")),
        [node("a"), node("b", labels={"disk": "ssd"})],
        [],
        "b",
    ),
    (
        "preferred pod affinity",
        pod("p", affinity=_preferred_pod("podAffinity", "db")),
        [node("a"), node("b")],
        [pod("db", labels={"app": "db"}, node_name="a")],
        "a",
    ),
    (
        "preferred pod anti-affinity",
        pod("p", affinity=_preferred_pod("podAntiAffinity", "db")),
        [node("a"), node("b")],
        [pod("db", labels={"app": "db"}, node_name="b")],
        "a",
    ),
    (
        "PreferNoSchedule taint",
        pod("p"),
        [node("a", taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]), node("b")],
        [],
        "b",
    ),
]


@pytest.mark.parametrize(
    ("candidate", "nodes", "bound", "expected"),
    [case[1:] for case in SCORE_CASES],
    ids=[case[0] for case in SCORE_CASES],
)
def test_scores_pick_the_expected_node(
    candidate: Any, nodes: list[Any], bound: list[Any], expected: str
) -> None:
    # Any tie-break seed must agree: the score, not luck, decides.
    assert {best_node(candidate, nodes, bound, seed) for seed in range(8)} == {expected}


def test_assumed_pods_count_before_the_informer_sees_them() -> None:
    cache = cluster([node("a", cpu="1"), node("b", cpu="1")])
    framework = Framework(builtin_plugins())
    first = framework.schedule(pod("p1", cpu="1"), cache)
    cache.assume_pod(PodInfo.of(pod("p1", cpu="1")), first)
    second = framework.schedule(pod("p2", cpu="1"), cache)
    assert {first, second} == {"a", "b"}
    cache.forget_pod("default/p1")
    assert cache.nodes[first].req_cpu == 0


def test_third_party_filter_and_score_are_called() -> None:
    class OnlyEven:
        def filter(self, pod: Any, node: Any, state: dict[str, Any]) -> str | None:
            return None if int(node.metadata.name[-1]) % 2 == 0 else "node(s) were odd"

    class PreferHigh:
        weight = 10

        def score(self, pod: Any, node: Any, state: dict[str, Any]) -> int:
            return int(node.metadata.name[-1]) * 10

    framework = Framework([*builtin_plugins(), ("even", OnlyEven()), ("high", PreferHigh())])
    cache = cluster([node(f"n{i}") for i in range(6)])
    assert framework.schedule(pod("p"), cache) == "n4"
    with pytest.raises(FitError, match="1 node\\(s\\) were odd"):
        framework.schedule(pod("p"), cluster([node("n1")]))


@pytest.mark.parametrize(
    ("total", "expected"), [(50, 50), (99, 99), (100, 100), (500, 230), (5000, 500), (20000, 1000)]
)
def test_nodes_to_find_is_adaptive(total: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(total) == expected

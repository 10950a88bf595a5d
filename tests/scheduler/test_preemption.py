"""Preemption's decisions over a hand-built scheduler cache: which victims
on a node, which node, what budgets weigh, and who may not preempt."""

from __future__ import annotations

from typing import Any

import pytest
from shoal.manifest import from_dict
from shoal.plugins.scheduler.cache import PodInfo, SchedulerCache
from shoal.plugins.scheduler.framework import FitError, Framework
from shoal.plugins.scheduler.preemption import (
    NOT_HELPFUL,
    BudgetIndex,
    Candidate,
    pick_one_node,
    select_victims_on_node,
    split_by_pdb_violation,
)

from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import builtin_plugins, cluster


def prio(name: str, priority: int, cpu: str = "1", node_name: str = "", **kw: Any) -> Any:
    p = pod(name, cpu=cpu, node_name=node_name, **kw)
    p.spec.priority = priority
    return p


def budget(name: str, app: str, allowed: int, disrupted: tuple[str, ...] = ()) -> Any:
    pdb = from_dict({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": app}}, "minAvailable": 1},
    })  # fmt: skip
    pdb.status.disruptions_allowed = allowed
    for victim in disrupted:
        pdb.status.disrupted_pods[victim].seconds = 1
    return pdb


def schedule(preemptor: Any, cache: SchedulerCache) -> tuple[str | None, dict[str, Any], str]:
    """(node chosen or None, the cycle state, the FitError message)."""
    state: dict[str, Any] = {}
    try:
        return Framework(builtin_plugins()).schedule(preemptor, cache, None, state), state, ""
    except FitError as err:
        return None, state, str(err)


def test_the_fewest_least_important_pods_are_victims() -> None:
    cache = cluster(
        [node("n1", cpu="4")],
        [
            prio("low", 1, node_name="n1"),
            prio("mid", 5, node_name="n1"),
            prio("upper", 7, node_name="n1"),
            prio("vip", 100, node_name="n1"),
        ],
    )
    preemptor = prio("new", 10, cpu="2")
    state = {"pod_info": PodInfo.of(preemptor), "cache": cache}
    framework = Framework(builtin_plugins())
    framework.run_pre_filter(preemptor, state)
    found = select_victims_on_node(preemptor, cache.nodes["n1"], state, framework, BudgetIndex([]))
    assert isinstance(found, Candidate)
    # "upper" (7) is tried back first and fits; "mid" and "low" must go.
    assert [v.pod.metadata.name for v in found.victims] == ["mid", "low"]
    assert found.pdb_violations == 0
    # The dry run worked on a copy: the cache still holds every pod.
    assert len(cache.nodes["n1"].pods) == 4
    assert cache.nodes["n1"].req_cpu == 4000


def test_a_pod_of_equal_or_higher_priority_is_never_a_victim() -> None:
    cache = cluster([node("n1", cpu="2")], [prio("peer", 10, cpu="2", node_name="n1")])
    chosen, state, message = schedule(prio("new", 10, cpu="2"), cache)
    assert chosen is None and "preemption" not in state
    assert message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )


def test_preemption_policy_never_does_not_preempt() -> None:
    cache = cluster([node("n1", cpu="2")], [prio("low", 0, cpu="2", node_name="n1")])
    chosen, state, message = schedule(prio("new", 10, cpu="2", preemptionPolicy="Never"), cache)
    assert chosen is None and "preemption" not in state
    assert message.endswith("Insufficient cpu. not eligible due to preemptionPolicy=Never.")


def test_a_taint_is_not_helped_by_preemption() -> None:
    taint = [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
    cache = cluster([node("n1", cpu="2", taints=taint)], [prio("low", 0, "2", "n1")])
    chosen, state, message = schedule(prio("new", 10, cpu="2"), cache)
    assert chosen is None and "preemption" not in state
    assert message.endswith(f"preemption: 0/1 nodes are available: 1 {NOT_HELPFUL}.")


def test_budgets_count_violations_in_order() -> None:
    pods = [PodInfo.of(prio(f"web-{i}", 0, labels={"app": "web"})) for i in range(3)]
    pods.append(PodInfo.of(prio("other", 0, labels={"app": "other"})))
    violating, fine = split_by_pdb_violation(pods, BudgetIndex([budget("web", "web", 1)]))
    assert [p.pod.metadata.name for p in fine] == ["web-0", "other"]
    assert [p.pod.metadata.name for p in violating] == ["web-1", "web-2"]
    # A pod the budget already counts as disrupted costs it nothing more.
    index = BudgetIndex([budget("web", "web", 0, ("web-0",))])
    violating, _ = split_by_pdb_violation(pods[:2], index)
    assert [p.pod.metadata.name for p in violating] == ["web-1"]


def test_a_budget_steers_preemption_to_the_node_without_violation() -> None:
    for protected in ("n1", "n2"):  # whichever node holds the protected pod
        other = "n2" if protected == "n1" else "n1"
        cache = cluster(
            [node("n1", cpu="2"), node("n2", cpu="2")],
            [
                prio("guarded", 0, "2", protected, labels={"app": "db"}),
                prio("free", 0, "2", other, labels={"app": "batch"}),
            ],
        )
        cache.set_pdb(budget("db", "db", 0))
        chosen, state, _ = schedule(prio("new", 10, cpu="2"), cache)
        assert chosen is None
        assert state["preemption"].node == other
        assert [v.pod.metadata.name for v in state["preemption"].victims] == ["free"]


def test_a_violation_is_accepted_when_nothing_else_helps() -> None:
    cache = cluster([node("n1", cpu="2")], [prio("guarded", 0, "2", "n1", labels={"app": "db"})])
    cache.set_pdb(budget("db", "db", 0))
    _, state, _ = schedule(prio("new", 10, cpu="2"), cache)
    assert state["preemption"].node == "n1"
    assert state["preemption"].pdb_violations == 1


def victims(*priorities: int) -> list[PodInfo]:
    return [PodInfo.of(prio(f"v{i}", p)) for i, p in enumerate(priorities)]


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        # fewest PDB violations first, whatever the priorities
        ([Candidate("a", victims(1), 1), Candidate("b", victims(50, 50), 0)], "b"),
        # then the lowest highest-victim priority
        ([Candidate("a", victims(5, 1)), Candidate("b", victims(4, 4, 4))], "b"),
        # then the lowest sum of priorities
        ([Candidate("a", victims(5, 3)), Candidate("b", victims(5, 1, 1))], "b"),
        # then the fewest victims
        ([Candidate("a", victims(5, 0, 0)), Candidate("b", victims(5, 0))], "b"),
        # a tie: the first found
        ([Candidate("a", victims(5)), Candidate("b", victims(5))], "a"),
    ],
)
def test_pick_one_node(candidates: list[Candidate], expected: str) -> None:
    chosen = pick_one_node(candidates)
    assert chosen is not None and chosen.node == expected


def test_a_nominated_pod_holds_its_room_against_lower_priority_pods() -> None:
    cache = cluster([node("n1", cpu="2"), node("n2", cpu="1")])
    cache.nominate(prio("waiting", 10, cpu="2"), "n1")
    assert cache.nominated_node("default/waiting") == "n1"
    lower, _, message = schedule(prio("lower", 5, cpu="1"), cache)
    assert lower == "n2"  # n1's room is held
    cache.set_pod(prio("filler", 0, "1", "n2"))
    lower, _, message = schedule(prio("lower", 5, cpu="1"), cache)
    assert lower is None and message.startswith("0/2 nodes are available: 2 Insufficient cpu.")
    higher, _, _ = schedule(prio("higher", 20, cpu="1"), cache)
    assert higher == "n1"  # a more important pod is not held back
    cache.unnominate("default/waiting")
    assert schedule(prio("lower", 5, cpu="1"), cache)[0] == "n1"


def test_a_preemptor_waits_while_its_victims_terminate() -> None:
    victim = prio("low", 0, "2", "n1")
    victim.metadata.deletion_timestamp.seconds = 1
    cache = cluster([node("n1", cpu="2")], [victim])
    preemptor = prio("new", 10, cpu="2")
    cache.nominate(preemptor, "n1")
    chosen, state, message = schedule(preemptor, cache)
    assert chosen is None and "preemption" not in state
    assert message.endswith("not eligible due to a terminating pod on the nominated node.")


def test_no_room_anywhere_clears_an_earlier_nomination() -> None:
    cache = cluster([node("n1", cpu="2")], [prio("peer", 10, "2", "n1")])
    preemptor = prio("new", 10, cpu="2")
    _, state, _ = schedule(preemptor, cache)
    assert state.get("preemption_cleared") is True
    # while a preemption that found its victims leaves the nomination to be set
    cache = cluster([node("n1", cpu="2")], [prio("low", 0, "2", "n1")])
    _, state, _ = schedule(preemptor, cache)
    assert "preemption_cleared" not in state and state["preemption"].node == "n1"


SPREAD = [
    {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
    }
]


def test_preemption_sees_the_spread_counts_without_its_victims() -> None:
    # n1 has two low-priority web pods (skew too high there); n2 has room
    # for no web pod: its cpu is taken by a pod more important than ours.
    web = {"app": "web"}
    cache = cluster(
        [node("n1", cpu="2"), node("n2", cpu="2")],
        [
            prio("w1", 0, "", "n1", labels=web),
            prio("w2", 0, "", "n1", labels=web),
            prio("vip", 100, "2", "n2"),
        ],
    )
    preemptor = prio("new", 10, cpu="1", labels=web, topologySpreadConstraints=SPREAD)
    chosen, state, _ = schedule(preemptor, cache)
    assert chosen is None
    # Deleting one web pod leaves n1 at 1 + 1 - 0 = 2 > maxSkew: both go.
    assert state["preemption"].node == "n1"
    assert sorted(v.pod.metadata.name for v in state["preemption"].victims) == ["w1", "w2"]
    # The dry runs put the counts back as they were.
    assert state["spread"].counts[0] == {"n1": 2, "n2": 0}


def _anti_affinity_to(app: str) -> dict[str, Any]:
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {"app": app}},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }


def test_a_pod_shunning_a_lower_pod_on_the_only_fitting_node_preempts_it() -> None:
    """InterPodAffinity's remove_pod: the dry run sees the victim gone."""
    cache = cluster(
        [node("n1", cpu="4"), node("n2", cpu="4", taints=[{"key": "x", "effect": "NoSchedule"}])],
        [prio("low", 1, node_name="n1", labels={"app": "low"}), prio("keep", 1, node_name="n1")],
    )
    preemptor = prio("new", 10, affinity=_anti_affinity_to("low"))
    chosen, state, message = schedule(preemptor, cache)
    assert chosen is None, message
    best = state["preemption"]
    assert best.node == "n1"
    assert [v.pod.metadata.name for v in best.victims] == ["low"]  # "keep" is spared


def test_a_lower_pod_shunning_the_preemptor_is_preempted() -> None:
    """The placed pod's anti-affinity (symmetric) goes with it."""
    cache = cluster(
        [node("n1", cpu="4")],
        [
            prio("low", 1, node_name="n1", affinity=_anti_affinity_to("web")),
            prio("keep", 1, node_name="n1"),
        ],
    )
    chosen, state, message = schedule(prio("new", 10, labels={"app": "web"}), cache)
    assert chosen is None
    assert [v.pod.metadata.name for v in state["preemption"].victims] == ["low"]
    # ... and a pod of the victim's priority could not preempt it.
    chosen, state, message = schedule(prio("peer", 1, labels={"app": "web"}), cache)
    assert chosen is None and "preemption" not in state
    assert "didn't satisfy existing pods anti-affinity rules" in message


def test_the_dry_run_leaves_the_affinity_counts_as_they_were() -> None:
    """Every node's dry run starts from the same counts (add_pod restores)."""
    nodes = [node(f"n{i}", cpu="4") for i in range(3)]
    bound = [prio(f"low{i}", 1, node_name=f"n{i}", labels={"app": "low"}) for i in range(3)]
    cache = cluster(nodes, bound)
    preemptor = prio("new", 10, affinity=_anti_affinity_to("low"))
    chosen, state, _ = schedule(preemptor, cache)
    assert chosen is None and len(state["preemption"].victims) == 1
    counts = state["interpod"].shunned_domains[0]
    assert counts == {"n0": 1, "n1": 1, "n2": 1}

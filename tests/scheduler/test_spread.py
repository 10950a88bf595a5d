"""PodTopologySpread over a hand-built scheduler cache: domain counts, the
skew a placement would make, the filter's and the score's choices."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shoal.plugins.scheduler.spread import (
    Constraint,
    constraints_of,
    count_domains,
    skew_minimum,
)

from tests.scheduler.builders import node, pod
from tests.scheduler.test_policies import best_node, cluster, reasons_for

ZONES = {"n1": "a", "n2": "a", "n3": "b", "n4": "c"}


def zoned() -> list[Any]:
    return [node(name, labels={"zone": zone}) for name, zone in ZONES.items()]


def spread(key: str = "zone", skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> Any:
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }


def web(name: str, node_name: str = "", *constraints: dict[str, Any], **labels: str) -> Any:
    body: dict[str, Any] = {"topologySpreadConstraints": list(constraints)} if constraints else {}
    return pod(name, node_name=node_name, labels={"app": "web", **labels}, **body)


def test_domains_are_counted_with_empty_ones_present() -> None:
    bound = [web("w1", "n1"), web("w2", "n2"), web("w3", "n3"), pod("other", node_name="n4")]
    cache = cluster(zoned(), bound)
    candidate = web("new", "", spread())
    constraints = constraints_of(candidate, "DoNotSchedule")
    counts = count_domains(candidate, constraints, cache.node_list)
    assert counts == [Counter({"a": 2, "b": 1, "c": 0})]
    assert skew_minimum(constraints[0], counts[0]) == 0


def test_min_domains_counts_missing_domains_as_zero() -> None:
    raw = web("new", "", spread(minDomains=4)).spec.topology_spread_constraints[0]
    constraint = Constraint.of(raw, web("new"))
    assert skew_minimum(constraint, Counter({"a": 2, "b": 1, "c": 1})) == 0
    constraint.min_domains = 3
    assert skew_minimum(constraint, Counter({"a": 2, "b": 1, "c": 1})) == 1


def test_do_not_schedule_filters_the_domains_that_would_skew() -> None:
    bound = [web("w1", "n1"), web("w2", "n3"), web("w3", "n4")]
    reasons = reasons_for(web("new", "", spread()), zoned(), bound)
    # zone a has 1, b 1, c 1: anywhere is skew 1.
    assert set(reasons.values()) == {None}
    bound.append(web("w4", "n2"))  # zone a: 2
    reasons = reasons_for(web("new", "", spread()), zoned(), bound)
    assert reasons == {
        "n1": "node(s) didn't match pod topology spread constraints",
        "n2": "node(s) didn't match pod topology spread constraints",
        "n3": None,
        "n4": None,
    }


def test_pods_of_other_namespaces_or_labels_do_not_count() -> None:
    bound = [
        web("w1", "n3"),
        pod("x", node_name="n1", namespace="elsewhere", labels={"app": "web"}),
        pod("y", node_name="n1", labels={"app": "db"}),
    ]
    reasons = reasons_for(web("new", "", spread()), zoned(), bound)
    assert reasons["n3"] == "node(s) didn't match pod topology spread constraints"
    assert reasons["n1"] is None


def test_a_node_without_the_key_is_refused() -> None:
    nodes = [*zoned(), node("bare")]
    reasons = reasons_for(web("new", "", spread()), nodes)
    assert reasons["bare"] == (
        "node(s) didn't match pod topology spread constraints (missing required label)"
    )


def test_match_label_keys_narrow_the_selector_to_the_pods_revision() -> None:
    constraint = spread(matchLabelKeys=["rev"])
    bound = [web("old1", "n1", rev="1"), web("old2", "n2", rev="1"), web("new1", "n3", rev="2")]
    reasons = reasons_for(web("new2", "", constraint, rev="2"), zoned(), bound)
    # Only revision 2 counts: b has 1, a and c have 0.
    assert reasons["n3"] == "node(s) didn't match pod topology spread constraints"
    assert reasons["n1"] is None and reasons["n4"] is None


def test_node_affinity_policy_honor_leaves_excluded_nodes_out_of_the_count() -> None:
    bound = [web("w1", "n1"), web("w2", "n3")]
    selector = {"zone": "a"}
    # Honoured, zone c (node n4) is out, and a vs b is 1 vs 1: a may take one more.
    candidate = pod(
        "new",
        labels={"app": "web"},
        nodeSelector=selector,
        topologySpreadConstraints=[spread()],
    )
    assert reasons_for(candidate, zoned(), bound)["n2"] is None
    ignored = pod(
        "new",
        labels={"app": "web"},
        nodeSelector=selector,
        topologySpreadConstraints=[spread(nodeAffinityPolicy="Ignore")],
    )
    assert reasons_for(ignored, zoned(), bound)["n2"] == (
        "node(s) didn't match pod topology spread constraints"
    )


def test_schedule_anyway_prefers_the_emptiest_domain() -> None:
    # n4 (zone c) is the busiest node, but has no web pod.
    bound = [
        web("w1", "n1"),
        web("w2", "n2"),
        web("w3", "n3"),
        pod("busy", cpu="1", node_name="n4"),
    ]
    assert best_node(web("new"), zoned(), bound) != "n4"
    candidate = web("new", "", spread(when="ScheduleAnyway"))
    assert best_node(candidate, zoned(), bound) == "n4"
    candidate = web("new", "", spread("kubernetes.io/hostname", when="ScheduleAnyway"))
    assert best_node(candidate, zoned(), bound) == "n4"

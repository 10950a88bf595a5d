"""Preemption decision time at 5,000 nodes, beside the plain scheduling
decision on the same cache in the same run (issue 16).

The scheduler's cache is built directly (no agents, no API server): 5,000
NodeInfos of 4 cpu / 32 Gi, each full with 8 pods of 500m at priorities
0..7, half of those pods covered by one of 50 PodDisruptionBudgets that
allow one disruption each. Timed, per decision (median of the runs):

- **plain**: a best-effort pod that fits every node (filter until enough
  nodes fit, score them, pick one) - the everyday decision;
- **no fit**: a pod of 1 cpu with ``preemptionPolicy: Never`` - every node
  filtered and refused, no preemption;
- **preemption**: the same pod at priority 100 - every node refused, then
  DefaultPreemption's dry run over 10% of the nodes (500) and the choice of
  a node and its victims (the deletes through the API are not timed);
- **daemon pod** and **daemon preemption**: the plain pod and the urgent one
  pinned to one node as a DaemonSet pins its pods (required node affinity
  ``matchFields: metadata.name``), which NodeAffinity's PreFilterResult
  narrows to that node.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from shoal.api.v1 import core_pb2, policy_pb2
from shoal.plugin_manager import scheduler_plugins
from shoal.plugins.scheduler.cache import SchedulerCache
from shoal.plugins.scheduler.framework import FitError, Framework

NODES = 5_000
PODS_PER_NODE = 8
BUDGETS = 50
RUNS = 15


def make_node(name: str) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = name
    node.metadata.labels["kubernetes.io/hostname"] = name
    for field in (node.status.capacity, node.status.allocatable):
        field.update({"cpu": "4", "memory": "32Gi", "pods": "110"})
    node.status.conditions.add(type="Ready", status="True")
    return node


def make_pod(name: str, cpu: str = "", priority: int = 0, node: str = "") -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, "default"
    container = pod.spec.containers.add(name="main", image="registry.k8s.io/pause:3.9")
    if cpu:
        container.resources.requests["cpu"] = cpu
    pod.spec.priority = priority
    pod.spec.node_name = node
    return pod


def pinned(pod: core_pb2.Pod, node: str) -> core_pb2.Pod:
    affinity = pod.spec.affinity.node_affinity
    term = affinity.required_during_scheduling_ignored_during_execution.node_selector_terms.add()
    term.match_fields.add(key="metadata.name", operator="In", values=[node])
    return pod


def make_budget(i: int) -> policy_pb2.PodDisruptionBudget:
    pdb = policy_pb2.PodDisruptionBudget()
    pdb.metadata.name, pdb.metadata.namespace = f"group-{i}", "default"
    pdb.spec.selector.match_labels["group"] = str(i)
    pdb.status.disruptions_allowed = 1
    return pdb


def full_cache() -> SchedulerCache:
    cache = SchedulerCache()
    for n in range(NODES):
        name = f"node-{n}"
        cache.set_node(make_node(name))
        for p in range(PODS_PER_NODE):
            pod = make_pod(f"{name}-{p}", "500m", p, name)
            if p % 2:
                pod.metadata.labels["group"] = str((n * PODS_PER_NODE + p) % BUDGETS)
            cache.set_pod(pod)
    for i in range(BUDGETS):
        cache.set_pdb(make_budget(i))
    return cache


def decision_ms(framework: Framework, pod: Any, cache: SchedulerCache) -> tuple[float, Any]:
    """Median milliseconds of one decision, and the last outcome."""
    times, outcome = [], None
    for _ in range(RUNS):
        state: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            outcome = framework.schedule(pod, cache, None, state)
        except FitError:
            outcome = state.get("preemption")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), outcome


def run() -> dict[str, Any]:
    cache = full_cache()
    framework = Framework(scheduler_plugins().items())
    plain_ms, _ = decision_ms(framework, make_pod("plain"), cache)
    polite = make_pod("polite", "1", 100)
    polite.spec.preemption_policy = "Never"
    no_fit_ms, _ = decision_ms(framework, polite, cache)
    preempt_ms, chosen = decision_ms(framework, make_pod("urgent", "1", 100), cache)
    assert chosen is not None and len(chosen.victims) == 2, chosen
    daemon_ms, placed = decision_ms(framework, pinned(make_pod("ds"), "node-4321"), cache)
    assert placed == "node-4321", placed
    pinned_urgent = pinned(make_pod("ds-urgent", "1", 100), "node-4321")
    daemon_preempt_ms, daemon_chosen = decision_ms(framework, pinned_urgent, cache)
    assert daemon_chosen is not None and daemon_chosen.node == "node-4321", daemon_chosen
    figures = {
        "nodes": NODES,
        "pods": NODES * PODS_PER_NODE,
        "plain_decision_ms": round(plain_ms, 1),
        "no_fit_decision_ms": round(no_fit_ms, 1),
        "preemption_decision_ms": round(preempt_ms, 1),
        "preemption_over_plain": round(preempt_ms / plain_ms, 1),
        "victims": sorted(v.priority for v in chosen.victims),
        "pdb_violations": chosen.pdb_violations,
        "daemon_pod_decision_ms": round(daemon_ms, 2),
        "daemon_pod_preemption_decision_ms": round(daemon_preempt_ms, 2),
    }
    for key, value in figures.items():
        print(f"   {key}: {value}")
    return figures

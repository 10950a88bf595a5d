"""Pure parts of the DaemonSet controller (Kubernetes' ``daemon/util`` and
``daemon/update.go``): which nodes should run a daemon pod, the pod made for
a node, and the rolling update's choice of pods to delete and nodes to surge
onto. No API calls here, so the arithmetic is tested on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.struct_pb2 import Value
from shoal.api.v1 import core_pb2
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.history import HASH_LABEL
from shoal.plugins.scheduler.matching import node_selector_matches, untolerated

TEMPLATE_GENERATION = "pod-template-generation"
# The tolerations the DaemonSet controller gives every daemon pod, so a
# node's trouble never evicts (or keeps out) its log shipper or proxy.
DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", "NoSchedule")


def add_daemon_tolerations(spec: Any) -> None:
    wanted = list(DAEMON_TOLERATIONS)
    if spec.host_network:
        wanted.append(HOST_NETWORK_TOLERATION)
    for key, effect in wanted:
        existing = [t for t in spec.tolerations if t.key == key and t.effect == effect]
        if existing:
            for t in existing:
                t.operator, t.value = "Exists", ""
                t.ClearField("toleration_seconds")
            continue
        spec.tolerations.add(key=key, operator="Exists", effect=effect)


def daemon_pod_spec(ds: Any) -> Any:
    """The template's pod spec with the daemon tolerations added."""
    spec = core_pb2.PodSpec()
    spec.CopyFrom(ds.spec.template.spec)
    add_daemon_tolerations(spec)
    return spec


@dataclass(frozen=True)
class Placement:
    should_run: bool  # a new daemon pod may go there
    should_continue: bool  # a daemon pod already there may stay


def placement(spec: Any, node: Any) -> Placement:
    """Kubernetes' ``NodeShouldRunDaemonPod`` for a daemon pod spec (with
    the daemon tolerations): node selector and required node affinity,
    then taints (NoSchedule keeps new pods out, NoExecute evicts)."""
    labels = node.metadata.labels
    if any(labels.get(k) != v for k, v in spec.node_selector.items()):
        return Placement(False, False)
    affinity = spec.affinity.node_affinity
    if affinity.HasField("required_during_scheduling_ignored_during_execution"):
        required = affinity.required_during_scheduling_ignored_during_execution
        if not node_selector_matches(required, node):
            return Placement(False, False)
    taints = node.spec.taints
    evicting = untolerated(taints, spec.tolerations, ("NoExecute",))
    if evicting is not None:
        return Placement(False, False)
    blocking = untolerated(taints, spec.tolerations, ("NoSchedule",))
    return Placement(blocking is None, True)


def with_node_affinity(spec: Any, node_name: str) -> None:
    """Pin a daemon pod to ``node_name`` through required node affinity
    (``metadata.name In [node]``), as Kubernetes' ``ReplaceDaemonSetPod
    NodeNameNodeAffinity``: the scheduler binds it, honouring everything else."""
    required = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    pin = core_pb2.NodeSelectorRequirement(key="metadata.name", operator="In", values=[node_name])
    if not required.node_selector_terms:
        required.node_selector_terms.add().match_fields.append(pin)
        return
    for term in required.node_selector_terms:
        del term.match_fields[:]
        term.match_fields.append(pin)


def target_node(pod: Any) -> str:
    """The node a daemon pod is for: where it runs, or where its affinity pins it."""
    if pod.spec.node_name:
        return str(pod.spec.node_name)
    required = pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution
    for term in required.node_selector_terms:
        for req in term.match_fields:
            if req.key == "metadata.name" and req.operator == "In" and len(req.values) == 1:
                return str(req.values[0])
    return ""


def new_pod(ds: Any, node_name: str, revision_hash: str) -> Any:
    template = ds.spec.template
    pod = core_pb2.Pod(spec=daemon_pod_spec(ds))
    with_node_affinity(pod.spec, node_name)
    m = pod.metadata
    m.generate_name = f"{ds.metadata.name}-"
    m.namespace = ds.metadata.namespace
    m.labels.update(template.metadata.labels)
    m.labels[HASH_LABEL] = revision_hash
    m.labels[TEMPLATE_GENERATION] = str(ds.metadata.generation)
    m.annotations.update(template.metadata.annotations)
    m.finalizers.extend(template.metadata.finalizers)
    m.owner_references.append(podutil.controller_ref(ds))
    return pod


# -- rolling update ------------------------------------------------------------------


def scaled(value: Value, total: int) -> int:
    """An IntOrString against ``total``, percentages rounded up."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return max(int(value.number_value), 0)
    text = value.string_value if kind == "string_value" else ""
    if text.endswith("%") and text[:-1].isdigit():
        return math.ceil(int(text[:-1]) * total / 100)
    return 0


def surge_and_unavailable(ds: Any, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in nodes; unavailable is at least one
    when surge is zero, so a rollout always moves."""
    rolling = ds.spec.update_strategy.rolling_update
    surge = scaled(rolling.max_surge, desired)
    unavailable = scaled(rolling.max_unavailable, desired)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_updated(pod: Any, revision_hash: str) -> bool:
    return pod.metadata.labels.get(HASH_LABEL) == revision_hash


@dataclass
class RolloutPlan:
    delete: list[Any] = field(default_factory=list)  # old pods to delete
    create_on: list[str] = field(default_factory=list)  # nodes to surge onto


def split_pods(pods: list[Any], revision_hash: str) -> tuple[Any | None, Any | None]:
    """(newest updated pod, oldest old pod) among a node's pods."""
    new = [p for p in pods if is_updated(p, revision_hash)]
    old = [p for p in pods if not is_updated(p, revision_hash)]
    return (new[-1] if new else None), (old[0] if old else None)


def plan_rollout(
    ds: Any, by_node: dict[str, list[Any]], revision_hash: str, now: float
) -> RolloutPlan:
    """Kubernetes' ``rollingUpdate``: ``by_node`` maps every node that
    should run the daemon pod to its active pods (oldest first)."""
    surge, unavailable = surge_and_unavailable(ds, len(by_node))
    min_ready = ds.spec.min_ready_seconds
    if surge == 0:
        return _plan_without_surge(by_node, revision_hash, unavailable, min_ready, now)
    return _plan_with_surge(by_node, revision_hash, surge, min_ready, now)


def _plan_without_surge(
    by_node: dict[str, list[Any]], revision_hash: str, budget: int, min_ready: int, now: float
) -> RolloutPlan:
    unavailable, replace, candidates = 0, [], []
    for pods in by_node.values():
        new, old = split_pods(pods, revision_hash)
        if (new is None) == (old is None):
            unavailable += 1  # no pod, or both: the manage loop sorts it out
        elif new is not None:
            unavailable += not podutil.is_available(new, min_ready, now)
        elif not podutil.is_available(old, min_ready, now):
            replace.append(old)
        else:
            candidates.append(old)
    room = max(budget - unavailable, 0)
    return RolloutPlan(delete=replace + candidates[:room])


def _plan_with_surge(
    by_node: dict[str, list[Any]], revision_hash: str, budget: int, min_ready: int, now: float
) -> RolloutPlan:
    surging, allowed, candidates, done = 0, [], [], []
    for node, pods in sorted(by_node.items()):
        new, old = split_pods(pods, revision_hash)
        if old is None:
            continue
        if new is None:
            if not podutil.is_available(old, min_ready, now):
                allowed.append(node)
            else:
                candidates.append(node)
        elif not podutil.is_available(new, min_ready, now):
            surging += 1
        else:
            done.append(old)
    room = max(budget - surging, 0)
    return RolloutPlan(delete=done, create_on=allowed + candidates[:room])

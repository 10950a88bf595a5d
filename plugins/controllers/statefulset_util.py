"""Pure parts of the StatefulSet controller (Kubernetes' ``statefulset/
stateful_set_utils.go`` and the order of ``stateful_set_control.go``):
ordinals and identities, and the next step of a sync, chosen without API
calls so the ordering rules are tested on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shoal.api.v1 import core_pb2
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.history import HASH_LABEL

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def ordinal_of(sts: Any, pod: Any) -> int | None:
    """``web-3`` -> 3 for the StatefulSet ``web``; None for a foreign name."""
    prefix = f"{sts.metadata.name}-"
    name = pod.metadata.name
    if not name.startswith(prefix):
        return None
    rest = name[len(prefix) :]
    if not rest.isdigit() or (rest != "0" and rest.startswith("0")):
        return None
    return int(rest)


def ordinals(sts: Any) -> range:
    start = sts.spec.ordinals.start
    return range(start, start + sts.spec.replicas)


def revision_of(pod: Any) -> str:
    return str(pod.metadata.labels.get(HASH_LABEL, ""))


def is_terminating(pod: Any) -> bool:
    return bool(pod.metadata.HasField("deletion_timestamp"))


def is_finished(pod: Any) -> bool:
    return pod.status.phase in ("Failed", "Succeeded")


def running_and_ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and podutil.is_ready(pod)


def running_and_available(pod: Any, min_ready_seconds: int, now: float) -> bool:
    """Running and ready for ``minReadySeconds``: what OrderedReady waits for."""
    return running_and_ready(pod) and podutil.is_available(pod, min_ready_seconds, now)


def new_pod(sts: Any, template: Any, ordinal: int, revision: str) -> Any:
    """Pod ``<set>-<ordinal>`` from ``template`` (that of ``revision``),
    with its stable identity: host name, subdomain (the governing Service)
    and the labels a Service may select a single member by."""
    name = f"{sts.metadata.name}-{ordinal}"
    pod = core_pb2.Pod(spec=template.spec)
    m = pod.metadata
    m.name = name
    m.namespace = sts.metadata.namespace
    m.labels.update(template.metadata.labels)
    m.labels[HASH_LABEL] = revision
    m.labels[POD_NAME_LABEL] = name
    m.labels[POD_INDEX_LABEL] = str(ordinal)
    m.annotations.update(template.metadata.annotations)
    m.finalizers.extend(template.metadata.finalizers)
    m.owner_references.append(podutil.controller_ref(sts))
    pod.spec.hostname = name
    if sts.spec.service_name:
        pod.spec.subdomain = sts.spec.service_name
    return pod


def partition(sts: Any) -> int:
    strategy = sts.spec.update_strategy
    if strategy.type != "RollingUpdate":
        return 0
    return int(strategy.rolling_update.partition)


def revision_for(sts: Any, ordinal: int, current: str, update: str) -> str:
    """Ordinals below the partition are made at the current revision."""
    rolling = sts.spec.update_strategy.type == "RollingUpdate"
    if rolling and ordinal < sts.spec.ordinals.start + partition(sts):
        return current
    return update


@dataclass
class Step:
    create: list[int] = field(default_factory=list)  # ordinals to create
    delete: list[Any] = field(default_factory=list)  # pods to delete

    def __bool__(self) -> bool:
        return bool(self.create or self.delete)


def plan(
    sts: Any, pods: dict[int, Any], condemned: list[Any], update: str, now: float = 0.0
) -> Step:
    """The next step: create missing ordinals lowest first, replace
    finished pods, remove condemned pods highest first, then roll pods to
    ``update`` highest first. OrderedReady takes one pod at a time and
    waits for every earlier one to be Running and Ready (for
    ``minReadySeconds``, ``now`` being the time); Parallel does all
    at once (the rolling update is one pod at a time in both)."""
    ordered = sts.spec.pod_management_policy != "Parallel"
    min_ready = sts.spec.min_ready_seconds
    step = Step()
    for ordinal in ordinals(sts):
        pod = pods.get(ordinal)
        if pod is None:
            step.create.append(ordinal)
        elif is_finished(pod) and not is_terminating(pod):
            step.delete.append(pod)
        elif running_and_available(pod, min_ready, now) and not is_terminating(pod):
            continue
        if ordered:
            return step
    for pod in sorted(condemned, key=lambda p: -(ordinal_of(sts, p) or 0)):
        if not is_terminating(pod):
            step.delete.append(pod)
        if ordered:
            return step
    if step or sts.spec.update_strategy.type != "RollingUpdate":
        return step
    return _rolling_update(sts, pods, update, now)


def _rolling_update(sts: Any, pods: dict[int, Any], update: str, now: float) -> Step:
    floor = sts.spec.ordinals.start + partition(sts)
    for ordinal in reversed(ordinals(sts)):
        if ordinal < floor:
            break
        pod = pods[ordinal]
        if revision_of(pod) != update and not is_terminating(pod):
            return Step(delete=[pod])
        if not running_and_available(pod, sts.spec.min_ready_seconds, now) or is_terminating(pod):
            return Step()
    return Step()

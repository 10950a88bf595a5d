"""Pure parts of the Deployment controller: template hashes, surge and
unavailability arithmetic, revisions, conditions (Kubernetes'
``deployment/util``)."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf.struct_pb2 import Value
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock
from shoal.api.v1 import meta_pb2

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Annotations a Deployment's ReplicaSets never copy from it.
_NOT_COPIED = (
    REVISION,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision-history",
)
# Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


class StrategyError(ValueError):
    """maxSurge/maxUnavailable that no rollout can follow."""


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: Any, collision_count: int = 0) -> str:
    """A short stable name for a pod template, as Kubernetes'
    ``ComputeHash``: FNV-32a of the template (without its own hash label)
    and the collision count, its decimal digits mapped onto a safe alphabet."""
    clean = without_hash(template)
    data = clean.SerializeToString(deterministic=True)
    if collision_count:
        data += str(collision_count).encode()
    return "".join(_SAFE[ord(c) % len(_SAFE)] for c in str(fnv32a(data)))


def without_hash(template: Any) -> Any:
    clean = type(template)()
    clean.CopyFrom(template)
    clean.metadata.labels.pop(HASH_LABEL, None)
    return clean


def equal_ignoring_hash(a: Any, b: Any) -> bool:
    return without_hash(a).SerializeToString(deterministic=True) == without_hash(
        b
    ).SerializeToString(deterministic=True)


def scaled_value(value: Value, total: int, round_up: bool, field: str) -> int:
    """An IntOrString: a number, or a percentage of ``total``."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return 0
    if kind == "number_value":
        number = value.number_value
        if number < 0 or number != int(number):
            raise StrategyError(f"{field}: must be a non-negative integer, got {number}")
        return int(number)
    text = value.string_value if kind == "string_value" else ""
    if not text.endswith("%") or not text[:-1].isdigit():
        raise StrategyError(f"{field}: must be an integer or a percentage like '25%', got {text!r}")
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def surge_and_unavailable(deploy: Any) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` in pods: surge rounds up, unavailable
    down; if both come to zero, unavailable becomes one (Kubernetes'
    ``ResolveFenceposts``) unless both were given as zero, which is invalid."""
    rolling = deploy.spec.strategy.rolling_update
    replicas = deploy.spec.replicas
    surge = scaled_value(rolling.max_surge, replicas, True, "maxSurge")
    unavailable = scaled_value(rolling.max_unavailable, replicas, False, "maxUnavailable")
    if surge == 0 and unavailable == 0:
        if _is_zero(rolling.max_surge) and _is_zero(rolling.max_unavailable):
            raise StrategyError("maxSurge and maxUnavailable may not both be zero")
        unavailable = 1
    return surge, unavailable


def _is_zero(value: Value) -> bool:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return value.number_value == 0
    return kind == "string_value" and value.string_value.rstrip("%") in ("0", "")


def max_surge(deploy: Any) -> int:
    if deploy.spec.strategy.type != "RollingUpdate":
        return 0
    return surge_and_unavailable(deploy)[0]


def max_unavailable(deploy: Any) -> int:
    if deploy.spec.strategy.type != "RollingUpdate" or deploy.spec.replicas == 0:
        return 0
    return min(surge_and_unavailable(deploy)[1], deploy.spec.replicas)


def revision(obj: Any) -> int:
    try:
        return int(obj.metadata.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def copied_annotations(deploy: Any) -> dict[str, str]:
    return {k: v for k, v in deploy.metadata.annotations.items() if k not in _NOT_COPIED}


def new_rs_replicas(deploy: Any, all_sets: list[Any], new_rs: Any) -> int:
    """The size the new ReplicaSet may grow to now (``NewRSNewReplicas``)."""
    if deploy.spec.strategy.type != "RollingUpdate":
        return deploy.spec.replicas
    surge, _ = surge_and_unavailable(deploy)
    current = pod_count(all_sets)
    room = deploy.spec.replicas + surge - current
    if room <= 0:
        return new_rs.spec.replicas
    return new_rs.spec.replicas + min(room, deploy.spec.replicas - new_rs.spec.replicas)


def pod_count(sets: list[Any]) -> int:
    """Pods the sets may have: a set scaled down may not have deleted its
    pods yet, so count the larger of spec and status."""
    return sum(max(rs.spec.replicas, rs.status.replicas) for rs in sets)


def available_count(sets: list[Any]) -> int:
    """Available pods, never more than a set is scaled to (its status may
    lag a scale-down)."""
    return sum(min(rs.status.available_replicas, rs.spec.replicas) for rs in sets)


def now_stamp() -> Timestamp:
    return Timestamp(seconds=int(clock.time()))


def get_condition(status: Any, type: str) -> Any | None:
    for condition in status.conditions:
        if condition.type == type:
            return condition
    return None


def set_condition(
    status: Any, type: str, state: str, reason: str, message: str, *, refresh: bool = False
) -> None:
    """Kubernetes' ``SetDeploymentCondition``: the same status and reason
    change nothing (unless ``refresh``, which moves the update time: progress
    was made); the transition time moves only when the status does."""
    current = get_condition(status, type)
    same = current is not None and current.status == state and current.reason == reason
    if same and not refresh:
        return
    stamp = now_stamp()
    condition = meta_pb2.Condition(
        type=type,
        status=state,
        reason=reason,
        message=message,
        last_update_time=stamp,
        last_transition_time=stamp,
    )
    if current is not None and current.status == state:
        condition.last_transition_time.CopyFrom(current.last_transition_time)
    kept = [c for c in status.conditions if c.type != type]
    del status.conditions[:]
    status.conditions.extend([*kept, condition])


def split_sets(deploy: Any, sets: list[Any]) -> tuple[Any | None, list[Any]]:
    """The ReplicaSet whose template is the Deployment's (the oldest if
    several), and the others, oldest first."""
    ordered = sorted(
        sets, key=lambda rs: (rs.metadata.creation_timestamp.seconds, rs.metadata.name)
    )
    new = next(
        (rs for rs in ordered if equal_ignoring_hash(rs.spec.template, deploy.spec.template)), None
    )
    return new, [rs for rs in ordered if rs is not new]


def proportional_sizes(sizes: list[int], delta: int) -> list[int]:
    """Share ``delta`` pods among sets in proportion to their ``sizes``;
    what rounding leaves goes to the largest set. Never below zero."""
    total = sum(sizes)
    if delta == 0 or total == 0:
        return list(sizes)
    shares = [int(size * delta / total) for size in sizes]
    largest = max(range(len(sizes)), key=lambda i: sizes[i])
    shares[largest] += delta - sum(shares)
    return [max(size + share, 0) for size, share in zip(sizes, shares, strict=True)]


def deployment_complete(deploy: Any, status: Any) -> bool:
    replicas = deploy.spec.replicas
    return (
        status.updated_replicas == replicas
        and status.replicas == replicas
        and status.available_replicas == replicas
        and status.observed_generation >= deploy.metadata.generation
    )


def deployment_progressing(before: Any, after: Any) -> bool:
    """More pods updated, ready or available, or fewer old pods, than before."""
    old_before = before.replicas - before.updated_replicas
    old_after = after.replicas - after.updated_replicas
    return (
        after.updated_replicas > before.updated_replicas
        or old_after < old_before
        or after.ready_replicas > before.ready_replicas
        or after.available_replicas > before.available_replicas
    )


def timed_out(deploy: Any, status: Any, now: float) -> bool:
    condition = get_condition(status, "Progressing")
    if condition is None or condition.reason == "NewReplicaSetAvailable":
        return False
    if condition.reason == "ProgressDeadlineExceeded":
        return True
    deadline = deploy.spec.progress_deadline_seconds
    return bool(condition.last_update_time.seconds + deadline < now)


def progress(
    deploy: Any, before: Any, status: Any, new: Any | None, now: float | None = None
) -> float | None:
    """Set the Progressing condition on ``status`` (Kubernetes'
    ``syncRolloutStatus``); return the seconds until the deadline would
    pass, if the rollout is still under way."""
    if not deploy.spec.HasField("progress_deadline_seconds"):
        return None
    now = clock.time() if now is None else now
    name = new.metadata.name if new is not None else ""
    current = get_condition(status, "Progressing")
    done = current is not None and current.reason == "NewReplicaSetAvailable"
    if done and status.replicas == status.updated_replicas:
        return None
    if deployment_complete(deploy, status):
        set_condition(
            status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name}" has successfully progressed.',
        )
        return None
    if deployment_progressing(before, status):
        set_condition(
            status,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{name}" is progressing.',
            refresh=True,
        )
    elif timed_out(deploy, status, now):
        set_condition(
            status,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{name}" has timed out progressing.',
        )
        return None
    current = get_condition(status, "Progressing")
    if current is None:
        return None
    left = current.last_update_time.seconds + deploy.spec.progress_deadline_seconds - now
    return max(left, 0.0) + 1.0

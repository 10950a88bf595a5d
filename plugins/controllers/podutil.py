"""Helpers the workload controllers share: readiness and availability of
pods, the order in which excess pods go, and owner references (Kubernetes'
``controller.GetControllerOf``, adoption and release)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from shoal import clock, errors, kinds
from shoal.api.v1 import meta_pb2

# Kubernetes' ranking of pod phases: the earlier, the sooner a pod is deleted.
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def ready_condition(pod: Any) -> Any | None:
    for condition in pod.status.conditions:
        if condition.type == "Ready":
            return condition
    return None


def is_ready(pod: Any) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.status == "True"


def is_available(pod: Any, min_ready_seconds: int, now: float | None = None) -> bool:
    """Ready for at least ``min_ready_seconds``."""
    condition = ready_condition(pod)
    if condition is None or condition.status != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    now = clock.time() if now is None else now
    return condition.last_transition_time.seconds + min_ready_seconds <= now


def seconds_until_available(pod: Any, min_ready_seconds: int, now: float | None = None) -> float:
    """How long until a ready pod becomes available (0 if it is, or never will)."""
    condition = ready_condition(pod)
    if condition is None or condition.status != "True":
        return 0.0
    now = clock.time() if now is None else now
    return max(0.0, condition.last_transition_time.seconds + min_ready_seconds - now)


def is_active(pod: Any) -> bool:
    """Counts toward replicas: not finished and not being deleted."""
    return pod.status.phase not in ("Succeeded", "Failed") and not pod.metadata.HasField(
        "deletion_timestamp"
    )


def deletion_rank(pod: Any) -> tuple[Any, ...]:
    """Sort key that puts the pod to delete first at the front, as
    Kubernetes' ``ActivePods`` ordering: unscheduled before scheduled,
    Pending before Unknown before Running, not ready before ready, ready
    for less time before longer, more restarts before fewer, newer before
    older."""
    ready = is_ready(pod)
    condition = ready_condition(pod)
    ready_since = condition.last_transition_time.seconds if ready and condition else 0
    restarts = max((s.restart_count for s in pod.status.container_statuses), default=0)
    created = pod.metadata.creation_timestamp
    return (
        bool(pod.spec.node_name),
        _PHASE_RANK.get(pod.status.phase, 0),
        ready,
        -ready_since,
        -restarts,
        -(created.seconds * 1_000_000_000 + created.nanos),
    )


def pods_to_delete(pods: Iterable[Any], count: int) -> list[Any]:
    return sorted(pods, key=deletion_rank)[: max(count, 0)]


def controller_of(obj: Any) -> Any | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref
    return None


# Pod informer indexes: the uid of a pod's controller; the namespace of a pod
# without one (a candidate for adoption). A controller claims its pods from
# these instead of walking every pod of the namespace.
OWNER_UID, ORPHANS = "controller-uid", "orphans"


def owner_uid_index(pod: Any) -> list[str]:
    ref = controller_of(pod)
    return [ref.uid] if ref is not None else []


def orphan_namespace_index(pod: Any) -> list[str]:
    return [] if controller_of(pod) is not None else [pod.metadata.namespace]


def index_by_controller(informer: Any) -> None:
    """Add :data:`OWNER_UID` and :data:`ORPHANS` to a pod informer."""
    informer.add_index(OWNER_UID, owner_uid_index)
    informer.add_index(ORPHANS, orphan_namespace_index)


def controller_ref(owner: Any) -> meta_pb2.OwnerReference:
    """An ownerReference making ``owner`` the controller of a dependent."""
    kind = kinds.for_message(owner)
    return meta_pb2.OwnerReference(
        api_version=kind.api_version,
        kind=kind.kind,
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )


def copy(obj: Any) -> Any:
    new = type(obj)()
    new.CopyFrom(obj)
    return new


def split_key(key: str) -> tuple[str, str]:
    """``namespace/name`` -> (namespace, name); ``name`` -> ("", name)."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


async def adopt(client: Any, owner: Any, obj: Any) -> Any:
    """Make ``owner`` the controller of ``obj`` (a pod or ReplicaSet)."""
    adopted = copy(obj)
    adopted.metadata.owner_references.append(controller_ref(owner))
    return await client.update(adopted)


async def release(client: Any, owner: Any, obj: Any) -> None:
    """Drop ``owner``'s reference from ``obj`` whose labels left its selector."""
    released = copy(obj)
    refs = [r for r in released.metadata.owner_references if r.uid != owner.metadata.uid]
    del released.metadata.owner_references[:]
    released.metadata.owner_references.extend(refs)
    with contextlib.suppress(errors.NotFoundError):
        await client.update(released)


async def delete_owned_pod(controller: Any, key: str, owner: Any, pod: Any) -> None:
    """Delete one of ``owner``'s pods as Kubernetes' controllers do: by uid,
    a deletion expected under ``key`` (observed at once when it fails or the
    pod is gone), a SuccessfulDelete or FailedDelete event on the owner.
    ``controller`` has ``client``, ``expectations`` and ``recorder``."""
    from shoal.client import object_key

    try:
        await controller.client.delete(
            "Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid
        )
    except (errors.NotFoundError, errors.PreconditionFailedError):
        controller.expectations.deletion_observed(key, object_key(pod))
        return
    except errors.APIError as err:
        controller.expectations.deletion_observed(key, object_key(pod))
        controller.recorder.emit(owner, "Warning", "FailedDelete", f"Error deleting: {err}")
        raise
    controller.recorder.emit(
        owner, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}"
    )

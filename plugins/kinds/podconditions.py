"""The ``DisruptionTarget`` pod condition (Kubernetes' pod disruption
conditions, GA in 1.31): whoever deletes a pod that did not end by itself
writes why first, so that a Job's ``podFailurePolicy`` can tell a
disruption (``onPodConditions: [{type: DisruptionTarget}]``, the rule
Kubernetes' documentation shows for ``kubectl drain``) from a failure.

Reasons and messages are Kubernetes' own:

- ``EvictionByEvictionAPI`` — the eviction subresource (``kubectl drain``);
- ``PreemptionByScheduler`` — the scheduler making room for a higher
  priority pod;
- ``DeletionByTaintManager`` — a ``NoExecute`` taint the pod does not tolerate;
- ``DeletionByPodGC`` — the pod's node no longer exists.

The agent keeps conditions it does not own when it reports a pod's status,
as the kubelet does, so the condition outlives the pod's last status.
"""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.apiserver import meta

DISRUPTION_TARGET = "DisruptionTarget"
EVICTION = ("EvictionByEvictionAPI", "Eviction API: evicting")
TAINT_MANAGER = ("DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
POD_GC = "DeletionByPodGC"


def preemption(scheduler_name: str) -> tuple[str, str]:
    return (
        "PreemptionByScheduler",
        f"{scheduler_name}: preempting to accommodate a higher priority pod",
    )


def is_finished(pod: Any) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


def set_disruption_target(pod: Any, why: tuple[str, str]) -> Any:
    """Set (or replace) ``pod``'s DisruptionTarget condition in place; the
    transition time moves only when the condition was not already True."""
    reason, message = why
    for condition in pod.status.conditions:
        if condition.type == DISRUPTION_TARGET:
            if condition.status != "True":
                condition.last_transition_time.CopyFrom(meta.now())
            condition.status, condition.reason, condition.message = "True", reason, message
            return pod
    added = pod.status.conditions.add(
        type=DISRUPTION_TARGET, status="True", reason=reason, message=message
    )
    added.last_transition_time.CopyFrom(meta.now())
    return pod


def disrupted(pod: Any, why: tuple[str, str]) -> Any:
    """A copy of ``pod`` carrying the condition (for a status write)."""
    copy = type(pod)()
    copy.CopyFrom(pod)
    return set_disruption_target(copy, why)


async def mark_disrupted(client: Any, pod: Any, why: tuple[str, str], attempts: int = 5) -> None:
    """Write the condition on the stored pod (read afresh; again after a
    write conflict), unless it is gone, replaced or already finished."""
    m = pod.metadata
    for _ in range(attempts):
        try:
            fresh = await client.get("Pod", m.name, m.namespace)
            if fresh.metadata.uid != m.uid or is_finished(fresh):
                return
            await client.update_status(disrupted(fresh, why))
            return
        except errors.NotFoundError:
            return
        except errors.ConflictError:
            continue

"""Claiming pods for a set whose pods are not counted by replicas alone
(DaemonSet, StatefulSet): Kubernetes' ``PodControllerRefManager``. Adopt
active orphans the selector matches, release owned pods it stopped
matching; never claim with an empty selector or while the owner goes."""

from __future__ import annotations

from typing import Any

from shoal import selectors
from shoal.plugins.controllers import podutil


async def claim_pods(client: Any, pods: Any, owner: Any) -> list[Any]:
    """The pods of ``pods`` (an informer) that ``owner`` controls, oldest first."""
    selector = selectors.label_selector_from_proto(owner.spec.selector)
    uid = owner.metadata.uid
    deleting = owner.metadata.HasField("deletion_timestamp") or selector.is_empty()
    claimed = []
    for pod in pods.by_index("namespace", owner.metadata.namespace):
        ref = podutil.controller_of(pod)
        matches = selector.matches(pod.metadata.labels) and not selector.is_empty()
        if ref is not None and ref.uid == uid:
            if matches:
                claimed.append(pod)
            elif not pod.metadata.HasField("deletion_timestamp"):
                await podutil.release(client, owner, pod)
        elif ref is None and matches and not deleting and podutil.is_active(pod):
            claimed.append(await podutil.adopt(client, owner, pod))
    return sorted(claimed, key=created)


def created(pod: Any) -> tuple[int, int, str]:
    stamp = pod.metadata.creation_timestamp
    return stamp.seconds, stamp.nanos, pod.metadata.name


def matching_owners(owners: Any, pod: Any) -> list[Any]:
    """Owners (an informer) whose selector matches an orphan pod."""
    return [
        o
        for o in owners.by_index("namespace", pod.metadata.namespace)
        if selectors.label_selector_from_proto(o.spec.selector).matches(pod.metadata.labels)
    ]

"""Job tracking with finalizers (Kubernetes' ``batch.kubernetes.io/job-tracking``).

Every pod the Job controller makes carries the finalizer, so a finished pod
stays in the API until the controller has counted it, however early it is
deleted. Counting is two-phase, as in Kubernetes' ``trackJobStatusAndRemoveFinalizers``:

1. the uids of newly finished pods go into the job's
   ``status.uncountedTerminatedPods`` (``succeeded`` / ``failed``; an
   Indexed job's successes go straight into ``completedIndexes``) and the
   status is written;
2. the finalizers of those pods are removed;
3. each uid whose pod no longer holds the finalizer (removed, or the pod is
   gone) moves from the uncounted lists to ``status.succeeded`` /
   ``status.failed``, and the status is written again.

A controller restarting anywhere in between finds the uid in the uncounted
lists, so no pod is counted twice and none is lost. ``Releases`` remembers
the uids whose finalizer removal is in flight or not yet seen by the pod
informer, so a stale cache never counts a pod again (Kubernetes'
``uidTrackingExpectations``).
"""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.plugins.controllers import podutil

TRACKING = "batch.kubernetes.io/job-tracking"


def has_tracking(pod: Any) -> bool:
    return TRACKING in pod.metadata.finalizers


def without_tracking(pod: Any) -> Any:
    updated = podutil.copy(pod)
    kept = [f for f in updated.metadata.finalizers if f != TRACKING]
    del updated.metadata.finalizers[:]
    updated.metadata.finalizers.extend(kept)
    return updated


class Releases:
    """Uids of pods whose finalizer the controller removed (or is removing)
    and whose pod the informer still shows holding it."""

    def __init__(self) -> None:
        self.uids: set[str] = set()

    def pending(self, pod: Any) -> bool:
        return pod.metadata.uid in self.uids

    def observed(self, pod: Any) -> None:
        """The informer shows ``pod`` without the finalizer, or gone."""
        self.uids.discard(pod.metadata.uid)

    def tracked(self, pod: Any) -> bool:
        """The pod holds the finalizer and no removal of it is under way."""
        return has_tracking(pod) and pod.metadata.uid not in self.uids

    async def release(self, client: Any, pod: Any) -> bool:
        """Remove the finalizer from ``pod``; True once it no longer holds it
        (removed, or the pod is gone), False if a newer pod was in the way."""
        self.uids.add(pod.metadata.uid)
        try:
            done = await _remove(client, pod)
        except BaseException:
            self.uids.discard(pod.metadata.uid)
            raise
        if not done:
            self.uids.discard(pod.metadata.uid)
        return done


async def _remove(client: Any, pod: Any) -> bool:
    try:
        await client.update(without_tracking(pod))
        return True
    except errors.NotFoundError:
        return True
    except errors.ConflictError:
        pass
    # The cache was stale: once more from the stored pod.
    try:
        fresh = await client.get("Pod", pod.metadata.name, pod.metadata.namespace)
    except errors.NotFoundError:
        return True
    if fresh.metadata.uid != pod.metadata.uid or not has_tracking(fresh):
        return True
    try:
        await client.update(without_tracking(fresh))
    except errors.NotFoundError:
        return True
    except errors.ConflictError:
        return False
    return True


async def adopt(client: Any, job: Any, pod: Any) -> Any:
    """Make ``job`` the controller of an orphan pod, with the finalizer (as
    Kubernetes' job controller adopts)."""
    adopted = podutil.copy(pod)
    adopted.metadata.owner_references.append(podutil.controller_ref(job))
    if not has_tracking(adopted):
        adopted.metadata.finalizers.append(TRACKING)
    return await client.update(adopted)

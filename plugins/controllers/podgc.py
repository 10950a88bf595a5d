"""Pod garbage collection, as Kubernetes' PodGC controller
(``pkg/controller/podgc``). Every ``pod_gc_period`` (20 s) it deletes:

* **orphans**: pods bound to a node that no longer exists. A node missing
  from the informer is quarantined for ``pod_gc_quarantine`` (Kubernetes'
  40 s) and then looked up through the API; only if it is still gone are its
  pods marked ``Failed`` with the condition ``DisruptionTarget``
  (``DeletionByPodGC``, ``PodGC: node no longer exists``) and deleted at
  once (grace 0: no agent is left to confirm). Their controllers replace
  them elsewhere.
* **unscheduled terminating pods**: a pod being deleted that never got a
  node (a finalizer holds it) is marked ``Failed`` and deleted at once.
* **terminated pods** beyond ``terminated_pod_gc_threshold`` (12,500;
  ``--terminated-pod-gc-threshold``; 0 keeps them all): ``Succeeded`` and
  ``Failed`` pods, evicted ones first, then oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from shoal import clock, errors, hookimpl
from shoal.client import (
    Client,
    SharedInformerFactory,
    object_key,
    run_every,
    shared_informers,
)
from shoal.plugins.kinds import podconditions
from shoal.registry import Registry

log = structlog.get_logger("podgc")

GC_CHECK_PERIOD = 20.0
QUARANTINE = 40.0
TERMINATED_POD_GC_THRESHOLD = 12500
NODE_GONE = "PodGC: node no longer exists"


def is_terminated(pod: Any) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


def terminated_to_delete(pods: Iterable[Any], threshold: int) -> list[Any]:
    """The terminated pods above ``threshold``, evicted first, then oldest
    first (Kubernetes' ``byEvictionAndCreationTimestamp``); none when the
    threshold is 0 or less."""
    if threshold <= 0:
        return []
    done = [p for p in pods if is_terminated(p) and not p.metadata.HasField("deletion_timestamp")]
    excess = len(done) - threshold
    if excess <= 0:
        return []
    done.sort(
        key=lambda p: (
            p.status.reason != "Evicted",
            p.metadata.creation_timestamp.ToNanoseconds(),
            p.metadata.namespace,
            p.metadata.name,
        )
    )
    return done[:excess]


class PodGCController:
    def __init__(
        self,
        client: Client,
        *,
        options: dict[str, Any] | None = None,
        informers: SharedInformerFactory | None = None,
    ) -> None:
        options = options or {}
        self.client = client
        self.threshold = int(
            options.get("terminated_pod_gc_threshold", TERMINATED_POD_GC_THRESHOLD)
        )
        self.quarantine = float(options.get("pod_gc_quarantine", QUARANTINE))
        self.period = float(options.get("pod_gc_period", GC_CHECK_PERIOD))
        factory = informers or shared_informers(client)
        self.pods = factory.for_kind("Pod")
        self.nodes = factory.for_kind("Node")
        self._missing: dict[str, float] = {}  # node -> when first seen missing
        self.deleted = 0

    async def run(self) -> None:
        await run_every((self.nodes, self.pods), self.gc, self.period)

    async def gc(self) -> None:
        """One pass, in Kubernetes' order."""
        pods = self.pods.list()
        for pod in terminated_to_delete(pods, self.threshold):
            await self._delete(pod, None)
        await self.gc_orphans(pods)
        for pod in pods:
            if pod.metadata.HasField("deletion_timestamp") and not pod.spec.node_name:
                await self._delete(pod, None)

    async def gc_orphans(self, pods: list[Any]) -> None:
        existing = {n.metadata.name for n in self.nodes.list()}
        now = clock.monotonic()
        bound = {p.spec.node_name for p in pods if p.spec.node_name}
        for name in bound - existing:
            self._missing.setdefault(name, now)
        for name in [n for n in self._missing if n in existing or n not in bound]:
            del self._missing[name]
        gone = set()
        for name, since in self._missing.items():
            if now - since >= self.quarantine and not await self._node_exists(name):
                gone.add(name)
        for pod in pods:
            if pod.spec.node_name in gone:
                await self._delete(pod, NODE_GONE)

    async def _node_exists(self, name: str) -> bool:
        """Asked of the API itself: the informer may be behind."""
        try:
            await self.client.get("Node", name)
        except errors.NotFoundError:
            return False
        except (errors.APIError, OSError) as err:
            log.warning("could not look the node up", node=name, error=str(err))
            return True  # try again on the next pass
        return True

    async def _delete(self, pod: Any, message: str | None) -> None:
        """Mark the pod Failed (with a DisruptionTarget condition when
        ``message`` says why) unless it already ended, then delete it at once."""
        key = object_key(pod)
        m = pod.metadata
        try:
            if not is_terminated(pod):
                await self.client.update_status(_failed(pod, message))
            await self.client.delete("Pod", m.name, m.namespace, grace_period_seconds=0, uid=m.uid)
        except (errors.NotFoundError, errors.PreconditionFailedError, errors.ConflictError):
            return  # gone or changed: the next pass sees the new state
        except (errors.APIError, OSError) as err:
            log.warning("could not delete pod", pod=key, error=str(err))
            return
        self.deleted += 1
        log.info("garbage collected pod", pod=key, node=pod.spec.node_name, reason=message or "")


def _failed(pod: Any, message: str | None) -> Any:
    copy = type(pod)()
    copy.CopyFrom(pod)
    copy.status.phase = "Failed"
    if message is not None:
        podconditions.set_disruption_target(copy, (podconditions.POD_GC, message))
    return copy


def pod_gc_factory(client: Client, options: dict[str, Any] | None = None) -> PodGCController:
    return PodGCController(client, options=options)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("podgc", pod_gc_factory)

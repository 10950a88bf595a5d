"""ReplicaSet and ReplicationController: keep exactly ``replicas`` pods
matching the selector, like Kubernetes' ``ReplicaSetController`` (the
ReplicationController is the same loop over the older kind, whose selector
is a plain label map).

One reconcile: claim pods (adopt matching orphans, release owned pods whose
labels stopped matching), then, once the informer has caught up with what
the last reconcile asked for (expectations), create the missing pods from the
template or delete the excess ones (worst-ranked first), and finally write
status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from shoal import clock, errors, hookimpl, selectors
from shoal.api.v1 import core_pb2
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import podutil
from shoal.plugins.controllers.expectations import Expectations
from shoal.plugins.controllers.podfacts import FactsCache, PodFacts
from shoal.registry import Registry

log = structlog.get_logger("replication")

# Kubernetes creates at most this many pods per reconcile, in batches of
# 1, 2, 4, ... so that a template that fails fails once, not 500 times.
BURST_REPLICAS = 500


class ReplicaController(Controller):
    """The shared loop; subclasses name the kind."""

    kind = "ReplicaSet"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.owners = self.watch(self.kind)
        self.pods = self.informer("Pod")
        podutil.index_by_controller(self.pods)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.expectations = Expectations()
        self.facts = FactsCache()

    # -- what a kind's selector is --------------------------------------------

    def selector(self, owner: Any) -> selectors.LabelSelector:
        return selectors.label_selector_from_proto(owner.spec.selector)

    # -- pod events -> owner keys ----------------------------------------------

    def _owner_key(self, pod: Any) -> str | None:
        ref = podutil.controller_of(pod)
        if ref is None or ref.kind != self.kind:
            return None
        owner = self.owners.get(ref.name, pod.metadata.namespace)
        if owner is None or owner.metadata.uid != ref.uid:
            return None
        return object_key(owner)

    def _enqueue_matching(self, pod: Any) -> None:
        """An orphan: wake every owner that could adopt it."""
        for owner in self.owners.by_index("namespace", pod.metadata.namespace):
            if self.selector(owner).matches(pod.metadata.labels):
                self.enqueue(owner)

    def _pod_added(self, pod: Any) -> None:
        key = self._owner_key(pod)
        if pod.metadata.HasField("deletion_timestamp"):
            self._pod_deleted(pod)
        elif key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)
        else:
            self._enqueue_matching(pod)

    def _pod_updated(self, old: Any, new: Any) -> None:
        if new.metadata.HasField("deletion_timestamp"):
            self._pod_deleted(new)
            return
        old_key, new_key = self._owner_key(old), self._owner_key(new)
        if old_key and old_key != new_key:
            self.queue.add(old_key)
        if new_key:
            self.queue.add(new_key)
        elif old.metadata.labels != new.metadata.labels or old_key:
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: Any) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, object_key(pod))
            self.queue.add(key)

    # -- reconcile --------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        namespace, name = podutil.split_key(key)
        owner = self.owners.get(name, namespace)
        if owner is None:
            self.expectations.forget(key)
            self.facts.forget(key)
            return None
        selector = self.selector(owner)
        with self.facts.sync(key, owner, selector) as facts:
            pods = await self.claim_pods(owner, selector, facts)
            active = [p for p in pods if facts(p).active]
            if self.expectations.satisfied(key) and not owner.metadata.HasField(
                "deletion_timestamp"
            ):
                await self.manage_replicas(key, owner, active)
            return await self.update_status(owner, [facts(p) for p in active])

    async def claim_pods(
        self, owner: Any, selector: selectors.LabelSelector, facts: Callable[[Any], PodFacts]
    ) -> list[Any]:
        """The pods ``owner`` controls after adopting and releasing."""
        namespace = owner.metadata.namespace
        claimed = []
        for pod in self.pods.by_index(podutil.OWNER_UID, owner.metadata.uid):
            if pod.metadata.namespace != namespace:
                continue  # an ownerReference naming another namespace's owner
            seen = facts(pod)
            if seen.matches and not selector.is_empty():
                claimed.append(pod)
            elif not seen.deleting:
                await self._release(owner, pod)
        # An empty selector would claim every pod in the namespace.
        if owner.metadata.HasField("deletion_timestamp") or selector.is_empty():
            return claimed
        for pod in self.pods.by_index(podutil.ORPHANS, namespace):
            seen = facts(pod)
            if seen.matches and seen.active:
                claimed.append(await self._adopt(owner, pod))
        return claimed

    async def _adopt(self, owner: Any, pod: Any) -> Any:
        log.info("adopting pod", owner=owner.metadata.name, pod=pod.metadata.name)
        return await podutil.adopt(self.client, owner, pod)

    async def _release(self, owner: Any, pod: Any) -> None:
        log.info("releasing pod", owner=owner.metadata.name, pod=pod.metadata.name)
        await podutil.release(self.client, owner, pod)

    async def manage_replicas(self, key: str, owner: Any, active: list[Any]) -> None:
        diff = len(active) - owner.spec.replicas
        if diff < 0:
            await self.create_pods(key, owner, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            await self.delete_pods(key, owner, podutil.pods_to_delete(active, diff))

    async def create_pods(self, key: str, owner: Any, count: int) -> None:
        self.expectations.expect_creations(key, count)
        batch, remaining = 1, count
        while remaining > 0:
            size = min(batch, remaining)
            results = await asyncio.gather(
                *(self._create_pod(owner) for _ in range(size)), return_exceptions=True
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            remaining -= size
            if failed:
                # Pods never created will never be observed.
                for _ in range(len(failed) + remaining):
                    self.expectations.creation_observed(key)
                raise failed[0]
            batch *= 2

    async def _create_pod(self, owner: Any) -> None:
        pod = pod_from_template(owner)
        try:
            created = await self.client.create(pod)
        except errors.APIError as err:
            self.recorder.emit(owner, "Warning", "FailedCreate", f"Error creating: {err}")
            raise
        self.recorder.emit(
            owner, "Normal", "SuccessfulCreate", f"Created pod: {created.metadata.name}"
        )

    async def delete_pods(self, key: str, owner: Any, pods: list[Any]) -> None:
        self.expectations.expect_deletions(key, {object_key(p) for p in pods})
        results = await asyncio.gather(
            *(podutil.delete_owned_pod(self, key, owner, p) for p in pods), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def update_status(self, owner: Any, active: list[PodFacts]) -> float | None:
        """Write status if it changed; the seconds until a ready pod becomes
        available, if one will, so it is counted then."""
        min_ready, now = owner.spec.min_ready_seconds, clock.time()
        ready = available = 0
        pending = []
        for seen in active:
            if seen.ready_since is None:
                continue
            ready += 1
            wait = seen.ready_since + min_ready - now  # podutil.seconds_until_available
            if min_ready <= 0 or wait <= 0:
                available += 1
            if wait > 0:
                pending.append(wait)
        status = podutil.copy(owner.status)
        status.replicas = len(active)
        status.fully_labeled_replicas = sum(seen.labeled for seen in active)
        status.ready_replicas = ready
        status.available_replicas = available
        status.observed_generation = owner.metadata.generation
        if status != owner.status:
            updated = podutil.copy(owner)
            updated.status.CopyFrom(status)
            try:
                await self.client.update_status(updated)
            except errors.NotFoundError:
                return None
        return min(pending) + 0.5 if pending else None


def pod_from_template(owner: Any) -> core_pb2.Pod:
    """A new pod for ``owner``: its template, a generated name, and an
    ownerReference naming ``owner`` as controller."""
    template = owner.spec.template
    pod = core_pb2.Pod(spec=template.spec)
    m = pod.metadata
    m.generate_name = f"{owner.metadata.name}-"
    m.namespace = owner.metadata.namespace
    m.labels.update(template.metadata.labels)
    m.annotations.update(template.metadata.annotations)
    m.finalizers.extend(template.metadata.finalizers)
    m.owner_references.append(podutil.controller_ref(owner))
    return pod


class ReplicaSetController(ReplicaController):
    name = "replicaset"
    kind = "ReplicaSet"


class ReplicationManager(ReplicaController):
    """Kubernetes' name for the ReplicationController's controller."""

    name = "replicationcontroller"
    kind = "ReplicationController"

    def selector(self, owner: Any) -> selectors.LabelSelector:
        return selectors.label_selector_from_map(owner.spec.selector)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("replicaset", ReplicaSetController)
    registry.register("replicationcontroller", ReplicationManager)

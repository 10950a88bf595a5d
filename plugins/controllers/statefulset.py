"""The StatefulSet controller: pods with stable names ``<set>-0``,
``<set>-1``, ... made and removed in order (Kubernetes'
``StatefulSetController``).

One reconcile: record the template in a ControllerRevision, find the
current and update revisions, claim the set's pods and sort them by
ordinal, take the next step :func:`statefulset_util.plan` chooses (create,
replace, remove, roll), trim history and write status. A pod's claims
(volumeClaimTemplates) are made before it (:mod:`statefulset_claims`). Pods have fixed
names, so a create that raced an earlier one meets AlreadyExists and a
delete NotFound: no expectations are needed, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from shoal import clock, errors, hookimpl
from shoal.api.v1 import core_pb2
from shoal.controller import Controller
from shoal.plugins.controllers import claims, history, podutil
from shoal.plugins.controllers import statefulset_claims as sc
from shoal.plugins.controllers import statefulset_util as su
from shoal.registry import Registry

log = structlog.get_logger("statefulset")


class StatefulSetController(Controller):
    name = "statefulset"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.sets = self.watch("StatefulSet")
        self.pods = self.informer("Pod")
        self.revisions = self.informer("ControllerRevision")
        self.claims = self.informer("PersistentVolumeClaim")
        self.claims.add_handler(None, None, self._claim_gone)
        self.pods.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new),
                              self._pod_changed)  # fmt: skip
        self.revisions.add_handler(self._owned_changed, None, self._owned_changed)

    def _owned_changed(self, obj: Any) -> None:
        ref = podutil.controller_of(obj)
        if ref is not None and ref.kind == "StatefulSet":
            self.queue.add(f"{obj.metadata.namespace}/{ref.name}")

    def _claim_gone(self, claim: Any) -> None:
        """A pod may be waiting for a claim being deleted to go."""
        for sts in claims.matching_owners(self.sets, claim):
            self.enqueue(sts)

    def _pod_changed(self, pod: Any) -> None:
        if podutil.controller_of(pod) is not None:
            self._owned_changed(pod)
            return
        for sts in claims.matching_owners(self.sets, pod):
            self.enqueue(sts)

    # -- reconcile ------------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        namespace, name = podutil.split_key(key)
        sts = self.sets.get(name, namespace)
        if sts is None or sts.metadata.HasField("deletion_timestamp"):
            return None
        sts = podutil.copy(sts)
        update, revisions = await history.sync(self.client, sts, history.owned(self.revisions, sts))
        current = next(
            (r for r in revisions if r.metadata.name == sts.status.current_revision), update
        )
        pods = await claims.claim_pods(self.client, self.pods, sts)
        by_ordinal, condemned = self._sort(sts, pods)
        await self._claim_owners(sts, by_ordinal)
        step = su.plan(sts, by_ordinal, condemned, update.metadata.name, clock.time())
        if step:
            await self._take(sts, step, current, update)
        live = {su.revision_of(p) for p in pods} | {current.metadata.name, update.metadata.name}
        await history.truncate(self.client, sts, revisions, live)
        return await self.update_status(sts, pods, current.metadata.name, update.metadata.name)

    async def _claim_owners(self, sts: Any, by_ordinal: dict[int, Any]) -> None:
        """Keep the claims' owner references as the retention policy says."""
        policy = sts.spec.persistent_volume_claim_retention_policy
        if (policy.when_deleted, policy.when_scaled) == ("Retain", "Retain"):
            return
        for ordinal, pod in by_ordinal.items():
            await sc.set_owners(self.client, self.claims, sts, pod, ordinal)

    @staticmethod
    def _sort(sts: Any, pods: list[Any]) -> tuple[dict[int, Any], list[Any]]:
        wanted = su.ordinals(sts)
        by_ordinal, condemned = {}, []
        for pod in pods:
            ordinal = su.ordinal_of(sts, pod)
            if ordinal is not None and ordinal in wanted:
                by_ordinal[ordinal] = pod
            else:
                condemned.append(pod)
        return by_ordinal, condemned

    async def _take(self, sts: Any, step: su.Step, current: Any, update: Any) -> None:
        templates = {
            r.metadata.name: history.template_of(r, core_pb2.PodTemplateSpec)
            for r in (current, update)
        }
        jobs = [
            self._create(sts, ordinal, templates, current.metadata.name, update.metadata.name)
            for ordinal in step.create
        ]
        jobs += [self._delete(sts, pod) for pod in step.delete]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def _create(
        self, sts: Any, ordinal: int, templates: dict[str, Any], current: str, update: str
    ) -> None:
        revision = su.revision_for(sts, ordinal, current, update)
        pod = su.new_pod(sts, templates[revision], ordinal, revision)
        await sc.ensure_claims(self.client, self.claims, sts, ordinal)
        sc.with_claims(sts, pod, ordinal)
        try:
            await self.client.create(pod)
        except errors.AlreadyExistsError:
            return  # an earlier sync made it; the cache has not shown it yet
        except errors.APIError as err:
            self.recorder.emit(
                sts,
                "Warning",
                "FailedCreate",
                f"create Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} failed "
                f"error: {err}",
            )
            raise
        self.recorder.emit(
            sts,
            "Normal",
            "SuccessfulCreate",
            f"create Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} successful",
        )

    async def _delete(self, sts: Any, pod: Any) -> None:
        ordinal = su.ordinal_of(sts, pod)
        if ordinal is not None:  # a condemned pod may hand its claims over
            await sc.set_owners(self.client, self.claims, sts, pod, ordinal)
        try:
            await self.client.delete(
                "Pod", pod.metadata.name, pod.metadata.namespace, uid=pod.metadata.uid
            )
        except (errors.NotFoundError, errors.PreconditionFailedError):
            return
        self.recorder.emit(
            sts,
            "Normal",
            "SuccessfulDelete",
            f"delete Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} successful",
        )

    # -- status ----------------------------------------------------------------------

    async def update_status(
        self, sts: Any, pods: list[Any], current: str, update: str
    ) -> float | None:
        now, min_ready = clock.time(), sts.spec.min_ready_seconds
        status = podutil.copy(sts.status)
        status.observed_generation = sts.metadata.generation
        status.replicas = len(pods)
        status.ready_replicas = sum(su.running_and_ready(p) for p in pods)
        status.available_replicas = sum(
            su.running_and_ready(p) and podutil.is_available(p, min_ready, now) for p in pods
        )
        alive = [p for p in pods if not su.is_terminating(p)]
        status.current_replicas = sum(su.revision_of(p) == current for p in alive)
        status.updated_replicas = sum(su.revision_of(p) == update for p in alive)
        status.current_revision, status.update_revision = current, update
        if (
            sts.spec.update_strategy.type == "RollingUpdate"
            and status.updated_replicas == status.replicas
            and status.ready_replicas == status.replicas
        ):
            status.current_replicas = status.updated_replicas
            status.current_revision = update
        if status != sts.status:
            updated = podutil.copy(sts)
            updated.status.CopyFrom(status)
            with contextlib.suppress(errors.NotFoundError):
                await self.client.update_status(updated)
        waits = [podutil.seconds_until_available(p, min_ready, now) for p in pods]
        pending = [w for w in waits if w > 0]
        return min(pending) + 0.5 if pending else None


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("statefulset", StatefulSetController)

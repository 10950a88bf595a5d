"""The Deployment controller: a ReplicaSet per pod template, rolled from old
to new by the strategy (Kubernetes' ``DeploymentController``).

This module owns the loop and the ReplicaSets' bookkeeping (claiming, the
new ReplicaSet and its revision, history cleanup, status and conditions);
:mod:`deployment_rollout` owns the strategies themselves.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, selectors
from shoal.api.v1 import apps_pb2
from shoal.client import object_key
from shoal.controller import Controller
from shoal.plugins.controllers import deployment_util as du
from shoal.plugins.controllers import podutil
from shoal.registry import Registry

log = structlog.get_logger("deployment")


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.deployments = self.watch("Deployment")
        self.sets = self.informer("ReplicaSet")
        self.sets.add_handler(
            self._set_changed, lambda old, new: self._set_changed(new), self._set_changed
        )

    def _set_changed(self, rs: Any) -> None:
        ref = podutil.controller_of(rs)
        if ref is not None and ref.kind == "Deployment":
            self.queue.add(f"{rs.metadata.namespace}/{ref.name}")
            return
        for deploy in self.deployments.by_index("namespace", rs.metadata.namespace):
            if self.selector(deploy).matches(rs.metadata.labels):
                self.enqueue(deploy)

    @staticmethod
    def selector(deploy: Any) -> selectors.LabelSelector:
        return selectors.label_selector_from_proto(deploy.spec.selector)

    # -- reconcile --------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        from shoal.plugins.controllers import deployment_rollout as rollout

        namespace, name = podutil.split_key(key)
        deploy = self.deployments.get(name, namespace)
        if deploy is None:
            return None
        deploy = podutil.copy(deploy)
        sets = await self.claim_sets(deploy)
        try:
            du.surge_and_unavailable(deploy)
        except du.StrategyError as err:
            self.recorder.emit(deploy, "Warning", "InvalidStrategy", str(err))
            return None
        return await rollout.sync(self, deploy, sets)

    async def claim_sets(self, deploy: Any) -> list[Any]:
        selector, uid = self.selector(deploy), deploy.metadata.uid
        deleting = deploy.metadata.HasField("deletion_timestamp") or selector.is_empty()
        claimed = []
        for rs in self.sets.by_index("namespace", deploy.metadata.namespace):
            ref = podutil.controller_of(rs)
            matches = selector.matches(rs.metadata.labels) and not selector.is_empty()
            if ref is not None and ref.uid == uid:
                if matches:
                    claimed.append(rs)
                elif not rs.metadata.HasField("deletion_timestamp"):
                    await podutil.release(self.client, deploy, rs)
            elif ref is None and matches and not deleting:
                claimed.append(await podutil.adopt(self.client, deploy, rs))
        return claimed

    # -- the new ReplicaSet and revisions -----------------------------------------

    async def sync_new_set(self, deploy: Any, sets: list[Any], create: bool) -> Any | None:
        """Find (or create) the new ReplicaSet and give it the next revision."""
        new, old = du.split_sets(deploy, sets)
        next_revision = max((du.revision(rs) for rs in old), default=0) + 1
        if new is not None:
            new = await self._bump_revision(deploy, new, next_revision)
        elif create:
            new = await self._create_new_set(deploy, sets, next_revision)
        if new is not None:
            await self._set_deploy_revision(deploy, du.revision(new))
        return new

    async def _bump_revision(self, deploy: Any, rs: Any, next_revision: int) -> Any:
        wanted = dict(du.copied_annotations(deploy))
        if du.revision(rs) < next_revision:
            wanted[du.REVISION] = str(next_revision)
        if all(rs.metadata.annotations.get(k) == v for k, v in wanted.items()):
            self._found_condition(deploy, rs)
            return rs
        updated = podutil.copy(rs)
        updated.metadata.annotations.update(wanted)
        self._found_condition(deploy, rs)
        return await self.client.update(updated)

    def _found_condition(self, deploy: Any, rs: Any) -> None:
        if du.get_condition(deploy.status, "Progressing") is None:
            du.set_condition(
                deploy.status,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                f'Found new replica set "{rs.metadata.name}"',
            )

    async def _create_new_set(self, deploy: Any, sets: list[Any], revision: int) -> Any:
        collisions = deploy.status.collision_count
        for _attempt in range(5):
            rs = self._new_set(deploy, revision, collisions)
            rs.spec.replicas = du.new_rs_replicas(deploy, sets, rs)
            try:
                created = await self.client.create(rs)
            except errors.AlreadyExistsError:
                existing = await self.client.get(
                    "ReplicaSet", rs.metadata.name, rs.metadata.namespace
                )
                ref = podutil.controller_of(existing)
                if (
                    ref is not None
                    and ref.uid == deploy.metadata.uid
                    and du.equal_ignoring_hash(existing.spec.template, deploy.spec.template)
                ):
                    return existing
                collisions += 1
                deploy.status.collision_count = collisions
                continue
            self._created_events(deploy, created)
            return created
        raise errors.ConflictError(f"could not name a new replica set for {deploy.metadata.name}")

    def _created_events(self, deploy: Any, rs: Any) -> None:
        name = rs.metadata.name
        if rs.spec.replicas > 0:
            self.recorder.emit(
                deploy,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {name} to {rs.spec.replicas}",
            )
        du.set_condition(
            deploy.status,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            f'Created new replica set "{name}"',
        )

    @staticmethod
    def _new_set(deploy: Any, revision: int, collisions: int) -> Any:
        template_hash = du.template_hash(deploy.spec.template, collisions)
        rs = apps_pb2.ReplicaSet()
        m = rs.metadata
        m.name = f"{deploy.metadata.name}-{template_hash}"
        m.namespace = deploy.metadata.namespace
        m.labels.update(deploy.spec.template.metadata.labels)
        m.labels[du.HASH_LABEL] = template_hash
        m.annotations.update(du.copied_annotations(deploy))
        m.annotations[du.REVISION] = str(revision)
        surge = du.max_surge(deploy)
        m.annotations[du.DESIRED_REPLICAS] = str(deploy.spec.replicas)
        m.annotations[du.MAX_REPLICAS] = str(deploy.spec.replicas + surge)
        m.owner_references.append(podutil.controller_ref(deploy))
        rs.spec.min_ready_seconds = deploy.spec.min_ready_seconds
        rs.spec.selector.CopyFrom(deploy.spec.selector)
        rs.spec.selector.match_labels[du.HASH_LABEL] = template_hash
        rs.spec.template.CopyFrom(deploy.spec.template)
        rs.spec.template.metadata.labels[du.HASH_LABEL] = template_hash
        return rs

    async def _set_deploy_revision(self, deploy: Any, revision: int) -> None:
        if deploy.metadata.annotations.get(du.REVISION) == str(revision):
            return
        updated = podutil.copy(deploy)
        updated.ClearField("status")
        updated.metadata.annotations[du.REVISION] = str(revision)
        written = await self.client.update(updated)
        deploy.metadata.CopyFrom(written.metadata)

    # -- scaling a ReplicaSet ------------------------------------------------------

    async def scale(self, deploy: Any, rs: Any, replicas: int) -> Any:
        """Set a ReplicaSet's size (and the annotations that remember the
        Deployment's size then), with the event ``kubectl describe`` shows."""
        surge = du.max_surge(deploy)
        annotations = {
            du.DESIRED_REPLICAS: str(deploy.spec.replicas),
            du.MAX_REPLICAS: str(deploy.spec.replicas + surge),
        }
        same_notes = all(rs.metadata.annotations.get(k) == v for k, v in annotations.items())
        if rs.spec.replicas == replicas and same_notes:
            return rs
        updated = podutil.copy(rs)
        updated.spec.replicas = replicas
        updated.spec.min_ready_seconds = deploy.spec.min_ready_seconds
        updated.metadata.annotations.update(annotations)
        written = await self.client.update(updated)
        if rs.spec.replicas != replicas:
            way = "up" if replicas > rs.spec.replicas else "down"
            self.recorder.emit(
                deploy,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {way} replica set {rs.metadata.name} to {replicas}",
            )
        return written

    async def cleanup_history(self, deploy: Any, old: list[Any]) -> None:
        """Delete the oldest ReplicaSets beyond ``revisionHistoryLimit`` that
        have scaled to zero."""
        if not deploy.spec.HasField("revision_history_limit"):
            return
        idle = [
            rs
            for rs in old
            if rs.spec.replicas == 0
            and rs.status.replicas == 0
            and not rs.metadata.HasField("deletion_timestamp")
        ]
        excess = len(idle) - deploy.spec.revision_history_limit
        for rs in sorted(idle, key=du.revision)[: max(excess, 0)]:
            log.info(
                "deleting old replica set",
                deployment=object_key(deploy),
                replicaset=rs.metadata.name,
            )
            with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
                await self.client.delete(
                    "ReplicaSet", rs.metadata.name, rs.metadata.namespace, uid=rs.metadata.uid
                )


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("deployment", DeploymentController)

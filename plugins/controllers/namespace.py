"""The namespace controller: a namespace being deleted has everything in it
deleted, then gives up its ``kubernetes`` finalizer so the API server can
remove it (Kubernetes' ``NamespaceController``).

The API server marks the namespace (deletionTimestamp, phase Terminating,
no new content accepted); this controller lists every namespaced kind in it
and deletes what it finds, and looks again until nothing is left: pods on
nodes wait for their agent, and objects with finalizers for whoever owns
them.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, kinds
from shoal.controller import Controller
from shoal.plugins.controllers import podutil
from shoal.registry import Registry

log = structlog.get_logger("namespace")

FINALIZER = "kubernetes"
# While content remains, look again after this long.
RECHECK_SECONDS = 0.5


class NamespaceController(Controller):
    name = "namespace"
    workers = 2

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        self.namespaces = self.watch("Namespace")

    async def reconcile(self, key: Any) -> float | None:
        namespace = self.namespaces.get(key)
        if namespace is None or not namespace.metadata.HasField("deletion_timestamp"):
            return None
        if FINALIZER not in namespace.spec.finalizers:
            return None
        remaining = 0
        for kind in kinds.all_kinds():
            if kind.namespaced:
                remaining += await self._delete_all(kind.kind, key)
        if remaining:
            log.info("namespace still has content", namespace=key, remaining=remaining)
            return RECHECK_SECONDS
        await self._finalize(namespace)
        return None

    async def _delete_all(self, kind: str, namespace: str) -> int:
        """Delete every ``kind`` in ``namespace``; how many are still held
        (by finalizers or a grace period)."""
        held = 0
        for obj in (await self.client.list(kind, namespace)).items:
            if obj.metadata.HasField("deletion_timestamp"):
                held += 1
                continue
            with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
                gone = await self.client.delete(
                    kind, obj.metadata.name, namespace, uid=obj.metadata.uid
                )
                held += gone.metadata.HasField("deletion_timestamp")
        return held

    async def _finalize(self, namespace: Any) -> None:
        updated = podutil.copy(namespace)
        kept = [f for f in updated.spec.finalizers if f != FINALIZER]
        del updated.spec.finalizers[:]
        updated.spec.finalizers.extend(kept)
        log.info("namespace emptied; finalizing", namespace=namespace.metadata.name)
        with contextlib.suppress(errors.NotFoundError):
            await self.client.update(updated)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("namespace", NamespaceController)

"""Namespace lifecycle admission: content goes only into a namespace that
exists and is not terminating.

The state of every namespace is kept from a store watch, so a create does not
read its namespace each time. The watch may lag a write by a moment: a name
the cache has not seen is read from the store, and a namespace deleted a
moment ago is swept by the namespace controller, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from shoal import errors, kinds
from shoal.apiserver import codec
from shoal.store import KeyValue, Store, StoreError

log = structlog.get_logger("apiserver")


class NamespaceLifecycle:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.kind = kinds.resolve("Namespace")
        self._terminating: dict[str, bool] = {}  # name -> being deleted
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        prefix = codec.kind_prefix(self.kind)
        kvs, revision = await self.store.list(prefix)
        for kv in kvs:
            self._remember(kv)
        self._task = asyncio.create_task(self._follow(prefix, revision))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self, prefix: str, revision: int) -> None:
        while True:
            try:
                async for event in self.store.watch(prefix, revision):
                    revision = event.revision
                    if event.type == "DELETE":
                        self._terminating.pop(event.kv.key[len(prefix) :], None)
                    else:
                        self._remember(event.kv)
            except StoreError as err:  # closed, compacted, overflowed: start over
                log.info("namespace watch restarting", error=str(err))
                self._terminating.clear()
                kvs, revision = await self.store.list(prefix)
                for kv in kvs:
                    self._remember(kv)
                await asyncio.sleep(0.1)

    def _remember(self, kv: KeyValue) -> None:
        ns = codec.decode(self.kind, kv)
        self._terminating[ns.metadata.name] = ns.metadata.HasField("deletion_timestamp")

    async def admit_create(self, plural: str, name: str, namespace: str) -> None:
        terminating = self._terminating.get(namespace)
        if terminating is None:
            kv = await self.store.get(codec.object_key(self.kind, "", namespace))
            if kv is None:
                raise errors.not_found("namespaces", namespace)
            terminating = codec.decode(self.kind, kv).metadata.HasField("deletion_timestamp")
        if terminating:
            raise errors.ForbiddenError(
                f'{plural} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated"
            )

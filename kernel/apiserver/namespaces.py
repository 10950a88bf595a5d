"""Namespace lifecycle admission: content goes only into a namespace that
exists and is not terminating.

The state of every namespace is kept by a :class:`StoreCache` (list, then
watch), so a create does not read its namespace each time. The cache may lag
a write by a moment: a name it has not seen is read from the store, and a
namespace deleted a moment ago is swept by the namespace controller, as in
Kubernetes.
"""

from __future__ import annotations

from typing import Any

from shoal import errors, kinds
from shoal.apiserver import codec
from shoal.apiserver.storecache import StoreCache
from shoal.store import Store


class NamespaceLifecycle:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.kind = kinds.resolve("Namespace")
        self._terminating: dict[str, bool] = {}  # name -> being deleted
        self._cache = StoreCache(store, self.kind, self._changed)

    async def start(self) -> None:
        await self._cache.start()

    async def stop(self) -> None:
        await self._cache.stop()

    def _changed(self, key: str, ns: Any | None) -> None:
        name = key.rsplit("/", 1)[-1]
        if ns is None:
            self._terminating.pop(name, None)
        else:
            self._terminating[name] = ns.metadata.HasField("deletion_timestamp")

    async def admit_create(self, plural: str, name: str, namespace: str, group: str = "") -> None:
        terminating = self._terminating.get(namespace)
        if terminating is None:
            kv = await self.store.get(codec.object_key(self.kind, "", namespace))
            if kv is None:
                raise errors.not_found("namespaces", namespace)
            terminating = codec.decode(self.kind, kv).metadata.HasField("deletion_timestamp")
        if terminating:
            raise errors.ForbiddenError(
                f'{plural} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated",
                name=name,
                group=group,
                kind=plural,
            )

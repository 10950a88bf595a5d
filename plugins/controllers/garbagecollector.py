"""The garbage collector: objects whose owners are gone are deleted, like
Kubernetes' ``garbagecollector``.

The API server does the first half of a delete: ``propagationPolicy``
Background removes the owner at once, Foreground marks it (deletionTimestamp
and the ``foregroundDeletion`` finalizer), Orphan marks it with ``orphan``.
This controller does the rest, from informers over every kind that can own
or be owned:

* a dependent whose owners (by uid) are all gone is deleted; references to
  owners that are gone are dropped if a live owner remains;
* a foreground-deleted owner has its dependents deleted, and loses its
  finalizer once none that ``blockOwnerDeletion`` remain;
* an orphaning owner has its reference removed from every dependent, then
  loses its ``orphan`` finalizer.

Work keys are ``(kind, namespace, name)``; a custom kind (a
CustomResourceDefinition's) goes by ``plural.version.group``, since two
groups may both add a "CronTab". Custom kinds are followed as their
definitions come (an informer over CustomResourceDefinitions), learnt from
the definition when this process does not know them yet.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, kinds
from shoal.client import Informer
from shoal.controller import Controller
from shoal.plugins.controllers import podutil
from shoal.registry import Registry

log = structlog.get_logger("garbagecollector")

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
# Kinds nothing owns in practice, written often: not worth a watch.
IGNORED_KINDS = frozenset({"Event", "Lease"})

Key = tuple[str, str, str]


def kind_name(kind: kinds.Kind) -> str:
    """How this controller names a kind: the kind, or for a custom kind (one
    of a generic message) its qualified resource."""
    if kinds.generic_message(kind.message) is None:
        return kind.kind
    return f"{kind.plural}.{kind.version}.{kind.group}"


def _key(obj: Any) -> Key:
    return (kind_name(kinds.for_message(obj)), obj.metadata.namespace, obj.metadata.name)


def _owner_uids(obj: Any) -> list[str]:
    return [ref.uid for ref in obj.metadata.owner_references]


class GarbageCollector(Controller):
    name = "garbagecollector"

    def __init__(self, client: Any, *, workers: int | None = None) -> None:
        super().__init__(client, workers=workers)
        seen: set[str] = set()
        for kind in kinds.all_kinds():
            if kind.kind not in IGNORED_KINDS and kind.resource not in seen:
                seen.add(kind.resource)  # one version of each resource
                self._follow(kind_name(kind))
        definitions = self.informer("CustomResourceDefinition")
        definitions.add_handler(
            self._definition, lambda old, new: self._definition(new), lambda obj: None
        )

    def _follow(self, name: str) -> Informer:
        informer = self.informer(name)
        informer.add_index("uid", lambda obj: [obj.metadata.uid])
        informer.add_index("owner", _owner_uids)
        informer.add_handler(self._changed, lambda old, new: self._changed(new), self._deleted)
        return informer

    def _definition(self, crd: Any) -> None:
        """Follow the storage version of a definition's kind once it is
        established (learning the kind if this process does not know it)."""
        from shoal.manifest import to_dict
        from shoal.plugins.kinds.apiextensions import crd_kinds, established, register_crd

        if not established(crd) or crd.metadata.HasField("deletion_timestamp"):
            return
        data = to_dict(crd)
        served = crd_kinds(data)
        if not served:
            return
        try:
            kinds.by_api_version_kind(served[0].api_version, served[0].kind)
        except kinds.UnknownKindError:
            with contextlib.suppress(ValueError):
                register_crd(data)
        if any(k.resource == served[0].resource and kind_name(k) in self.informers
               for k in kinds.all_kinds()):  # fmt: skip
            return  # followed already (through some version)
        self._follow(kind_name(served[0])).start()  # run() stops it with the others

    # -- events -> keys -------------------------------------------------------------

    def _changed(self, obj: Any) -> None:
        m = obj.metadata
        being_deleted = m.HasField("deletion_timestamp")
        if m.owner_references or (
            being_deleted and (FOREGROUND in m.finalizers or ORPHAN in m.finalizers)
        ):
            self.queue.add(_key(obj))
        if being_deleted:
            self._enqueue_owners(obj)

    def _deleted(self, obj: Any) -> None:
        for dependent in self.dependents(obj.metadata.uid):
            self.queue.add(_key(dependent))
        self._enqueue_owners(obj)

    def _enqueue_owners(self, obj: Any) -> None:
        """A dependent leaving may unblock an owner waiting in foreground."""
        for ref in obj.metadata.owner_references:
            owner = self.by_uid(ref.uid)
            if owner is not None and FOREGROUND in owner.metadata.finalizers:
                self.queue.add(_key(owner))

    # -- the graph, from the informers' indexes ------------------------------------------

    def dependents(self, uid: str) -> list[Any]:
        return [obj for inf in self.informers.values() for obj in inf.by_index("owner", uid)]

    def by_uid(self, uid: str) -> Any | None:
        for informer in self.informers.values():
            found = informer.by_index("uid", uid)
            if found:
                return found[0]
        return None

    def _informer(self, kind: str) -> Informer | None:
        return self.informers.get(kind)

    # -- reconcile -------------------------------------------------------------------

    async def reconcile(self, key: Any) -> float | None:
        kind, namespace, name = key
        informer = self._informer(kind)
        obj = informer.get(name, namespace) if informer is not None else None
        if obj is None:
            return None
        finalizers = obj.metadata.finalizers
        if obj.metadata.HasField("deletion_timestamp") and ORPHAN in finalizers:
            await self.orphan_dependents(obj)
            return None
        if obj.metadata.HasField("deletion_timestamp") and FOREGROUND in finalizers:
            await self.delete_dependents(obj)
            return None
        if obj.metadata.owner_references:
            await self.check_owners(obj)
        return None

    async def check_owners(self, obj: Any) -> None:
        refs = list(obj.metadata.owner_references)
        gone = [ref for ref in refs if not await self._owner_exists(obj, ref)]

        if not gone:
            return
        if len(gone) == len(refs):
            log.info("deleting object whose owners are gone", object=str(_key(obj)))
            with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
                await self.client.delete(
                    kinds.for_message(obj),
                    obj.metadata.name,
                    obj.metadata.namespace,
                    uid=obj.metadata.uid,
                    propagation_policy="Background",
                )
            return
        await self._drop_refs(obj, {ref.uid for ref in gone})

    async def _owner_exists(self, dependent: Any, ref: Any) -> bool:
        if self.by_uid(ref.uid) is not None:
            return True
        try:
            # by apiVersion first: two groups' kinds may share a name (CRDs)
            kind = kinds.by_api_version_kind(ref.api_version, ref.kind)
        except kinds.UnknownKindError:
            try:
                kind = kinds.resolve(ref.kind)
            except kinds.UnknownKindError:
                return True  # a kind we cannot look up: never delete on a guess
        namespace = dependent.metadata.namespace if kind.namespaced else ""
        try:
            # The cache may lag a new owner; only the API server can say it is gone.
            owner = await self.client.get(kind, ref.name, namespace)
        except errors.NotFoundError:
            return False
        return bool(owner.metadata.uid == ref.uid)

    async def _drop_refs(self, obj: Any, uids: set[str]) -> None:
        updated = podutil.copy(obj)
        kept = [r for r in updated.metadata.owner_references if r.uid not in uids]
        del updated.metadata.owner_references[:]
        updated.metadata.owner_references.extend(kept)
        with contextlib.suppress(errors.NotFoundError):
            await self.client.update(updated)

    async def orphan_dependents(self, owner: Any) -> None:
        for dependent in self.dependents(owner.metadata.uid):
            await self._drop_refs(dependent, {owner.metadata.uid})
        await self._remove_finalizer(owner, ORPHAN)

    async def delete_dependents(self, owner: Any) -> None:
        blocking = 0
        for dependent in self.dependents(owner.metadata.uid):
            ref = next(
                r for r in dependent.metadata.owner_references if r.uid == owner.metadata.uid
            )
            blocking += bool(ref.block_owner_deletion)
            if dependent.metadata.HasField("deletion_timestamp"):
                continue
            with contextlib.suppress(errors.NotFoundError, errors.PreconditionFailedError):
                await self.client.delete(
                    kinds.for_message(dependent),
                    dependent.metadata.name,
                    dependent.metadata.namespace,
                    uid=dependent.metadata.uid,
                    propagation_policy="Foreground",
                )
        if blocking == 0:
            await self._remove_finalizer(owner, FOREGROUND)

    async def _remove_finalizer(self, obj: Any, finalizer: str) -> None:
        updated = podutil.copy(obj)
        kept = [f for f in updated.metadata.finalizers if f != finalizer]
        del updated.metadata.finalizers[:]
        updated.metadata.finalizers.extend(kept)
        with contextlib.suppress(errors.NotFoundError):
            await self.client.update(updated)


@hookimpl
def register_controllers(registry: Registry[Any]) -> None:
    registry.register("garbagecollector", GarbageCollector)

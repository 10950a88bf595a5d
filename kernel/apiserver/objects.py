"""The object registry: create, get, list, update, patch and delete for every
kind, over a store. Plain Python, no gRPC: the service adapter calls this.

Writes follow Kubernetes' storage rules: the server owns uid,
creationTimestamp, generation and resourceVersion; updates are optimistic
(a stale resourceVersion is a conflict); deletion is graceful where
finalizers or a pod's grace period hold the object.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shoal import errors, kinds
from shoal.apiserver import codec, managedfields, meta
from shoal.apiserver.admission import AdmissionChain
from shoal.apiserver.apply import ServerSideApply
from shoal.apiserver.decoding import off_loop
from shoal.apiserver.fieldmanager import check_patch_options
from shoal.apiserver.history import (
    DeletedEntry,
    HistoryEntry,
    deleted_objects,
    object_history,
    recorded,
)
from shoal.apiserver.lists import ListResult, list_objects
from shoal.apiserver.namespaces import NamespaceLifecycle
from shoal.apiserver.patch import merge_metadata, merge_named_fields, parse_patch
from shoal.apiserver.serviceaccounts import ServiceAccountAdmission
from shoal.apiserver.services import ServiceAllocator
from shoal.apiserver.updates import check_identity, check_update
from shoal.apiserver.validate import MAX_OBJECT_BYTES, validate_object
from shoal.kinds import Kind
from shoal.store import KeyExistsError, KeyNotFoundError, KeyValue, RevisionConflictError, Store
from shoal.strategy import Reservation

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


class Guard(Protocol):
    async def check(self, operation: str, kind: Kind, obj: Any, old: Any | None) -> None: ...


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str = ""
    uid: str = ""
    resource_version: str = ""
    dry_run: bool = False


def _patch_verb(**options: Any) -> str:
    return "apply" if options.get("patch_type") == "apply" else "patch"


class ObjectRegistry(ServerSideApply):
    def __init__(
        self,
        store: Store,
        admission: AdmissionChain | None = None,
        services: ServiceAllocator | None = None,
        mount_service_account_tokens: bool = False,
        root_ca_pem: bytes = b"",
    ) -> None:
        """``mount_service_account_tokens``: pods get the kube-api-access
        volume (a server that signs tokens); ``root_ca_pem`` goes into each
        new namespace's kube-root-ca.crt."""
        self.store = store
        self.admission = admission or AdmissionChain(())
        self.namespaces = NamespaceLifecycle(store)
        self.services = services or ServiceAllocator()
        self.service_accounts = ServiceAccountAdmission(
            self, mount_service_account_tokens, root_ca_pem
        )
        # Checks that need the caller and the final object, after admission
        # and validation (RBAC's escalation check): ``await g.check(op, kind, new, old)``.
        self.guards: list[Guard] = []
        # Per-server state and helpers for the kinds' strategies (StorageContext).
        self.extensions: dict[str, Any] = {
            "services": self.services,
            "service_accounts": self.service_accounts,
        }

    async def start(self) -> None:
        """Let every kind's strategy rebuild its per-server state (the system
        namespaces, the Service allocations), then follow namespace state."""
        for kind in kinds.all_kinds():
            await kind.strategy.start(self)
        await self.namespaces.start()

    async def stop(self) -> None:
        await self.namespaces.stop()
        for kind in kinds.all_kinds():
            await kind.strategy.stop(self)

    # -- reads ---------------------------------------------------------------

    async def get(self, kind: Kind, namespace: str, name: str) -> Any:
        kv = await self.store.get(codec.object_key(kind, _ns(kind, namespace), name))
        if kv is None:
            raise errors.not_found(kind.plural, name, kind.group)
        return codec.decode(kind, kv)

    async def list(self, kind: Kind, namespace: str = "", **options: Any) -> ListResult:
        return await list_objects(self.store, kind, namespace, **options)

    async def history(
        self, kind: Kind, namespace: str, name: str, **paging: Any
    ) -> tuple[builtins.list[HistoryEntry], str]:
        """The retained revisions of one object, a page (``limit``,
        ``continue_token``) at a time (see ``history``)."""
        return await object_history(self.store, kind, _ns(kind, namespace), name, **paging)

    async def deleted(
        self, kind: Kind, namespace: str = "", **paging: Any
    ) -> tuple[builtins.list[DeletedEntry], str]:
        """The objects of ``kind`` that no longer exist (see ``history``)."""
        ns = namespace if kind.namespaced else ""
        return await deleted_objects(self.store, kind, ns, **paging)

    # -- create --------------------------------------------------------------

    @recorded("create")
    async def create(
        self, obj: Any, *, dry_run: bool = False, user: str = "", manager: str = ""
    ) -> Any:
        kind = kinds.for_message(obj)
        if not kind.strategy.stored:
            return await kind.strategy.create_unstored(self, _copy(obj), dry_run=dry_run, user=user)
        new = _copy(obj)
        self._prepare_create(kind, new)
        # a large object's field set is CPU work: off the event loop
        await off_loop(new.ByteSize(), managedfields.track_create, kind, new, manager)
        return await self._create(kind, new, dry_run=dry_run, user=user)

    async def _create(self, kind: Kind, new: Any, *, dry_run: bool, user: str) -> Any:
        """Admit, validate and store a prepared new object."""
        await self.admission.admit("CREATE", kind, new, None, user, self)
        # a large object's schema validation is CPU work: off the event loop
        await off_loop(new.ByteSize(), self._validate, kind, new)
        await self._guard("CREATE", kind, new, None)
        if kind.namespaced:
            await self.namespaces.admit_create(
                kind.plural, new.metadata.name, new.metadata.namespace, kind.group
            )
        strategy = kind.strategy
        await strategy.before_create(self, new)
        reservation = strategy.reserve(self, None, new)
        written = False
        try:
            if dry_run:
                return new
            stored = await self._store_create(kind, new)
            written = True
        finally:
            _settle(reservation, written)
        await strategy.after_create(self, stored)
        return stored

    def _prepare_create(self, kind: Kind, obj: Any) -> None:
        obj.api_version, obj.kind = kind.api_version, kind.kind
        m = obj.metadata
        if m.resource_version:
            raise errors.invalid(
                kind.kind,
                m.name,
                [("metadata.resourceVersion", "Invalid value: must not be set on create")],
                kind.group,
            )
        m.namespace = (m.namespace or "default") if kind.namespaced else ""
        if not m.name and m.generate_name:
            m.name = meta.generated_name(m.generate_name)
        for field in (
            "uid",
            "creation_timestamp",
            "deletion_timestamp",
            "deletion_grace_period_seconds",
        ):
            m.ClearField(field)
        m.uid, m.generation = meta.new_uid(), 1
        m.creation_timestamp.CopyFrom(meta.now())
        strategy = kind.strategy
        if strategy.reset_status_on_create:
            obj.ClearField("status")
        strategy.prepare_for_create(obj)
        strategy.default(obj)

    async def _store_create(self, kind: Kind, obj: Any) -> Any:
        for _attempt in range(3 if obj.metadata.generate_name else 1):
            key = codec.object_key(kind, obj.metadata.namespace, obj.metadata.name)
            try:
                kv = await self.store.create(key, codec.encode(obj, kind))
            except KeyExistsError:
                if obj.metadata.generate_name:  # a clash of generated names: draw again
                    obj.metadata.name = meta.generated_name(obj.metadata.generate_name)
                    continue
                raise errors.already_exists(kind.plural, obj.metadata.name, kind.group) from None
            obj.metadata.resource_version = str(kv.mod_revision)
            return obj
        raise errors.already_exists(kind.plural, obj.metadata.name, kind.group)

    def _validate(self, kind: Kind, obj: Any) -> None:
        causes = validate_object(kind, obj)
        if causes:
            raise errors.invalid(kind.kind, obj.metadata.name, causes, kind.group)
        size = obj.ByteSize()
        if size > MAX_OBJECT_BYTES:
            raise errors.InvalidError(
                f'{kind.kind} "{obj.metadata.name}" is too large: {size} bytes, '
                f"limit is {MAX_OBJECT_BYTES}"
            )

    async def _guard(self, operation: str, kind: Kind, new: Any, old: Any | None) -> None:
        for guard in self.guards:
            await guard.check(operation, kind, new, old)

    # -- update --------------------------------------------------------------

    @recorded("update")
    async def update(
        self, obj: Any, *, dry_run: bool = False, user: str = "", manager: str = ""
    ) -> Any:
        kind = kinds.for_message(obj)
        m = obj.metadata

        def replace(old: Any) -> Any:
            new = _copy(obj)
            new.api_version, new.kind = kind.api_version, kind.kind
            _keep_server_fields(kind, old, new)
            if kind.has_status:
                new.status.CopyFrom(old.status)
            kind.strategy.prepare_for_update(old, new)
            kind.strategy.default(new)
            managedfields.track_update(kind, old, new, manager)
            return new

        return await self._update(
            kind,
            m.namespace,
            m.name,
            replace,
            m.resource_version,
            dry_run=dry_run,
            user=user,
            uid=m.uid,
        )

    @recorded("update")
    async def update_status(
        self, obj: Any, *, dry_run: bool = False, user: str = "", manager: str = ""
    ) -> Any:
        kind = kinds.for_message(obj)
        if not kind.has_status:
            raise errors.NotFoundError(f"{kind.plural} have no status subresource")
        m = obj.metadata

        def replace_status(old: Any) -> Any:
            new = _copy(old)
            new.status.CopyFrom(obj.status)
            kind.strategy.prepare_for_status_update(old, new)
            managedfields.track_update(kind, old, new, manager, "status")
            return new

        return await self._update(
            kind,
            m.namespace,
            m.name,
            replace_status,
            m.resource_version,
            dry_run=dry_run,
            user=user,
            uid=m.uid,
        )

    @recorded(_patch_verb)
    async def patch(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        body: bytes,
        *,
        patch_type: str = "merge",
        status: bool = False,
        dry_run: bool = False,
        user: str = "",
        manager: str = "",
        force: bool = False,
    ) -> Any:
        if patch_type == "apply":
            return await self.apply(
                kind, namespace, name, body,
                manager=manager, force=force, status=status, dry_run=dry_run, user=user,
            )  # fmt: skip
        check_patch_options(manager, force)
        document = await off_loop(len(body), parse_patch, patch_type, body)
        precondition = str(document.get("metadata", {}).get("resourceVersion") or "")

        def apply(old: Any) -> Any:
            patched = _copy(old)
            if status or not merge_metadata(patched, document):
                patched = merge_named_fields(kind, patched, document)
            check_identity(kind, old.metadata.namespace, name, patched, old)
            if status:
                new = _copy(old)
                new.status.CopyFrom(patched.status)
                kind.strategy.prepare_for_status_update(old, new)
                managedfields.track_update(kind, old, new, manager, "status")
                return new
            self._settle_patched(kind, old, patched)
            managedfields.track_update(kind, old, patched, manager)
            return patched

        return await self._update(
            kind, namespace, name, apply, precondition, dry_run=dry_run, user=user
        )

    def _settle_patched(self, kind: Kind, old: Any, patched: Any) -> None:
        """What the server keeps of a patched (or applied) object's own."""
        patched.metadata.resource_version = old.metadata.resource_version
        _keep_server_fields(kind, old, patched)
        if kind.has_status:
            patched.status.CopyFrom(old.status)
        kind.strategy.prepare_for_update(old, patched)
        kind.strategy.default(patched)

    async def _update(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        mutate: Callable[[Any], Any],
        precondition: str,
        *,
        dry_run: bool,
        user: str,
        uid: str = "",
    ) -> Any:
        """Kubernetes' GuaranteedUpdate: read, mutate, write if unchanged since
        the read; without a resourceVersion precondition a race retries."""
        namespace = _ns(kind, namespace)
        key = codec.object_key(kind, namespace, name)
        while True:
            kv = await self.store.get(key)
            if kv is None:
                raise errors.not_found(kind.plural, name, kind.group)
            if precondition and precondition != str(kv.mod_revision):
                raise errors.conflict(kind.plural, name, kind.group)
            old = codec.decode(kind, kv)
            if uid and uid != old.metadata.uid:
                raise errors.ConflictError(
                    f"Precondition failed: UID in object meta: {uid}, UID in storage: "
                    f"{old.metadata.uid}"
                )
            # patching and tracking a large object is CPU work: off the event loop
            new = await off_loop(len(kv.value), mutate, _copy(old))
            new.metadata.resource_version = old.metadata.resource_version
            reservation = kind.strategy.reserve(self, old, new)
            stored = False
            try:
                await self.admission.admit("UPDATE", kind, new, old, user, self)
                await off_loop(len(kv.value), self._validate, kind, new)
                check_update(kind, old, new)
                await kind.strategy.before_update(self, old, new)
                await self._guard("UPDATE", kind, new, old)
                if meta.body_of(new) != meta.body_of(old):
                    new.metadata.generation = old.metadata.generation + 1
                if dry_run:
                    return new
                written = await self._write(kind, key, kv, old, new)
                stored = True
            except RevisionConflictError:
                if precondition:
                    raise errors.conflict(kind.plural, name, kind.group) from None
                continue
            except KeyNotFoundError:
                raise errors.not_found(kind.plural, name, kind.group) from None
            finally:
                _settle(reservation, stored)
            if written is not old:
                await kind.strategy.after_update(self, old, written)
            return written

    async def guaranteed_update(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        mutate: Callable[[Any], Any],
        precondition: str = "",
        *,
        dry_run: bool = False,
        user: str = "",
    ) -> Any:
        """Read, ``mutate``, write if unchanged since the read (for strategies:
        a Binding sets its pod's node this way)."""
        return await self._update(
            kind, namespace, name, mutate, precondition, dry_run=dry_run, user=user
        )

    async def _write(self, kind: Kind, key: str, kv: KeyValue, old: Any, new: Any) -> Any:
        if _deletion_done(kind, new):
            await self.store.delete(key, kv.mod_revision)
            kind.strategy.released(self, old)
            return new
        data = codec.encode(new, kind)
        if data == kv.value:  # a no-op update writes nothing, as in Kubernetes
            return old
        written = await self.store.update(key, data, kv.mod_revision)
        new.metadata.resource_version = str(written.mod_revision)
        return new

    # -- delete --------------------------------------------------------------

    @recorded("delete")
    async def delete(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        options: DeleteOptions | None = None,
        *,
        user: str = "",
    ) -> Any:
        opts = options or DeleteOptions()
        namespace = _ns(kind, namespace)
        key = codec.object_key(kind, namespace, name)
        while True:
            kv = await self.store.get(key)
            if kv is None:
                raise errors.not_found(kind.plural, name, kind.group)
            old = codec.decode(kind, kv)
            kind.strategy.check_delete(old)
            _check_delete_preconditions(kind, old, opts)
            await self.admission.admit("DELETE", kind, old, old, user, self)
            if opts.dry_run:
                return old
            try:
                done = await self._delete_or_mark(kind, key, kv, old, opts)
                await kind.strategy.after_delete(self, done)
                return done
            except RevisionConflictError:
                if opts.resource_version:
                    raise errors.conflict(kind.plural, name, kind.group) from None
            except KeyNotFoundError:
                raise errors.not_found(kind.plural, name, kind.group) from None

    async def _delete_or_mark(
        self, kind: Kind, key: str, kv: KeyValue, old: Any, opts: DeleteOptions
    ) -> Any:
        new = _copy(old)
        m = new.metadata
        for finalizer, policy in ((FOREGROUND, "Foreground"), (ORPHAN, "Orphan")):
            if opts.propagation_policy == policy and finalizer not in m.finalizers:
                m.finalizers.append(finalizer)
        strategy = kind.strategy
        grace = strategy.grace_period(old, opts.grace_period_seconds)
        held = bool(m.finalizers) or grace > 0 or not strategy.ready_to_delete(new)
        if not held:
            await self.store.delete(key, kv.mod_revision)
            strategy.released(self, old)
            return old
        if not m.HasField("deletion_timestamp") or grace < m.deletion_grace_period_seconds:
            stamp = meta.now()
            stamp.seconds += grace
            m.deletion_timestamp.CopyFrom(stamp)
            m.deletion_grace_period_seconds = grace
        strategy.mark_terminating(new)
        return await self._write(kind, key, kv, old, new)


def _ns(kind: Kind, namespace: str) -> str:
    return (namespace or "default") if kind.namespaced else ""


def _copy(obj: Any) -> Any:
    new = type(obj)()
    new.CopyFrom(obj)
    return new


def _keep_server_fields(kind: Kind, old: Any, new: Any) -> None:
    """Fields a client may not change on update: they keep their stored value."""
    o, n = old.metadata, new.metadata
    n.namespace = o.namespace
    n.uid, n.generation = o.uid, o.generation
    n.creation_timestamp.CopyFrom(o.creation_timestamp)
    if o.HasField("deletion_timestamp"):
        n.deletion_timestamp.CopyFrom(o.deletion_timestamp)
        n.deletion_grace_period_seconds = o.deletion_grace_period_seconds
    else:
        n.ClearField("deletion_timestamp")
        n.ClearField("deletion_grace_period_seconds")
    if n.generate_name != o.generate_name:
        n.generate_name = o.generate_name


def _deletion_done(kind: Kind, obj: Any) -> bool:
    """An object marked for deletion goes once nothing holds it any more: no
    finalizers, its grace period confirmed over (a pod's agent sets it to
    zero), and whatever its strategy waits for."""
    m = obj.metadata
    if not m.HasField("deletion_timestamp") or m.finalizers:
        return False
    return m.deletion_grace_period_seconds <= 0 and kind.strategy.ready_to_delete(obj)


def _settle(reservation: Reservation | None, stored: bool) -> None:
    """A stored write commits what its strategy reserved (freeing what it gave
    up); any other outcome rolls the reservation back."""
    if reservation is not None:
        (reservation.commit if stored else reservation.rollback)()


def _check_delete_preconditions(kind: Kind, obj: Any, opts: DeleteOptions) -> None:
    m = obj.metadata
    if opts.uid and opts.uid != m.uid:
        raise errors.PreconditionFailedError(
            f"Precondition failed: UID in precondition: {opts.uid}, UID in object meta: {m.uid}"
        )
    if opts.resource_version and opts.resource_version != m.resource_version:
        raise errors.conflict(kind.plural, m.name, kind.group)


__all__ = ["DeleteOptions", "ListResult", "ObjectRegistry"]

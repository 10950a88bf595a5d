"""The ``apiextensions.k8s.io/v1`` kind CustomResourceDefinition, and the
kinds it adds (docs/crds.md).

The strategy sets a definition's ``NamesAccepted`` and ``Established``
conditions when it is created, registers one kind per served version
(shoal.v1.CustomObject messages, a CustomResourceStrategy each) once it is
stored, again at every update and at every server start, and, when the
definition is deleted, deletes its objects (the
``customresourcecleanup.apiextensions.k8s.io`` finalizer) before the kinds
go away.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from shoal import errors, hookimpl, kinds
from shoal.api.v1 import apiextensions_pb2
from shoal.apiserver import meta
from shoal.kinds import Kind
from shoal.manifest import from_dict, to_dict
from shoal.plugins.kinds import crdvalidation
from shoal.plugins.kinds._register import kind, register_all
from shoal.plugins.kinds.customobjects import GENERIC, TERMINATING, CustomResourceStrategy
from shoal.registry import Registry
from shoal.strategy import Causes, StorageContext, Strategy

log = structlog.get_logger().bind(component="apiextensions")

FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_CLEANUPS = "apiextensions.cleanups"  # per-server: CRD name -> cleanup task
POLL_SECONDS = 0.2  # how often a cleanup looks for objects still held by finalizers


def crd_kinds(crd: dict[str, Any]) -> list[Kind]:
    """One kind per served version of a definition (JSON form), the storage
    version first (so that its names resolve to it)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = sorted(
        (v for v in spec.get("versions") or () if v.get("served")),
        key=lambda v: not v.get("storage"),
    )
    out = []
    for version in versions:
        strategy = CustomResourceStrategy(crd, version)
        out.append(
            Kind(
                kind=names["kind"],
                api_version=f"{spec['group']}/{version['name']}",
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                short_names=tuple(names.get("shortNames") or ()),
                namespaced=spec.get("scope") == "Namespaced",
                message=apiextensions_pb2.CustomObject,
                has_status=strategy.has_status,
                strategy=strategy,
            )
        )
    return out


def _registered(crd: dict[str, Any]) -> list[Kind]:
    """The kinds registered now for a definition's resource."""
    spec = crd.get("spec") or {}
    resource = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
    return [k for k in kinds.all_kinds() if k.resource == resource]


def register_crd(crd: dict[str, Any]) -> None:
    """Register (or refresh) a definition's kinds; versions no longer served go."""
    wanted = crd_kinds(crd)
    current = _registered(crd)
    if [(k.api_version, k) for k in current] != [(k.api_version, k) for k in wanted]:
        # versions or subresources changed: register afresh, storage version first
        for stale in current:
            kinds.unregister(stale)
    for new in wanted:
        kinds.register(new)  # the same kind again takes its new strategy (schema)


def unregister_crd(crd: dict[str, Any]) -> None:
    for gone in _registered(crd):
        kinds.unregister(gone)


def name_conflict(crd: dict[str, Any]) -> str:
    """The first of a definition's names that another resource of its group
    already uses (names are unique within a group)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group", ""), names.get("plural", "")
    wanted = [plural, names.get("singular", ""), names.get("kind", ""),
              *(names.get("shortNames") or ())]  # fmt: skip
    for name in filter(None, wanted):
        for owner in kinds.all_kinds():
            if owner.group == group and owner.plural != plural and name in owner.names():
                return str(name)
    return ""


def _condition(obj: Any, type_: str, status: str, reason: str, message: str) -> None:
    for cond in obj.status.conditions:
        if cond.type == type_:
            break
    else:
        cond = obj.status.conditions.add(type=type_)
    if cond.status != status:
        cond.last_transition_time.CopyFrom(meta.now())
    cond.status, cond.reason, cond.message = status, reason, message


def established(obj: Any) -> bool:
    return any(c.type == "Established" and c.status == "True" for c in obj.status.conditions)


class CustomResourceDefinitionStrategy(Strategy):
    def _json(self, obj: Any) -> dict[str, Any]:
        return to_dict(obj)

    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")
        obj.status.stored_versions.extend(v.name for v in obj.spec.versions if v.storage)
        if FINALIZER not in obj.metadata.finalizers:
            obj.metadata.finalizers.append(FINALIZER)

    def default(self, obj: Any) -> None:
        data = self._json(obj)
        crdvalidation.default(data)
        fixed = from_dict(data)
        obj.spec.CopyFrom(fixed.spec)  # type: ignore[attr-defined]
        if obj.status.accepted_names.kind:
            return
        # a new definition: accept its names unless another resource has them
        clash = name_conflict(data)
        if clash:
            _condition(obj, "NamesAccepted", "False", "NameConflict",
                       f'"{clash}" is already in use')  # fmt: skip
            _condition(obj, "Established", "False", "NotAccepted", "not all names are accepted")
            return
        obj.status.accepted_names.CopyFrom(obj.spec.names)
        _condition(obj, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
        _condition(obj, "Established", "True", "InitialNamesAccepted",
                   "the initial names have been accepted")  # fmt: skip

    def prepare_for_update(self, old: Any, new: Any) -> None:
        stored = list(old.status.stored_versions)
        for version in new.spec.versions:
            if version.storage and version.name not in stored:
                new.status.stored_versions.append(version.name)

    def validate(self, obj: Any) -> Causes:
        return crdvalidation.validate(self._json(obj))

    def validate_update(self, old: Any, new: Any) -> Causes:
        return crdvalidation.validate_update(self._json(old), self._json(new))

    async def after_create(self, context: StorageContext, obj: Any) -> None:
        await self._settle(context, obj)

    async def after_update(self, context: StorageContext, old: Any, new: Any) -> None:
        await self._settle(context, new)

    async def _settle(self, context: StorageContext, obj: Any) -> None:
        if obj.metadata.HasField("deletion_timestamp"):
            self._clean_up(context, obj)
            return
        if not established(obj):
            return
        try:
            register_crd(self._json(obj))
        except ValueError as err:  # a kind that another plugin added meanwhile
            log.warning("custom resource not registered", crd=obj.metadata.name, error=str(err))

    @staticmethod
    def _kind() -> Kind:
        return kinds.for_message(apiextensions_pb2.CustomResourceDefinition)

    def mark_terminating(self, obj: Any) -> None:
        _condition(obj, "Terminating", "True", "InstanceDeletionInProgress",
                   "CustomResource deletion is in progress")  # fmt: skip

    async def after_delete(self, context: StorageContext, obj: Any) -> None:
        if obj.metadata.HasField("deletion_timestamp"):
            self._clean_up(context, obj)

    def released(self, context: StorageContext, obj: Any) -> None:
        context.extensions.setdefault(TERMINATING, set()).discard(obj.metadata.name)
        task = context.extensions.get(_CLEANUPS, {}).pop(obj.metadata.name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        unregister_crd(self._json(obj))

    def _clean_up(self, context: StorageContext, obj: Any) -> None:
        """Delete the definition's objects, then drop its finalizer (once)."""
        name = obj.metadata.name
        context.extensions.setdefault(TERMINATING, set()).add(name)
        tasks: dict[str, asyncio.Task[None]] = context.extensions.setdefault(_CLEANUPS, {})
        if FINALIZER not in obj.metadata.finalizers or name in tasks:
            return
        task = asyncio.get_running_loop().create_task(self._delete_objects(context, obj))
        tasks[name] = task
        task.add_done_callback(lambda _t: tasks.pop(name, None) if tasks.get(name) is _t else None)

    async def _delete_objects(self, context: StorageContext, obj: Any) -> None:
        data = self._json(obj)
        served = _registered(data)
        try:
            if served:
                target = served[0]
                while True:
                    items = (await context.list(target)).items
                    if not items:
                        break
                    for item in items:
                        if not item.metadata.HasField("deletion_timestamp"):
                            with contextlib.suppress(errors.NotFoundError):
                                await context.delete(  # type: ignore[attr-defined]
                                    target, item.metadata.namespace, item.metadata.name
                                )
                    await asyncio.sleep(POLL_SECONDS)  # objects held by their finalizers

            def release(current: Any) -> Any:
                if FINALIZER in current.metadata.finalizers:
                    current.metadata.finalizers.remove(FINALIZER)
                return current

            await context.guaranteed_update(self._kind(), "", obj.metadata.name, release)
        except errors.NotFoundError:
            pass
        except Exception:
            log.exception("custom resource cleanup failed", crd=obj.metadata.name)

    async def start(self, context: StorageContext) -> None:
        """Register the kinds of every stored, established definition and
        resume the cleanup of the ones being deleted."""
        for crd in (await context.list(self._kind())).items:
            if established(crd):
                try:
                    register_crd(self._json(crd))
                except ValueError as err:
                    log.warning("custom resource not registered", crd=crd.metadata.name,
                                error=str(err))  # fmt: skip
            if crd.metadata.HasField("deletion_timestamp"):
                self._clean_up(context, crd)

    async def stop(self, context: StorageContext) -> None:
        for task in list(context.extensions.get(_CLEANUPS, {}).values()):
            task.cancel()


KINDS: tuple[Kind, ...] = (
    kind(
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
        apiextensions_pb2.CustomResourceDefinition,
        ("crd", "crds"),
        strategy=CustomResourceDefinitionStrategy(),
        namespaced=False,
        has_status=True,
    ),
)


@hookimpl
def register_kinds(registry: Registry[Kind]) -> None:
    kinds.register_generic_message(GENERIC)
    register_all(registry, *KINDS)

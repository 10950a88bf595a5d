"""Server-side apply in the registry: Kubernetes' ApplyPatchType, an upsert
whose merge and ownership rules live in ``fieldmanager``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from shoal import errors
from shoal.apiserver import managedfields
from shoal.apiserver.decoding import off_loop
from shoal.apiserver.fieldmanager import check_manager
from shoal.apiserver.manifests import from_json
from shoal.apiserver.updates import check_identity
from shoal.kinds import Kind


def namespace_of(kind: Kind, namespace: str) -> str:
    return (namespace or "default") if kind.namespaced else ""


def copy_of(obj: Any) -> Any:
    new = type(obj)()
    new.CopyFrom(obj)
    return new


class ServerSideApply:
    """The registry's ``apply``; the registry provides the write paths."""

    _update: Callable[..., Awaitable[Any]]
    _create: Callable[..., Awaitable[Any]]
    _prepare_create: Callable[[Kind, Any], None]
    _settle_patched: Callable[[Kind, Any, Any], None]

    async def apply(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        body: bytes,
        *,
        manager: str,
        force: bool = False,
        status: bool = False,
        dry_run: bool = False,
        user: str = "",
    ) -> Any:
        """Server-side apply: ``body`` is the manager's configuration of the
        object, which is created when missing (Kubernetes' ApplyPatchType)."""
        check_manager(manager, apply=True)
        config = await off_loop(len(body), managedfields.parse_config, kind, name, body)
        precondition = str(config["metadata"].get("resourceVersion") or "")

        def apply_to(old: Any) -> Any:
            new = from_json(kind, managedfields.applied(kind, old, config, manager, status))
            check_identity(kind, old.metadata.namespace, name, new, old)
            if status:
                patched, new = new, copy_of(old)
                new.status.CopyFrom(patched.status)
                kind.strategy.prepare_for_status_update(old, new)
            else:
                self._settle_patched(kind, old, new)
            managedfields.track_apply(kind, old, new, config, manager, force=force, status=status)
            return new

        for _attempt in range(2):
            try:
                return await self._update(
                    kind, namespace, name, apply_to, precondition, dry_run=dry_run, user=user
                )
            except errors.NotFoundError:
                if precondition or status:
                    raise
            try:
                return await self._create_applied(kind, namespace, config, manager, dry_run, user)
            except errors.AlreadyExistsError:
                continue  # created meanwhile: apply to it
        raise errors.conflict(kind.plural, name, kind.group)

    async def _create_applied(
        self, kind: Kind, namespace: str, config: dict[str, Any], manager: str,
        dry_run: bool, user: str,
    ) -> Any:  # fmt: skip
        new = from_json(kind, managedfields.applied(kind, None, config, manager))
        check_identity(kind, namespace_of(kind, namespace), new.metadata.name, new, new)
        new.metadata.namespace = namespace_of(kind, namespace)
        self._prepare_create(kind, new)
        track = functools.partial(managedfields.track_apply, force=True)
        await off_loop(new.ByteSize(), track, kind, None, new, config, manager)
        return await self._create(kind, new, dry_run=dry_run, user=user)

"""Admission: plugins that mutate or veto a write before it is stored.

Plugins come from the ``register_admission`` hook (see
:func:`shoal.hookspecs.register_admission`): objects with an optional
``mutate(request)`` and/or ``validate(request)``, either of which may be a
coroutine function. Every mutator runs before any validator, each in
registration order. A plugin refuses by raising
:class:`shoal.hookspecs.AdmissionError` (PERMISSION_DENIED, its message kept)
or an :class:`shoal.errors.APIError` (its own status, e.g. InvalidError);
any other exception refuses too, so a broken plugin fails closed.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import structlog
from shoal import auth, errors
from shoal.hookspecs import AdmissionError, AdmissionRequest
from shoal.kinds import Kind

log = structlog.get_logger("admission")


class AdmissionChain:
    def __init__(self, plugins: Sequence[tuple[str, Any]]) -> None:
        self.mutators = [(n, p.mutate) for n, p in plugins if hasattr(p, "mutate")]
        self.validators = [(n, p.validate) for n, p in plugins if hasattr(p, "validate")]

    async def admit(
        self,
        operation: str,
        kind: Kind,
        obj: Any,
        old: Any | None,
        user: str,
        context: Any = None,
    ) -> None:
        """``obj`` is what will be stored (for DELETE, the stored object);
        ``context`` is what plugins may read (a StorageContext)."""
        if not self.mutators and not self.validators:
            return
        target: Any = obj if obj is not None else old
        meta = target.metadata
        caller = auth.current_user()  # who the API server is serving now
        request = AdmissionRequest(
            operation=operation,  # type: ignore[arg-type]
            kind=kind.kind,
            namespace=meta.namespace,
            name=meta.name,
            object=None if operation == "DELETE" else obj,
            old_object=old,
            user=user or (caller.name if caller else ""),
            groups=caller.groups if caller else (),
            context=context,
        )
        for name, hook in [*self.mutators, *self.validators]:
            await _call(name, hook, request, kind)


async def _call(name: str, hook: Any, request: AdmissionRequest, kind: Kind) -> None:
    try:
        result = hook(request)
        if inspect.isawaitable(result):
            await result
    except errors.APIError:
        raise
    except Exception as err:
        if not isinstance(err, AdmissionError):
            log.exception("admission plugin failed", plugin=name)
        raise errors.ForbiddenError(
            f'{kind.plural} "{request.name}" is forbidden: admission plugin "{name}" '
            f"denied the request: {err}",
            name=request.name,
            group=kind.group,
            kind=kind.plural,
        ) from None

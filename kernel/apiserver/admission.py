"""Admission: plugins that mutate or veto a write before it is stored.

An admission plugin (registered through the ``register_admission`` hook) is
any object with an optional ``mutate(request)`` and/or ``validate(request)``;
either may be a coroutine function. Mutators run first, in registration order,
then validators. A validator refuses by raising an :class:`shoal.errors.APIError`
(ForbiddenError -> PERMISSION_DENIED, InvalidError -> INVALID_ARGUMENT), or
any other exception, which becomes PERMISSION_DENIED with its text as reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shoal import errors
from shoal.kinds import Kind


@dataclass
class AdmissionRequest:
    operation: str  # CREATE, UPDATE or DELETE
    kind: Kind
    namespace: str
    name: str
    object: Any  # the object to be stored (mutators may change it in place)
    old_object: Any | None
    user: str


class AdmissionChain:
    def __init__(self, plugins: Sequence[tuple[str, Any]]) -> None:
        self.mutators = [(n, p.mutate) for n, p in plugins if hasattr(p, "mutate")]
        self.validators = [(n, p.validate) for n, p in plugins if hasattr(p, "validate")]

    async def admit(self, operation: str, kind: Kind, obj: Any, old: Any | None, user: str) -> None:
        if not self.mutators and not self.validators:
            return
        request = AdmissionRequest(
            operation, kind, obj.metadata.namespace, obj.metadata.name, obj, old, user
        )
        for name, hook in [*self.mutators, *self.validators]:
            await _call(name, hook, request)


async def _call(name: str, hook: Any, request: AdmissionRequest) -> None:
    try:
        result = hook(request)
        if inspect.isawaitable(result):
            await result
    except errors.APIError:
        raise
    except Exception as err:  # a plugin's own failure still refuses, with its reason
        raise errors.ForbiddenError(
            f'{request.kind.plural} "{request.name}" is forbidden: admission plugin '
            f'"{name}" denied the request: {err}'
        ) from None

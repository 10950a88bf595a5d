"""What an update may not change: an object's identity (every kind, as
Kubernetes' checkName and ValidateObjectMetaUpdate) and what the kind's
strategy keeps fixed (Kubernetes' ValidateUpdate)."""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.kinds import Kind


def check_identity(kind: Kind, namespace: str, name: str, new: Any, old: Any) -> None:
    """A patch names its object in the request: the patched object must keep
    that name and namespace (else it would be stored under one key while
    saying another), and its uid. Kubernetes' words and codes: 400 for the
    name and namespace, 422 for the uid; an empty uid keeps the stored one."""
    m = new.metadata
    if m.name != name:
        raise errors.BadRequestError(
            f"the name of the object ({m.name}) does not match the name on the URL ({name})"
        )
    if kind.namespaced and m.namespace and m.namespace != namespace:
        raise errors.BadRequestError(
            f"the namespace of the object ({m.namespace}) does not match the namespace on "
            f"the URL ({namespace})"
        )
    if m.uid and m.uid != old.metadata.uid:
        causes = [("metadata.uid", f'Invalid value: "{m.uid}": field is immutable')]
        raise errors.invalid(kind.kind, name, causes)


def check_update(kind: Kind, old: Any, new: Any) -> None:
    """What the kind's strategy says an update may not change."""
    causes = kind.strategy.validate_update(old, new)
    if causes:
        raise errors.invalid(kind.kind, new.metadata.name, causes, kind.group)

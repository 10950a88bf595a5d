"""Objects to and from their Kubernetes JSON form, with API errors."""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.kinds import Kind
from shoal.manifest import ManifestError, from_dict, to_dict


def to_json(obj: Any) -> dict[str, Any]:
    return to_dict(obj)


def from_json(kind: Kind, data: dict[str, Any]) -> Any:
    """A patched document back to a typed object; its kind may not change."""
    data = {**data, "apiVersion": kind.api_version, "kind": kind.kind}
    try:
        return from_dict(data)
    except ManifestError as err:
        raise errors.InvalidError(str(err), [(getattr(err, "path", ""), str(err))]) from None

"""JSON merge patch (RFC 7386), what ``kubectl patch --type merge`` sends."""

from __future__ import annotations

from typing import Any

from shoal.apiserver.decoding import decode_json
from shoal.errors import BadRequestError


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target``: objects merge key by key, ``null``
    removes a key, anything else (lists included) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_patch(patch_type: str, body: bytes) -> dict[str, Any]:
    if patch_type not in ("", "merge"):
        raise BadRequestError(f'unsupported patch type "{patch_type}": supported: "merge", "apply"')
    document = decode_json(body or b"{}", "the patch")
    if not isinstance(document, dict):
        raise BadRequestError("a merge patch must be a JSON object")
    return document


# What a merge patch of metadata alone may hold to be applied to the typed
# object directly: ``kubectl label`` and ``annotate``, a controller adding or
# removing its finalizer (the resourceVersion is the patch's precondition).
_METADATA_KEYS = frozenset({"labels", "annotations", "finalizers", "resourceVersion"})


def merge_metadata(obj: Any, patch: dict[str, Any]) -> bool:
    """Apply ``patch`` to ``obj`` in place and say True when the patch
    changes nothing but metadata's labels, annotations and finalizers (with
    right-typed values): the result is what ``merge_patch`` on the object's
    JSON gives, without the round trip through JSON that costs more than the
    rest of the update. Any other patch is False, with ``obj`` untouched."""
    if not _metadata_only(patch):
        return False
    meta, wanted = obj.metadata, patch.get("metadata") or {}
    for name in ("labels", "annotations"):
        if name in wanted:
            _merge_map(getattr(meta, name), wanted[name])
    if "finalizers" in wanted:
        del meta.finalizers[:]
        meta.finalizers.extend(wanted["finalizers"] or ())
    return True


def _metadata_only(patch: dict[str, Any]) -> bool:
    if not set(patch) <= {"metadata", "apiVersion", "kind"}:
        return False
    if not all(isinstance(patch.get(k, ""), str) for k in ("apiVersion", "kind")):
        return False
    meta = patch.get("metadata", {})
    if not isinstance(meta, dict) or not set(meta) <= _METADATA_KEYS:
        return False
    return (
        all(_string_map_patch(meta.get(k)) for k in ("labels", "annotations"))
        and _strings_or_none(meta.get("finalizers"))
        and isinstance(meta.get("resourceVersion", ""), (str, type(None)))
    )


def _string_map_patch(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, dict) and all(isinstance(v, (str, type(None))) for v in value.values())


def _strings_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _merge_map(target: Any, patch: dict[str, str | None] | None) -> None:
    if patch is None:
        target.clear()
        return
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

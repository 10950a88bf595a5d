"""JSON merge patch (RFC 7386), what ``kubectl patch --type merge`` sends."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from shoal import kinds
from shoal.apiserver.decoding import decode_json
from shoal.apiserver.manifests import from_json, to_json
from shoal.errors import BadRequestError
from shoal.kinds import Kind


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


def merge_named_fields(kind: Kind, obj: Any, document: dict[str, Any]) -> Any:
    """``obj`` (a copy of the stored object, changed in place) merge-patched
    by ``document``, the patch's top-level fields alone taken through the
    object's JSON: a patch of ``spec`` or ``status`` converts that field, not
    the whole object with its managedFields. The fields it does not name stay
    as stored. A new object from the round trip of the whole one for a custom
    object, or a patch naming a field the kind does not have (whose error it
    words)."""
    named = [key for key in document if key not in ("apiVersion", "kind")]
    fields = _top_level_fields(kind)
    if kinds.generic_message(kind.message) is not None or not all(k in fields for k in named):
        return from_json(kind, merge_patch(to_json(obj), document))
    part = kind.message()
    for key in named:
        _copy_field(obj, part, fields[key])
    current = to_json(part)
    target = {key: current[key] for key in current if key in named}
    patched = from_json(kind, merge_patch(target, {k: document[k] for k in named}))
    for key in named:
        obj.ClearField(fields[key].name)
        _copy_field(patched, obj, fields[key])
    return obj


def _top_level_fields(kind: Kind) -> dict[str, FieldDescriptor]:
    return {f.json_name: f for f in kind.message.DESCRIPTOR.fields}


def _copy_field(source: Any, target: Any, field: FieldDescriptor) -> None:
    name = field.name
    if field.is_repeated:  # lists and maps alike
        getattr(target, name).MergeFrom(getattr(source, name))
    elif field.message_type is not None:
        if source.HasField(name):
            getattr(target, name).CopyFrom(getattr(source, name))
    elif not field.has_presence or source.HasField(name):
        setattr(target, name, getattr(source, name))

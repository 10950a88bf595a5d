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

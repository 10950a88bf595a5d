"""JSON patch (RFC 6902), ``kubectl patch --type json``."""

from __future__ import annotations

import copy
from typing import Any

from shoal.plugins.gateway.status import StatusError, bad_request


def json_patch(target: Any, operations: Any) -> Any:
    """``operations`` applied in order to a copy of ``target``."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    document = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op}")
        document = _apply(document, op)
    return document


def _apply(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op["op"], _pointer(op["path"])
    if kind == "test":
        if _get(doc, path) != op.get("value"):
            raise StatusError("Invalid", f"testing value {op['path']} failed")
        return doc
    if kind in ("move", "copy"):
        source = _pointer(op.get("from", ""))
        value = copy.deepcopy(_get(doc, source))
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, path, value)
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path)  # must exist
        return _add(_remove(doc, path), path, op.get("value"))
    if kind == "add":
        return _add(doc, path, op.get("value"))
    raise bad_request(f'unknown JSON patch operation "{kind}"')


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise bad_request(f'invalid JSON pointer "{text}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in text[1:].split("/")]


def _step(container: Any, part: str, path: list[str]) -> Any:
    try:
        if isinstance(container, list):
            return container[int(part)]
        return container[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise StatusError(
            "Invalid", f"the path /{'/'.join(path)} does not exist in the object"
        ) from None


def _get(doc: Any, path: list[str]) -> Any:
    for i, part in enumerate(path):
        doc = _step(doc, part, path[: i + 1])
    return doc


def _add(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent, last = _get(doc, path[:-1]), path[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else _index(last, len(parent) + 1)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise StatusError("Invalid", f"cannot add to /{'/'.join(path)}")
    return doc


def _remove(doc: Any, path: list[str]) -> Any:
    if not path:
        return None
    parent, last = _get(doc, path[:-1]), path[-1]
    _step(parent, last, path)
    if isinstance(parent, list):
        parent.pop(int(last))
    else:
        del parent[last]
    return doc


def _index(text: str, bound: int) -> int:
    if not text.isdigit() or int(text) >= bound:
        raise StatusError("Invalid", f"index {text} is out of range")
    return int(text)

"""JSON patch (RFC 6902), ``kubectl patch --type json``.

Bounded as Kubernetes bounds it: at most ``MAX_OPERATIONS`` operations
(413), and what ``copy`` operations add up to at most ``MAX_COPIED_BYTES``
(422): each copy can double the document, so a kilobyte of copies would
otherwise make gigabytes."""

from __future__ import annotations

import copy
import json
from typing import Any

from shoal import errors
from shoal.apiserver.decoding import MAX_REQUEST_BYTES
from shoal.plugins.gateway.status import StatusError, bad_request

MAX_OPERATIONS = 10_000  # Kubernetes' maxJSONPatchOperations
MAX_COPIED_BYTES = MAX_REQUEST_BYTES  # Kubernetes' AccumulatedCopySizeLimit


def check_operations(operations: Any) -> list[Any]:
    """The operations of a patch document, before any is applied."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    if len(operations) > MAX_OPERATIONS:
        raise errors.RequestEntityTooLargeError(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
            f"got {len(operations)}"
        )
    return operations


def json_patch(target: Any, operations: Any) -> Any:
    """``operations`` applied in order to a copy of ``target``."""
    budget = [MAX_COPIED_BYTES]
    document = copy.deepcopy(target)
    for op in check_operations(operations):
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path"), str)
        ):
            raise bad_request(f"invalid JSON patch operation: {str(op)[:200]}")
        document = _apply(document, op, budget)
    return document


def _copied(value: Any, budget: list[int]) -> Any:
    """A copy of ``value``, charged to the patch's copy budget first."""
    size = len(json.dumps(value, separators=(",", ":")))
    budget[0] -= size
    if budget[0] < 0:
        raise StatusError(
            "Invalid",
            f"Unable to complete the copy, the accumulated size increase of copy exceeds the "
            f"limit {MAX_COPIED_BYTES} bytes",
        )
    return copy.deepcopy(value)


def _apply(doc: Any, op: dict[str, Any], budget: list[int]) -> Any:
    kind, path = op["op"], _pointer(op["path"])
    if kind == "test":
        if _get(doc, path) != op.get("value"):
            raise StatusError("Invalid", f"testing value {op['path']} failed")
        return doc
    if kind in ("move", "copy"):
        source = _pointer(op.get("from", ""))
        found = _get(doc, source)
        value = _copied(found, budget) if kind == "copy" else found
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


def _pointer(text: Any) -> list[str]:
    if not isinstance(text, str):
        raise bad_request(f"invalid JSON pointer {str(text)[:100]}: not a string")
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
    if not (text.isascii() and text.isdigit()) or int(text) >= bound:
        raise StatusError("Invalid", f"index {text} is out of range")
    return int(text)

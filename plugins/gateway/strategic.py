"""Strategic merge patch, the patch ``kubectl apply`` and ``kubectl patch``
send by default: like a JSON merge patch, except that lists of named things
(containers, ports, env, volumes...) merge item by item on their merge key
instead of being replaced, and ``$patch`` / ``$setElementOrder`` /
``$deleteFromPrimitiveList`` / ``$retainKeys`` directives are obeyed.

Kubernetes reads the merge keys from its Go struct tags; these are the same
keys for the fields shoal's kinds have.
"""

from __future__ import annotations

import copy
from typing import Any

from shoal.apiserver.fieldpaths import MERGE_KEYS, SET_LISTS
from shoal.plugins.gateway.status import bad_request

# Strategic merge uses the merge keys and set-like lists server-side apply
# keys its field sets by (shoal.apiserver.fieldpaths), so the two agree.
MERGED_PRIMITIVES = SET_LISTS
PATCH = "$patch"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
RETAIN = "$retainKeys"


def strategic_merge(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` (neither is changed)."""
    if not isinstance(patch, dict):
        raise bad_request("a strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(target) if isinstance(target, dict) else {}, patch)


def _merge_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get(PATCH)
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != PATCH}
    if directive == "delete":
        return {}
    if RETAIN in patch:
        keep = set(patch[RETAIN] or []) | {k for k in patch if not k.startswith("$")}
        target = {k: v for k, v in target.items() if k in keep}
    for key, value in patch.items():
        if key.startswith(DELETE_PRIMITIVE):
            field = key[len(DELETE_PRIMITIVE) :]
            gone = set(map(str, value or []))
            target[field] = [v for v in target.get(field) or [] if str(v) not in gone]
        elif not key.startswith("$"):
            _merge_field(target, key, value)
    for key, order in patch.items():
        if key.startswith(ORDER) and isinstance(target.get(key[len(ORDER) :]), list):
            field = key[len(ORDER) :]
            target[field] = _ordered(target[field], order or [], _merge_key(field, order or []))
    return target


def _merge_field(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    elif isinstance(value, dict):
        current = target.get(key)
        target[key] = _merge_map(current if isinstance(current, dict) else {}, value)
    elif isinstance(value, list):
        target[key] = _merge_list(key, target.get(key), value)
    else:
        target[key] = value


def _merge_key(field: str, items: list[Any]) -> str:
    if field == "ports":  # container ports merge on containerPort, service ports on port
        named = any(isinstance(i, dict) and "containerPort" in i for i in items)
        return "containerPort" if named else "port"
    return MERGE_KEYS.get(field, "")


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current = current if isinstance(current, list) else []
    if field in MERGED_PRIMITIVES:
        present = {_identity(v) for v in current}
        return current + [v for v in patch if _identity(v) not in present]
    key = _merge_key(field, current + patch)
    if not key or not all(isinstance(i, dict) for i in patch):
        return [i for i in patch if not (isinstance(i, dict) and i.get(PATCH))]
    if any(i.get(PATCH) == "replace" for i in patch):
        return [i for i in patch if i.get(PATCH) != "replace"]
    return _merge_items(list(current), key, patch)


_GONE = object()


def _identity(value: Any) -> Any:
    """A dict key equal where the values are equal (``==``), for unhashable ones too:
    items are found by index, not by a scan per item, so a long list costs
    linear time, not quadratic."""
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value


def _merge_items(merged: list[Any], key: str, patch: list[dict[str, Any]]) -> list[Any]:
    where: dict[Any, int] = {}
    for i, old in enumerate(merged):
        if isinstance(old, dict):
            where.setdefault(_identity(old.get(key)), i)
    for item in patch:
        if key not in item:
            raise bad_request(f"map: {str(item)[:200]} does not contain declared merge key: {key}")
        ident = _identity(item[key])
        index = where.get(ident)
        if item.get(PATCH) == "delete":
            if index is not None:
                merged[index] = _GONE
                del where[ident]
        elif index is None:
            where[ident] = len(merged)
            merged.append({k: v for k, v in item.items() if k != PATCH})
        else:
            merged[index] = _merge_map(merged[index], item)
    return [i for i in merged if i is not _GONE]


def _ordered(items: list[Any], order: list[Any], key: str) -> list[Any]:
    """Items in the order ``$setElementOrder`` gives; the rest keep their place after."""

    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    rank = {repr(identity(o)): i for i, o in enumerate(order)}
    ordered = sorted(
        (i for i in items if repr(identity(i)) in rank), key=lambda i: rank[repr(identity(i))]
    )
    return ordered + [i for i in items if repr(identity(i)) not in rank]

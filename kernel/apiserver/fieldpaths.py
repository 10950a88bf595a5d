"""Field paths and field sets in Kubernetes' terms (sigs.k8s.io/
structured-merge-diff): what server-side apply records in
``metadata.managedFields``.

A path is a tuple of elements: ``f:<name>`` (a field of an object or a key
of a map), ``k:<json>`` (an item of an associative list, by its key
fields), ``v:<json>`` (a value of a set-like list of scalars) and ``i:<n>``
(an item by index, for an associative list's item that lacks its key).
Other lists are atomic, as Kubernetes' schemas make every list without a
list type: the list is one value, owned whole.

A set of paths travels as FieldsV1: a tree of those elements, ``{}`` at a
leaf, ``"."`` marking a node that is itself in the set (a list item whose
fields are listed under it).
"""

from __future__ import annotations

import json
from typing import Any

Path = tuple[str, ...]

# field name -> the fields its list items are keyed by: the merge keys of
# strategic merge (Kubernetes' patchMergeKey / listMapKeys).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "taints": "key",
    "addresses": "type",
    "resourceClaims": "name",
}
# lists of scalars that are sets (listType: set)
SET_LISTS = frozenset({"finalizers"})
# A list item's own membership (a marker, never a field value).
ITEM = ("<item>",)


def list_keys(field: str, items: list[Any]) -> tuple[str, ...]:
    """The key fields of ``field``'s items; empty for an atomic list. Ports
    are keyed by port and protocol, as Kubernetes' listMapKeys."""
    if field == "ports":
        named = any(isinstance(i, dict) and "containerPort" in i for i in items)
        return ("containerPort" if named else "port", "protocol")
    key = MERGE_KEYS.get(field)
    return (key,) if key else ()


def item_element(keys: tuple[str, ...], item: dict[str, Any], index: int) -> str:
    """``k:{"name":"web"}`` for an item of an associative list (a port's
    protocol defaults to TCP, as the server defaults it); ``i:<n>`` when
    the item lacks its key."""
    values = {k: item[k] for k in keys if item.get(k) is not None}
    if keys[-1] == "protocol" and keys[0] in values:
        values.setdefault("protocol", "TCP")
    if not values:
        return f"i:{index}"
    return "k:" + json.dumps(values, sort_keys=True, separators=(",", ":"))


def value_element(value: Any) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"))


def is_set_list(field: str, items: list[Any]) -> bool:
    return field in SET_LISTS and all(not isinstance(i, (dict, list)) for i in items)


def leaves(obj: dict[str, Any]) -> dict[Path, Any]:
    """Every path of ``obj`` that is in its field set, with the value there
    (``ITEM`` for a list item); ``null`` is no value."""
    found: dict[Path, Any] = {}
    _walk(obj, (), "", found)
    return found


def _walk(value: Any, path: Path, field: str, found: dict[Path, Any]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        if not value and path:
            found[path] = value
        for key, child in value.items():
            _walk(child, (*path, f"f:{key}"), key, found)
    elif isinstance(value, list) and is_set_list(field, value):
        for item in value:
            found[(*path, value_element(item))] = ITEM
    elif isinstance(value, list) and _keyed(field, value):
        keys = list_keys(field, value)
        for index, item in enumerate(value):
            item_path = (*path, item_element(keys, item, index))
            found[item_path] = ITEM
            for key, child in item.items():
                _walk(child, (*item_path, f"f:{key}"), key, found)
    else:
        found[path] = value


def _keyed(field: str, items: list[Any]) -> bool:
    return bool(list_keys(field, items)) and all(isinstance(i, dict) for i in items)


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set of paths."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node and "." not in node:
            node["."] = {}
    return tree


def sorted_tree(tree: dict[str, Any]) -> dict[str, Any]:
    """``"."`` first, then the elements in order, as Kubernetes writes them."""
    return {k: sorted_tree(tree[k]) for k in sorted(tree, key=lambda k: (k != ".", k))}


def from_fields_v1(tree: Any) -> set[Path]:
    """The set of paths of a FieldsV1 tree."""
    paths: set[Path] = set()
    _read(tree, (), paths)
    return paths


def _read(node: Any, path: Path, paths: set[Path]) -> None:
    if not isinstance(node, dict):
        return
    for element, child in node.items():
        if element == ".":
            paths.add(path)
        elif isinstance(child, dict) and child:
            _read(child, (*path, element), paths)
        else:
            paths.add((*path, element))


def path_string(path: Path) -> str:
    """Kubernetes' text of a path: ``.spec.containers[name="web"].image``."""
    parts = []
    for element in path:
        kind, _, text = element.partition(":")
        if kind == "f":
            parts.append(f".{text}")
        elif kind == "k":
            values = json.loads(text)
            joined = ",".join(f"{k}={json.dumps(v)}" for k, v in values.items())
            parts.append(f"[{joined}]")
        elif kind == "v":
            parts.append(f"[={text}]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


def find_item(items: list[Any], field: str, element: str) -> int:
    """The index of the list item a ``k:``/``v:``/``i:`` element names; -1 if none."""
    kind = element[:2]
    if kind == "i:":
        index = int(element[2:])
        return index if index < len(items) else -1
    if kind == "v:":
        wanted = json.loads(element[2:])
        return next((i for i, v in enumerate(items) if v == wanted), -1)
    keys = list_keys(field, items)
    for i, item in enumerate(items):
        if isinstance(item, dict) and keys and item_element(keys, item, i) == element:
            return i
    return -1


def remove(obj: dict[str, Any], path: Path) -> None:
    """Take the value at ``path`` out of ``obj`` (in place), if it is there."""
    node: Any = obj
    field = ""
    for depth, element in enumerate(path):
        last = depth == len(path) - 1
        if element.startswith("f:"):
            name = element[2:]
            if not isinstance(node, dict) or name not in node:
                return
            if last:
                del node[name]
                return
            node, field = node[name], name
        else:
            if not isinstance(node, list):
                return
            index = find_item(node, field, element)
            if index < 0:
                return
            if last:
                del node[index]
                return
            node = node[index]

"""Field ownership, as Kubernetes' field manager keeps it
(sigs.k8s.io/structured-merge-diff, merge/update.go), on Kubernetes JSON
dicts.

Every write records who set what in ``metadata.managedFields``: a create,
update or patch is an ``Update`` by its manager, who takes the fields it
changed from everyone else; a server-side apply is an ``Apply``: its manager
owns exactly the fields of the applied configuration, fields it applied
before and no longer lists are removed (unless someone else owns them too),
and changing a field another manager owns is a conflict unless forced.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shoal import errors
from shoal.apiserver import fieldpaths
from shoal.apiserver.fieldpaths import Path

APPLY = "Apply"
UPDATE = "Update"
# metadata the server owns, never anyone's field (Kubernetes' stripped set)
SERVER_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)
MAX_MANAGER_LENGTH = 128
# Update entries kept apart before the oldest fold into one (Kubernetes' 10)
MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"


@dataclass
class Entry:
    """One manager's fields: a ManagedFieldsEntry."""

    manager: str
    operation: str
    api_version: str
    time: str = ""
    subresource: str = ""
    fields: set[Path] = field(default_factory=set)
    # the stored entry this was read from, and its fields then: an entry
    # nothing changed is stored again as it was, not encoded anew
    source: Any = field(default=None, compare=False, repr=False)
    read_fields: frozenset[Path] = field(default=frozenset(), compare=False, repr=False)

    def unchanged(self) -> bool:
        return self.source is not None and self.fields == self.read_fields

    def same(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (
            manager,
            operation,
            subresource,
        )

    def described(self) -> str:
        """How Kubernetes names a manager in a conflict."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass(frozen=True)
class Write:
    """Who writes, and through what: the manager, the apiVersion of the
    object, the subresource ("" or "status") and the time to record."""

    manager: str
    api_version: str
    time: str
    subresource: str = ""
    has_status: bool = True


def decode(entries: Iterable[dict[str, Any]]) -> list[Entry]:
    return [
        Entry(
            manager=str(e.get("manager", "")),
            operation=str(e.get("operation", "")),
            api_version=str(e.get("apiVersion", "")),
            time=str(e.get("time") or ""),
            subresource=str(e.get("subresource", "")),
            fields=fieldpaths.from_fields_v1(e.get("fieldsV1") or {}),
        )
        for e in entries
        if isinstance(e, dict)
    ]


def encode(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    encoded = []
    for e in entries:
        entry: dict[str, Any] = {
            "manager": e.manager,
            "operation": e.operation,
            "apiVersion": e.api_version,
        }
        if e.time:
            entry["time"] = e.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fieldpaths.sorted_tree(fieldpaths.to_fields_v1(e.fields))
        if e.subresource:
            entry["subresource"] = e.subresource
        encoded.append(entry)
    return encoded


def owned(obj: dict[str, Any], write: Write) -> dict[str, Any]:
    """The part of an object whose fields managers own: not apiVersion and
    kind, not the metadata the server keeps; the status only through the
    status subresource, and only the status there."""
    if write.subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    kept = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if write.has_status:
        kept.pop("status", None)
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    if metadata:
        kept["metadata"] = metadata
    else:
        kept.pop("metadata", None)
    return kept


def compare(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[set[Path], set[Path]]:
    """(added or modified, removed) paths between two objects' leaves."""
    changed = {p for p, v in new.items() if p not in old or old[p] != v}
    return changed, set(old) - set(new)


def record_update(
    old: dict[str, Any] | None, new: dict[str, Any], entries: list[Entry], write: Write
) -> list[Entry]:
    """The managers after an Update (create, update, patch) from ``old`` to
    ``new``: the writer takes every field it changed; nothing changed,
    nothing moves."""
    before = fieldpaths.leaves(owned(old, write)) if old is not None else {}
    changed, removed = compare(before, fieldpaths.leaves(owned(new, write)))
    if not changed and not removed:
        return entries
    result = []
    mine = None
    for e in entries:
        if e.same(write.manager, UPDATE, write.subresource):
            mine = e
        else:
            e.fields -= changed | removed
        result.append(e)
    if mine is None:
        mine = Entry(write.manager, UPDATE, write.api_version, subresource=write.subresource)
        result.append(mine)
    mine.fields = (mine.fields - removed) | changed
    mine.api_version, mine.time = write.api_version, write.time
    return cap_updates([e for e in result if e.fields])


def cap_updates(entries: list[Entry], limit: int = MAX_UPDATE_MANAGERS) -> list[Entry]:
    """At most ``limit`` Update entries: the oldest fold into one
    "ancient-changes" entry, as Kubernetes bounds managedFields (many
    one-off writers would otherwise grow every object)."""
    updates = [e for e in entries if e.operation == UPDATE and e.manager != ANCIENT]
    if len(updates) <= limit:
        return entries
    oldest = sorted(updates, key=lambda e: e.time)[: len(updates) - limit + 1]
    ancient = next((e for e in entries if e.manager == ANCIENT), None)
    if ancient is None:
        ancient = Entry(ANCIENT, UPDATE, oldest[-1].api_version, time=oldest[-1].time)
        entries = [*entries, ancient]
    for e in oldest:
        ancient.fields |= e.fields
    gone = {id(e) for e in oldest}
    return [e for e in entries if id(e) not in gone]


def merge(live: Any, config: Any, name: str = "") -> Any:
    """An applied configuration merged into the live object: objects key by
    key, associative lists item by item on their keys, sets as sets; any
    other value (atomic lists included) is the configuration's."""
    if isinstance(config, dict) and isinstance(live, dict):
        result = dict(live)
        for key, value in config.items():
            if value is not None:
                result[key] = merge(live.get(key), value, key)
        return result
    if isinstance(config, list) and isinstance(live, list):
        if fieldpaths.is_set_list(name, live + config):
            return live + [v for v in config if v not in live]
        if fieldpaths.list_keys(name, live + config) and all(
            isinstance(i, dict) for i in live + config
        ):
            return _merge_items(name, live, config)
    return copy.deepcopy(config)


def _merge_items(name: str, live: list[Any], config: list[Any]) -> list[Any]:
    keys = fieldpaths.list_keys(name, live + config)
    result = list(live)
    index = {fieldpaths.item_element(keys, item, i): i for i, item in enumerate(live)}
    for i, item in enumerate(config):
        element = fieldpaths.item_element(keys, item, i)
        if element in index and not element.startswith("i:"):
            result[index[element]] = merge(result[index[element]], item)
        else:
            result.append(copy.deepcopy(item))
    return result


def apply_config(
    live: dict[str, Any], config: dict[str, Any], entries: list[Entry], write: Write
) -> dict[str, Any]:
    """The object after ``write.manager`` applies ``config`` to ``live``:
    merged, then without the fields this manager applied last time, no
    longer applies, and nobody else owns."""
    merged = merge(live, config)
    applied = set(fieldpaths.leaves(owned(config, write)))
    last: set[Path] = set()
    others: set[Path] = set()
    for e in entries:
        if e.same(write.manager, APPLY, write.subresource):
            last = e.fields
        else:
            others |= e.fields
    kept = others | applied
    for path in sorted(last - applied, key=len):
        if not _covers(path, kept):
            fieldpaths.remove(merged, path)
    return merged


def _covers(path: Path, paths: set[Path]) -> bool:
    """Whether ``path`` or something under it is in ``paths``."""
    n = len(path)
    return path in paths or any(p[:n] == path for p in paths if len(p) > n)


def record_apply(
    live: dict[str, Any] | None,
    new: dict[str, Any],
    config: dict[str, Any],
    entries: list[Entry],
    write: Write,
    *,
    force: bool,
) -> list[Entry]:
    """The managers after an Apply from ``live`` to ``new``: the applier
    owns what it applied; a field it changed that another manager owns is a
    conflict (409), or with ``force`` changes hands."""
    before = fieldpaths.leaves(owned(live, write)) if live is not None else {}
    changed, removed = compare(before, fieldpaths.leaves(owned(new, write)))
    applied = set(fieldpaths.leaves(owned(config, write)))
    mine = None
    conflicts: list[tuple[Entry, Path]] = []
    for e in entries:
        if e.same(write.manager, APPLY, write.subresource):
            mine = e
        else:
            conflicts += [(e, p) for p in sorted(e.fields & changed)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for e in entries:
        if e is not mine:
            e.fields -= changed | removed
    if mine is None:
        mine = Entry(write.manager, APPLY, write.api_version, subresource=write.subresource)
        entries = [*entries, mine]
    if changed or removed or mine.fields != applied or not mine.time:
        mine.time = write.time
    mine.fields, mine.api_version = applied, write.api_version
    return [e for e in entries if e.fields]


class ApplyConflictError(errors.ConflictError):
    """An apply's conflicts, with the (manager, path) pairs behind them."""

    conflicts: list[tuple[Entry, Path]]


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> ApplyConflictError:
    """Kubernetes' words: ``Apply failed with 1 conflict: conflict with
    "other" using apps/v1: .spec.replicas``; one FieldManagerConflict cause
    a field."""
    causes = [(fieldpaths.path_string(p), f"conflict with {e.described()}") for e, p in conflicts]
    if len(conflicts) == 1:
        field_text, message = causes[0]
        text = f"Apply failed with 1 conflict: {message}: {field_text}"
    else:
        lines: list[str] = []
        by_manager: dict[str, list[str]] = {}
        for e, p in conflicts:
            by_manager.setdefault(e.described(), []).append(fieldpaths.path_string(p))
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines += [f"- {p}" for p in by_manager[manager]]
        text = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    err = ApplyConflictError(text, causes=causes)
    err.conflicts = conflicts
    return err


def check_manager(manager: str, *, apply: bool) -> None:
    """Kubernetes' PatchOptions rules for ``fieldManager``."""
    if apply and not manager:
        raise errors.invalid(
            "PatchOptions",
            "",
            [("fieldManager", "Required value: is required for apply patch")],
            "meta.k8s.io",
        )
    if len(manager) > MAX_MANAGER_LENGTH:
        raise errors.invalid(
            "PatchOptions",
            "",
            [
                (
                    "fieldManager",
                    f"Too long: may not be more than {MAX_MANAGER_LENGTH} bytes",
                )
            ],
            "meta.k8s.io",
        )


def check_patch_options(manager: str, force: bool) -> None:
    """A patch that is not an apply may not force (Kubernetes' PatchOptions)."""
    check_manager(manager, apply=False)
    if force:
        raise errors.invalid(
            "PatchOptions",
            "",
            [("force", "Forbidden: may not be specified for non-apply patch")],
            "meta.k8s.io",
        )

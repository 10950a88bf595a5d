"""The ``meta.k8s.io/v1`` Table that kubectl asks for (``Accept:
application/json;as=Table;v=v1;g=meta.k8s.io``), so ``kubectl get`` prints
the same columns as ``shoal get``: both print the kind's strategy's
:class:`shoal.strategy.Table`."""

from __future__ import annotations

from typing import Any

from shoal import clock
from shoal.kinds import Kind
from shoal.strategy import Table, table_of

Obj = dict[str, Any]

_DESCRIPTION = {
    "Name": "Name must be unique within a namespace.",
    "AGE": "CreationTimestamp is the time the object was created.",
}


def wants_table(accept: str) -> bool:
    """Whether the client asked for a Table first (kubectl lists JSON after it)."""
    first = accept.split(",")[0]
    return "as=Table" in first.replace(" ", "")


def table_for(kind: Kind) -> Table:
    """The kind's columns: its strategy's table, or NAME and AGE."""
    return table_of(kind.strategy)


def columns(columns: Table) -> list[Obj]:
    defs = [_column("Name", 1 if columns.name_wide else 0, "name")]
    defs += [_column(h, 0) for h in columns.headers]
    defs += [_column(h, 1) for h in columns.wide_headers]
    return defs


def _column(header: str, priority: int, fmt: str = "") -> Obj:
    title = header.title() if header.isupper() else header
    return {
        "name": title,
        "type": "string",
        "format": fmt,
        "description": _DESCRIPTION.get(header, title),
        "priority": priority,
    }


def row(columns: Table, obj: Obj, include: str = "Metadata", now: float | None = None) -> Obj:
    """One row: the cells, and the object as kubectl needs it (its metadata)."""
    when = clock.time() if now is None else now
    metadata = obj.get("metadata") or {}
    values = [columns.name_cell(obj, metadata.get("name", "")), *columns.cells(obj, when)]
    if columns.wide_cells is not None:
        values += columns.wide_cells(obj, when)
    return {"cells": values, "object": _row_object(obj, include)}


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table(columns_of: Table, objects: list[Obj], list_meta: Obj, include: str = "Metadata") -> Obj:
    now = clock.time()
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns(columns_of),
        "rows": [row(columns_of, obj, include, now) for obj in objects],
    }


def watch_table(columns_of: Table, obj: Obj, include: str = "Metadata") -> Obj:
    """A watch event's object as a one-row Table (what ``kubectl get -w`` reads)."""
    meta = obj.get("metadata") or {}
    body = table(columns_of, [obj], {"resourceVersion": meta.get("resourceVersion", "")}, include)
    return body

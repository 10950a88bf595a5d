"""The ``meta.k8s.io/v1`` Table that kubectl asks for (``Accept:
application/json;as=Table;v=v1;g=meta.k8s.io``), so ``kubectl get`` prints
the same columns as ``shoal get``: the column logic is shared with it."""

from __future__ import annotations

import time
from typing import Any

from shoal.ctl.printers.columns import Columns, table_for
from shoal.kinds import Kind

Obj = dict[str, Any]

_DESCRIPTION = {
    "Name": "Name must be unique within a namespace.",
    "AGE": "CreationTimestamp is the time the object was created.",
}
# kinds whose NAME kubectl shows only with -o wide (events read by their object)
_NAME_IS_WIDE = {"Event"}


def wants_table(accept: str) -> bool:
    """Whether the client asked for a Table first (kubectl lists JSON after it)."""
    first = accept.split(",")[0]
    return "as=Table" in first.replace(" ", "")


def _table_for(kind: Kind | str) -> tuple[list[str], Columns, list[str], Columns | None]:
    """The kind's strategy's columns (a CRD's additionalPrinterColumns), else
    the command line's (by kind name: a virtual kind such as ComponentStatus)."""
    if isinstance(kind, str):
        return table_for(kind)
    own = kind.strategy.table
    if own is not None:
        return list(own.headers), own.cells, list(own.wide_headers), own.wide_cells
    return table_for(kind.kind)


def _name(kind: Kind | str) -> str:
    return kind if isinstance(kind, str) else kind.kind


def columns(kind: Kind | str) -> list[Obj]:
    headers, _, wide, _ = _table_for(kind)
    name_priority = 1 if _name(kind) in _NAME_IS_WIDE else 0
    defs = [_column("Name", name_priority, "name")]
    defs += [_column(h, 0) for h in headers]
    defs += [_column(h, 1) for h in wide]
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


def row(kind: Kind | str, obj: Obj, include: str = "Metadata", now: float | None = None) -> Obj:
    """One row: the cells, and the object as kubectl needs it (its metadata)."""
    _, cells, _, wide_cells = _table_for(kind)
    when = time.time() if now is None else now
    metadata = obj.get("metadata") or {}
    values = [metadata.get("name", ""), *cells(obj, when)]
    if wide_cells is not None:
        values += wide_cells(obj, when)
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


def table(kind: Kind | str, objects: list[Obj], list_meta: Obj, include: str = "Metadata") -> Obj:
    now = time.time()
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns(kind),
        "rows": [row(kind, obj, include, now) for obj in objects],
    }


def watch_table(kind: Kind | str, obj: Obj, include: str = "Metadata") -> Obj:
    """A watch event's object as a one-row Table (what ``kubectl get -w`` reads)."""
    meta = obj.get("metadata") or {}
    body = table(kind, [obj], {"resourceVersion": meta.get("resourceVersion", "")}, include)
    return body

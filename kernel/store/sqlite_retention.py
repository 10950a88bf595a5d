"""Per-kind history retention in the SQLite store.

Compaction (``sqlite_compact``) forgets every revision of a key superseded at
or below the compact revision. A *retained* key prefix (``history_retention``:
key prefix -> seconds, from ``shoal server --history-retention``) keeps those
rows in ``log`` instead, with their authors, until they are older than its
retention (their author's ``time``); then a compaction drops them as it
would have. Keeping them in ``log`` changes no read: a list at a revision at
or above the compact revision takes each key's newest row at or below it,
which is never one of these (each is superseded at or below the compact
revision, or is a kept delete, which a list skips), and watches replay only
above the compact revision.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from shoal.store import sqlite_schema as schema


def _in(prefix: str, col: str) -> tuple[str, list[Any]]:
    end = schema.prefix_end(prefix)
    if end is None:
        return f"{col} >= ?", [prefix]
    return f"({col} >= ? AND {col} < ?)", [prefix, end]


def not_retained(retention: Mapping[str, float], col: str = "key") -> tuple[str, list[Any]]:
    """A WHERE fragment (with its arguments) true for keys no retained prefix holds."""
    parts, args = [], []
    for prefix, seconds in retention.items():
        if seconds > 0:
            sql, more = _in(prefix, col)
            parts.append(sql)
            args += more
    if not parts:
        return "1", []
    return f"NOT ({' OR '.join(parts)})", args


def expire(
    conn: sqlite3.Connection,
    compact_rev: int,
    retention: Mapping[str, float],
    now: float | None = None,
) -> int:
    """Drop retained rows compaction kept that are older than their
    prefix's retention, inside the caller's transaction; returns how many."""
    now = time.time() if now is None else now
    gone: list[int] = []
    for prefix, seconds in retention.items():
        if seconds <= 0:
            continue
        where, args = _in(prefix, "l.key")
        rows = conn.execute(
            "SELECT l.rev FROM log l LEFT JOIN history h ON h.rev = l.rev"
            f" WHERE {where} AND l.rev <= ? AND COALESCE(h.time, 0) < ?"
            f" AND (l.kind = {schema.DELETE} OR EXISTS (SELECT 1 FROM log n"
            "  WHERE n.key = l.key AND n.rev > l.rev AND n.rev <= ?))",
            [*args, compact_rev, now - seconds, compact_rev],
        ).fetchall()
        gone += [rev for (rev,) in rows]
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM history WHERE rev IN ({marks})", chunk)
        conn.execute(f"DELETE FROM log WHERE rev IN ({marks})", chunk)
    return len(gone)

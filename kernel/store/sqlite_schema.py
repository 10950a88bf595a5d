"""SQLite layout of the store and the read queries.

The ``log`` table is the history, kine-style: one row per change, and the row's
INTEGER PRIMARY KEY *is* the revision, so history is a plain range scan. A
DELETE row carries the last value, so a delete event needs no second lookup.
``current`` mirrors the newest live row of every key so that get and list-now
never scan history. ``history`` records who made a write (user, API verb,
time), keyed by the same revision and written in the write's transaction;
compaction drops it with its log row. ``meta`` keeps the revision counter and the compact
revision: compaction may delete the newest log row (a delete), so the counter
cannot be derived from the log alone.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from shoal.store.base import CompactedError, Event, FutureRevisionError, KeyValue, Revision

CREATE, UPDATE, DELETE = 0, 1, 2
KINDS = ("CREATE", "UPDATE", "DELETE")

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind INTEGER NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS current (
    key TEXT PRIMARY KEY,
    rev INTEGER NOT NULL,
    create_rev INTEGER NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('rev', 0), ('compact_rev', 0);
CREATE TABLE IF NOT EXISTS history (
    rev INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    verb TEXT NOT NULL,
    time REAL NOT NULL
);
"""


def connect(path: str | os.PathLike[str], *, writer: bool) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit BEGINs, so a
    batch is exactly one transaction and a read sees one snapshot."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so an acknowledged write
        # survives power loss, not only a killed process.
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(SCHEMA)
    else:
        conn.execute("PRAGMA query_only = 1")
    return conn


def read_meta(conn: sqlite3.Connection) -> tuple[int, int]:
    """(revision, compact revision) as of the connection's snapshot."""
    rows = dict(conn.execute("SELECT name, value FROM meta").fetchall())
    return int(rows["rev"]), int(rows["compact_rev"])


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``
    (None: no bound). SQLite compares TEXT as UTF-8 bytes, which orders like
    Python's code-point comparison, so a key range is a prefix scan."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:  # surrogates cannot be stored; skip past them
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _range(prefix: str, start_after: str = "", col: str = "key") -> tuple[str, list[Any]]:
    sql, args = f"{col} >= ? AND {col} > ?", [prefix, start_after]
    end = prefix_end(prefix)
    if end is not None:
        sql += f" AND {col} < ?"
        args.append(end)
    return sql, args


def get(conn: sqlite3.Connection, key: str) -> KeyValue | None:
    row = conn.execute(
        "SELECT key, value, create_rev, rev FROM current WHERE key = ?", (key,)
    ).fetchone()
    return KeyValue(*row) if row else None


def list_keys(
    conn: sqlite3.Connection, prefix: str, revision: int, limit: int, start_after: str
) -> tuple[list[KeyValue], int]:
    """List in one read transaction so items and revision agree."""
    conn.execute("BEGIN")
    try:
        rev, compact_rev = read_meta(conn)
        if revision > rev:
            raise FutureRevisionError(f"revision {revision} is newer than current {rev}")
        if 0 < revision < compact_rev:
            raise CompactedError(revision, compact_rev)
        where, args = _range(prefix, start_after)
        lim = limit if limit > 0 else -1
        if revision in (0, rev):
            sql = f"SELECT key, value, create_rev, rev FROM current WHERE {where} ORDER BY key"
        else:
            # The newest row of each key at or below ``revision``, unless a delete.
            sql = (
                "SELECT l.key, l.value, l.create_rev, l.rev FROM log l JOIN ("
                f" SELECT key AS k, MAX(rev) AS r FROM log WHERE {where} AND rev <= ?"
                " GROUP BY key) m ON l.rev = m.r"
                f" WHERE l.kind != {DELETE} ORDER BY l.key"
            )
            args.append(revision)
        rows = conn.execute(f"{sql} LIMIT ?", [*args, lim]).fetchall()
        return [KeyValue(*r) for r in rows], (revision or rev)
    finally:
        conn.execute("COMMIT")


def history(
    conn: sqlite3.Connection, prefix: str, after: int, upto: int | None, limit: int
) -> tuple[list[Event], int]:
    """Events under ``prefix`` with ``after < revision <= upto`` (None: the
    snapshot's revision), oldest first, at most ``limit``. Returns them with
    the upper bound used, so later pages read the same range."""
    conn.execute("BEGIN")
    try:
        rev, compact_rev = read_meta(conn)
        if after < compact_rev:
            raise CompactedError(after, compact_rev)
        upto = rev if upto is None else upto
        where, args = _range(prefix, col="l.key")
        rows = conn.execute(
            "SELECT l.rev, l.key, l.kind, l.create_rev, l.value, l.prev_rev, p.value"
            " FROM log l LEFT JOIN log p ON p.rev = l.prev_rev AND l.prev_rev > 0"
            f" WHERE l.rev > ? AND l.rev <= ? AND {where} ORDER BY l.rev LIMIT ?",
            [after, upto, *args, limit],
        ).fetchall()
        return [_event(*r) for r in rows], upto
    finally:
        conn.execute("COMMIT")


def _event(
    rev: int, key: str, kind: int, create_rev: int, value: bytes, prev_rev: int, prev: Any
) -> Event:
    kv = KeyValue(key, value, create_rev, rev)
    if kind == DELETE:
        return Event("DELETE", kv, KeyValue(key, value, create_rev, prev_rev))
    old = KeyValue(key, prev, create_rev, prev_rev) if prev is not None else None
    return Event("CREATE" if kind == CREATE else "UPDATE", kv, old)


def revisions(conn: sqlite3.Connection, key: str, after: int = 0, limit: int = 0) -> list[Revision]:
    """The retained rows of ``key`` newer than ``after`` with their
    authors, oldest first, at most ``limit`` (0: all)."""
    rows = conn.execute(
        "SELECT l.rev, l.kind, l.create_rev, l.value, h.user, h.verb, h.time"
        " FROM log l LEFT JOIN history h ON h.rev = l.rev WHERE l.key = ? AND l.rev > ?"
        " ORDER BY l.rev LIMIT ?",
        (key, after, limit if limit > 0 else -1),
    ).fetchall()
    return [
        Revision(
            KINDS[kind],  # type: ignore[arg-type]
            KeyValue(key, value, create_rev, rev),
            user or "",
            verb or "",
            time or 0.0,
        )
        for rev, kind, create_rev, value, user, verb, time in rows
    ]


def deleted(conn: sqlite3.Connection, prefix: str, start_after: str, limit: int) -> list[Revision]:
    """The retained deletes of keys under ``prefix`` that have not been
    written since, in key order after ``start_after``, at most ``limit``
    (0: all); values left out (``b""``)."""
    where, args = _range(prefix, start_after, col="l.key")
    rows = conn.execute(
        "SELECT l.key, l.rev, l.create_rev, h.user, h.verb, h.time"
        " FROM log l LEFT JOIN history h ON h.rev = l.rev"
        f" WHERE {where} AND l.kind = {DELETE}"
        " AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.rev > l.rev)"
        " ORDER BY l.key LIMIT ?",
        [*args, limit if limit > 0 else -1],
    ).fetchall()
    return [
        Revision("DELETE", KeyValue(key, b"", create_rev, rev), user or "", verb or "", time or 0.0)
        for key, rev, create_rev, user, verb, time in rows
    ]

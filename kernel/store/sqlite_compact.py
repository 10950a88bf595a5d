"""Compaction of the SQLite store's revision log, in small steps.

Compacting a long history in one transaction holds the writer for as long as
the delete takes (2.4 s for 291k revisions), and every write queued behind it
waits that long. So, as kine does (``pkg/logstructured/sqllog``), the writer
compacts in *steps* of at most ``batch`` revisions, each step its own
transaction, and commits the writes that queued up in between: a write waits
for at most one step.

Why every step may publish its compact revision at once: a step covering
``(C, S]`` deletes only rows superseded by a change at or below ``S`` and the
deletes at or below ``S``, and sets the compact revision to ``S`` in the same
transaction. Every row a read at a revision ``>= S`` needs is still there, and
a read at a revision ``< S`` (which would miss rows) is refused with
CompactedError, because reads check the compact revision in the same snapshot
they read the rows in. So "too old resource version" is answered exactly when
the data is gone, after each step as after the whole compaction; a crash
between steps leaves a consistent, partly compacted log.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from shoal.store import sqlite_schema as schema

# Revisions per step. Measured (bench/bench_compaction.py, 2 cores, 512-byte
# values): a step of 1,000 revisions takes a few milliseconds plus one fsync;
# see docs/store.md for the figures.
DEFAULT_BATCH = 1000

# (future, result, error), as the writer hands outcomes back.
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class Compaction:
    """The compactions asked for and not yet reached; owned by the writer thread."""

    def __init__(self, batch: int = DEFAULT_BATCH) -> None:
        self.batch = batch  # revisions per step; 0 or less: all in one step
        self._waiting: list[tuple[int, asyncio.Future[Any]]] = []

    @property
    def pending(self) -> bool:
        return bool(self._waiting)

    def request(self, revision: int, future: asyncio.Future[Any]) -> None:
        """Compact up to ``revision`` (already checked: above the compact
        revision, not above the current one); ``future`` settles when reached."""
        self._waiting.append((revision, future))

    def step(self, conn: sqlite3.Connection, compact_rev: int) -> int:
        """Run one step in its own transaction; returns the new compact revision."""
        target = max(rev for rev, _ in self._waiting)
        upto = target if self.batch <= 0 else min(target, compact_rev + self.batch)
        conn.execute("BEGIN IMMEDIATE")
        try:
            delete_superseded(conn, compact_rev, upto)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return upto

    def reached(self, compact_rev: int) -> list[Outcome]:
        """Outcomes of the requests ``compact_rev`` satisfies; they are dropped."""
        done: list[Outcome] = [(f, None, None) for rev, f in self._waiting if rev <= compact_rev]
        self._waiting = [(rev, f) for rev, f in self._waiting if rev > compact_rev]
        return done

    def fail(self, error: BaseException) -> list[Outcome]:
        """Give up on every request (the step failed, or the store closes)."""
        done: list[Outcome] = [(f, None, error) for _, f in self._waiting]
        self._waiting = []
        return done


def delete_superseded(conn: sqlite3.Connection, after: int, upto: int) -> None:
    """Forget history in ``(after, upto]``, inside the caller's transaction.

    Every superseded row is the prev_rev of its successor, and rows superseded
    at or below ``after`` are gone already, so only the rows written in the
    span need looking at. Deletes in the span are dropped too: absence needs
    no row.
    """
    span = (after, upto)
    conn.execute(
        "DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log"
        " WHERE rev > ? AND rev <= ? AND prev_rev > 0)",
        span,
    )
    conn.execute(f"DELETE FROM log WHERE rev > ? AND rev <= ? AND kind = {schema.DELETE}", span)
    conn.execute("UPDATE meta SET value = ? WHERE name = 'compact_rev'", (upto,))

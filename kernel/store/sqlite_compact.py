"""Compaction of the SQLite store's revision log, in small steps.

Compacting a long history in one transaction holds the writer for as long as
the delete takes (2.4 s for 291k revisions), and every write queued behind it
waits that long. So, as kine does (``pkg/logstructured/sqllog``), the writer
compacts in *steps*, each step its own transaction, and commits the writes
that queued up in between: a write waits for at most one step.

A step is bounded by time, not only by a revision count: how long a
revision takes to compact varies (how many rows it supersedes, which index
pages are cached, what else the disk is doing), so a fixed count gives
steps of 3 ms and of 100 ms alike. A step deletes ``CHUNK`` revisions at a
time and commits once it has worked ``budget`` seconds, or reached its
allowance of revisions, or the target. Most of a step's time can come
after its deletes, in its COMMIT and its checkpoint (below), which cannot
be cut short; so the allowance is learnt: each step's whole time (commit and
checkpoint included) per revision sets how many revisions the next may take
to fit in ``budget`` (at least one chunk, at most ``batch``, at most twice
the last). A write then waits for about ``budget``, whatever the history
looks like.

Why every step may publish its compact revision at once: a step covering
``(C, S]`` deletes only rows superseded by a change at or below ``S`` and the
deletes at or below ``S``, and sets the compact revision to ``S`` in the same
transaction. Every row a read at a revision ``>= S`` needs is still there, and
a read at a revision ``< S`` (which would miss rows) is refused with
CompactedError, because reads check the compact revision in the same snapshot
they read the rows in. So "too old resource version" is answered exactly when
the data is gone, after each step as after the whole compaction; a crash
between steps leaves a consistent, partly compacted log.

Checkpoints: a step's pages go into the WAL; copying them back into the
database file (a checkpoint, two fsyncs) is most of what compacting costs
on disk. Left to run on another thread alongside the writer, checkpoints
competed with the writes' own fsyncs for the disk and a write waited up to
~90 ms behind a step of 5; left to the next write's commit, that write paid
for the step. So a step commits without an fsync and then checkpoints
itself, on the writer's connection, and its time, checkpoint included, is
what it learns from: a write waits for one whole step and nothing after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

from shoal.store import sqlite_retention
from shoal.store import sqlite_schema as schema

# Seconds per step, checkpoint included (bench/bench_compaction.py: ~300k
# revisions, one writer: a write waits p99 7.5 ms, p50 5.5 ms). A fixed
# count adapts to no disk; kine's 1,000 revisions a step: p99 200-300 ms.
DEFAULT_BUDGET = 0.005
# At most this many revisions per step, however quick (a ceiling, so one
# step's transaction stays small on a fast disk too).
DEFAULT_BATCH = 1000
# Revisions deleted per statement group inside a step; the budget is
# checked between chunks, so a step overruns it by one chunk at most.
CHUNK = 20
# A step's allowance at most doubles from one step to the next: the first
# steps of a compaction are cheap (the pages they touch are cached), and
# learning from them alone made the next step 30 times larger.
GROWTH = 2

# (future, result, error), as the writer hands outcomes back.
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class Compaction:
    """The compactions asked for and not yet reached; owned by the writer thread."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        batch: int = DEFAULT_BATCH,
        budget: float = DEFAULT_BUDGET,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.batch = batch  # revisions per step at most; 0 or less: all in one step
        self.budget = budget  # seconds of work per step; 0 or less: no time bound
        self._clock = clock
        self.allowance = CHUNK  # revisions the next step may take (learnt; see above)
        # Key prefix -> seconds its superseded revisions outlive compaction
        # (see ``sqlite_retention``); set by the store.
        self.retention: Mapping[str, float] = {}
        self._waiting: list[tuple[int, asyncio.Future[Any]]] = []
        self._wal = os.fspath(path) != ":memory:"  # an in-memory database has no WAL

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
        # No fsync at the commit: losing a step to a power cut loses nothing
        # (its rows are still there, its compact revision not yet moved), and
        # the checkpoint after it fsyncs the WAL before copying it back.
        conn.execute("PRAGMA synchronous = NORMAL")
        timed = self.budget > 0 and self.batch > 0
        try:
            began = self._clock() if timed else 0.0
            conn.execute("BEGIN IMMEDIATE")
            if timed:
                upto = self._delete_within_budget(conn, compact_rev, upto, began)
            else:
                delete_superseded(conn, compact_rev, upto, self.retention)
            if upto == target and self.retention:  # once per compaction
                sqlite_retention.expire(conn, upto, self.retention)
            conn.execute("COMMIT")
            if self._wal:
                # PASSIVE: copies what no reader still needs, never waits. The
                # step is committed: a failed checkpoint is left to the next.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            if timed:
                self._learn(upto - compact_rev, self._clock() - began)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute("PRAGMA synchronous = FULL")  # acknowledged writes are durable
        return upto

    def _delete_within_budget(
        self, conn: sqlite3.Connection, after: int, limit: int, began: float
    ) -> int:
        """Delete ``(after, limit]`` a chunk at a time until the budget is
        spent or the allowance taken; returns how far it got (at least one chunk)."""
        limit = min(limit, after + self.allowance)
        deadline = began + self.budget
        done = after
        while done < limit:
            upto = min(limit, done + CHUNK)
            delete_superseded(conn, done, upto, self.retention)
            done = upto
            if self._clock() >= deadline:
                break
        return done

    def _learn(self, revisions: int, took: float) -> None:
        """The next step's allowance, from this one's time per revision."""
        if revisions <= 0:
            return
        fits = int(self.budget * revisions / took) if took > 0 else self.batch
        self.allowance = max(CHUNK, min(self.batch, fits, self.allowance * GROWTH))

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


def delete_superseded(
    conn: sqlite3.Connection, after: int, upto: int, retention: Mapping[str, float] | None = None
) -> None:
    """Forget history in ``(after, upto]``, inside the caller's transaction.

    Every superseded row is the prev_rev of its successor, and rows superseded
    at or below ``after`` are gone already, so only the rows written in the
    span need looking at. Deletes in the span are dropped too: absence needs
    no row. Keys under a ``retention`` prefix keep their rows (see
    ``sqlite_retention``).
    """
    keep, keep_args = sqlite_retention.not_retained(retention or {})
    span = [after, upto, *keep_args]
    # Authors (``history``) go with their rows: first, while the rows exist.
    for table in ("history", "log"):
        conn.execute(
            f"DELETE FROM {table} WHERE rev IN (SELECT prev_rev FROM log"
            f" WHERE rev > ? AND rev <= ? AND prev_rev > 0 AND {keep})",
            span,
        )
    conn.execute(
        f"DELETE FROM history WHERE rev IN (SELECT rev FROM log"
        f" WHERE rev > ? AND rev <= ? AND kind = {schema.DELETE} AND {keep})",
        span,
    )
    conn.execute(
        f"DELETE FROM log WHERE rev > ? AND rev <= ? AND kind = {schema.DELETE} AND {keep}", span
    )
    conn.execute("UPDATE meta SET value = ? WHERE name = 'compact_rev'", (upto,))

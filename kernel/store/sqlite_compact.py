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
allowance of revisions, or the target. Most of a step's time can be its
COMMIT (writing the pages it dirtied into the WAL), which comes after the
deletes and cannot be cut short; so the allowance is learnt: each step's
whole time (commit included) per revision sets how many revisions the next
may take to fit in ``budget`` (at least one chunk, at most ``batch``). A
write then waits for about ``budget``, whatever the history looks like.

Why every step may publish its compact revision at once: a step covering
``(C, S]`` deletes only rows superseded by a change at or below ``S`` and the
deletes at or below ``S``, and sets the compact revision to ``S`` in the same
transaction. Every row a read at a revision ``>= S`` needs is still there, and
a read at a revision ``< S`` (which would miss rows) is refused with
CompactedError, because reads check the compact revision in the same snapshot
they read the rows in. So "too old resource version" is answered exactly when
the data is gone, after each step as after the whole compaction; a crash
between steps leaves a consistent, partly compacted log.

Checkpoints: SQLite copies the WAL back into the database file when the WAL
passes 1,000 pages, inside the commit that crosses the mark. A step dirties
a page of the ``(key, rev)`` index per revision or so, so every few steps
would pay a checkpoint of megabytes, on the writer thread: the measured
stalls of up to 150 ms. So while a compaction runs, the writer's connection
does not checkpoint; a :class:`Checkpointer` thread with its own connection
does, after each step, alongside the writer (WAL lets a checkpoint run while
the writer appends).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shoal.store import sqlite_retention
from shoal.store import sqlite_schema as schema

# Seconds of work per step (bench/bench_compaction.py: ~300k revisions, one
# writer, 2 cores shared with other work). Steps of a fixed 100 revisions
# took ~3 ms at the median but up to 100+ ms; kine's 1,000: p99 200-300 ms.
DEFAULT_BUDGET = 0.005
# At most this many revisions per step, however quick (a ceiling, so one
# step's transaction stays small on a fast disk too).
DEFAULT_BATCH = 1000
# Revisions deleted per statement group inside a step; the budget is
# checked between chunks, so a step overruns it by one chunk at most.
CHUNK = 20

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
        # An in-memory database has no WAL, nor a second connection to it.
        self._checkpointer = Checkpointer(path) if os.fspath(path) != ":memory:" else None
        self._running = False

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
        several = upto < target or (self.budget > 0 and upto - compact_rev > CHUNK)
        if not self._running and self._checkpointer is not None and several:
            self._running = True  # several steps ahead: checkpoints move off this thread
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        # No fsync of its own: losing a step to a power cut loses nothing
        # (its rows are still there, its compact revision not yet moved),
        # and the next write's commit fsyncs the WAL, this step's pages too.
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
            if timed:
                self._learn(upto - compact_rev, self._clock() - began)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute("PRAGMA synchronous = FULL")  # acknowledged writes are durable
        if self._running and self._checkpointer is not None:
            self._checkpointer.request()
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
        self.allowance = max(CHUNK, min(self.batch, fits))

    def settle(self, conn: sqlite3.Connection) -> None:
        """After a step or a failure: once nothing is pending, the writer
        checkpoints for itself again (SQLite's default threshold)."""
        if self._running and not self._waiting:
            self._running = False
            with contextlib.suppress(sqlite3.Error):  # a broken connection fails later
                conn.execute("PRAGMA wal_autocheckpoint = 1000")

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()

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


class Checkpointer:
    """Copies the WAL into the database file on its own thread and connection,
    when asked, so the writer never waits for it. Started on first request."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="shoal-store-checkpoint", daemon=True
            )
            self._thread.start()
        self._wanted.set()  # requests that arrive during a checkpoint coalesce

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wanted.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                # PASSIVE: copies what it can without waiting for, or
                # blocking, the writer or readers; a busy database is fine.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

"""The single writer of the SQLite store: group commit on a dedicated thread.

Callers on the event loop put a :class:`WriteOp` on a queue and await its
future. The writer thread takes every op that is waiting, applies them all in
ONE transaction (each with its own precondition check and revision; a failed
precondition fails only that op and consumes no revision), commits once — one
fsync for the whole batch — and only then hands the outcomes and events back to
the loop in a single ``call_soon_threadsafe`` callback. Callbacks from one
thread run in the order they were scheduled, so watchers see batches in
revision order.

A compaction is not done inside a batch: the writer takes it on (see
``sqlite_compact``) and runs one small step between batches, each step its own
transaction, so writes that queue up meanwhile wait for one step, not for the
whole compaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shoal.store import sqlite_schema as schema
from shoal.store.base import (
    Author,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    StorageFullError,
    StoreError,
)
from shoal.store.sqlite_compact import DEFAULT_BATCH, DEFAULT_BUDGET, Compaction
from shoal.store.sqlite_reserve import Reserve, is_disk_full


@dataclass(slots=True)
class WriteOp:
    kind: Literal["create", "update", "delete", "compact"]
    future: asyncio.Future[Any]
    key: str = ""
    value: bytes = b""
    expected: int = 0  # expected mod_revision, or the compact revision
    author: Author | None = None  # recorded in ``history`` with the write


# (future, result, error) for each op of a batch.
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]
# Called on the loop after each commit: outcomes, events, revision, compact revision.
Deliver = Callable[[list[Outcome], list[Event], int, int], None]

_STOP = object()


class Writer:
    """Owns the only writing connection; see the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        loop: asyncio.AbstractEventLoop,
        deliver: Deliver,
        max_batch: int = 1000,
        reserve_bytes: int = 0,
        compact_batch: int = DEFAULT_BATCH,
        compact_budget: float = DEFAULT_BUDGET,
    ) -> None:
        self._path = path
        self.compaction = Compaction(path, compact_batch, compact_budget)
        self.reserve = Reserve(Path(f"{os.fspath(path)}-reserve"), reserve_bytes)
        self._loop = loop
        self._deliver = deliver
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ready: concurrent.futures.Future[tuple[int, int]] = concurrent.futures.Future()
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="shoal-store-writer", daemon=True)
        self.rev = 0
        self.compact_rev = 0
        self.commits = 0  # transactions committed: group commit makes this < writes
        self.writes = 0  # ops that succeeded

    async def start(self) -> tuple[int, int]:
        """Open the database; returns (revision, compact revision) found on disk."""
        self._thread.start()
        return await asyncio.wrap_future(self._ready)

    def submit(self, op: WriteOp) -> None:
        self._queue.put(op)

    async def stop(self) -> None:
        """Finish every op queued so far, then close. The done future resolves
        through the loop after the last deliver callback has run."""
        self._queue.put(_STOP)
        await asyncio.wrap_future(self._done)

    def _run(self) -> None:
        try:
            conn = schema.connect(self._path, writer=True)
            self.rev, self.compact_rev = schema.read_meta(conn)
            if os.fspath(self._path) != ":memory:":
                self.reserve.ensure()
            else:
                self.reserve.size = 0
        except BaseException as exc:
            self._ready.set_exception(exc)
            self._done.set_result(None)
            return
        self._ready.set_result((self.rev, self.compact_rev))
        try:
            self._loop_batches(conn)
        finally:
            conn.close()
            self._done.set_result(None)

    def _loop_batches(self, conn: sqlite3.Connection) -> None:
        while True:
            # While a compaction runs, take only what is already queued, then
            # run its next step: writes and steps alternate.
            batch = self._take(block=not self.compaction.pending)
            ops = [op for op in batch if op is not _STOP]
            if ops:
                self._commit(conn, ops)
            if len(ops) < len(batch):
                self._abandon_compaction()
                return
            if self.compaction.pending:
                self._compact_step(conn)

    def _take(self, *, block: bool) -> list[Any]:
        batch = [self._queue.get()] if block else []
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _commit(self, conn: sqlite3.Connection, ops: list[WriteOp]) -> None:
        outcomes = [self._request_compaction(op) for op in ops if op.kind == "compact"]
        ops = [op for op in ops if op.kind != "compact"]
        events: list[Event] = []
        if ops and self.reserve.released and not self.reserve.ensure():
            # The disk was full and still has no room: only what frees space.
            outcomes += [(op.future, None, StorageFullError()) for op in ops if not _frees(op)]
            ops = [op for op in ops if _frees(op)]
        if ops:
            try:
                outcomes += self._transaction(conn, ops, events)
            except Exception as exc:
                outcomes += self._failed(conn, ops, events, exc)
        self._hand_back([o for o in outcomes if o is not None], events)

    def _hand_back(self, outcomes: list[Outcome], events: list[Event]) -> None:
        # RuntimeError: the loop is closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(
                self._deliver, outcomes, events, self.rev, self.compact_rev
            )

    def _request_compaction(self, op: WriteOp) -> Outcome | None:
        """Settle a compaction that needs no step now; else queue it (None)."""
        if op.expected > self.rev:
            error = FutureRevisionError(f"revision {op.expected} is newer than current {self.rev}")
            return (op.future, None, error)
        if op.expected <= self.compact_rev:
            return (op.future, None, None)
        self.compaction.request(op.expected, op.future)
        return None

    def _compact_step(self, conn: sqlite3.Connection) -> None:
        """One step; a full disk gives up the reserve and tries the step once more."""
        try:
            try:
                self.compact_rev = self.compaction.step(conn, self.compact_rev)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                self.reserve.release()
                self.compact_rev = self.compaction.step(conn, self.compact_rev)
            outcomes = self.compaction.reached(self.compact_rev)
        except Exception as exc:
            error = StorageFullError(str(exc)) if is_disk_full(exc) else StoreError(
                f"compaction failed: {exc}")  # fmt: skip
            outcomes = self.compaction.fail(error)
        else:
            self.commits += 1
        # Published at once: see sqlite_compact for why that is safe.
        self._hand_back(outcomes, [])

    def _abandon_compaction(self) -> None:
        """The store closes: a compaction still under way stops where it is
        (consistent, as after any step); the next one picks up from there."""
        if self.compaction.pending:
            error = StoreError(
                f"the store closed during compaction (compacted up to {self.compact_rev})"
            )
            self._hand_back(self.compaction.fail(error), [])

    def _transaction(
        self, conn: sqlite3.Connection, ops: list[WriteOp], events: list[Event]
    ) -> list[Outcome]:
        """Apply ``ops`` in one transaction; on any error nothing of it is
        durable: roll back, reuse the revisions, raise."""
        start_rev, start_compact, first_event = self.rev, self.compact_rev, len(events)
        outcomes: list[Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in ops:
                try:
                    result = self._apply(conn, op, events)
                    outcomes.append((op.future, result, None))
                except StoreError as exc:
                    outcomes.append((op.future, None, exc))
            if self.rev != start_rev:
                conn.execute("UPDATE meta SET value = ? WHERE name = 'rev'", (self.rev,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            self.rev, self.compact_rev = start_rev, start_compact
            del events[first_event:]
            raise
        self.commits += 1
        self.writes += len(events) - first_event
        return outcomes

    def _failed(
        self, conn: sqlite3.Connection, ops: list[WriteOp], events: list[Event], exc: Exception
    ) -> list[Outcome]:
        """Outcomes of a batch whose transaction failed. A full disk releases
        the reserve and lets the batch's deletes and compaction through."""
        if not is_disk_full(exc):
            error = StoreError(f"write failed: {exc}")  # I/O error...: fail the batch
            return [(op.future, None, error) for op in ops]
        self.reserve.release()
        outcomes: list[Outcome] = [
            (op.future, None, StorageFullError(str(exc))) for op in ops if not _frees(op)
        ]
        frees = [op for op in ops if _frees(op)]
        if not frees:
            return outcomes
        try:
            return outcomes + self._transaction(conn, frees, events)
        except Exception as again:
            error = StorageFullError(str(again)) if is_disk_full(again) else StoreError(
                f"write failed: {again}")  # fmt: skip
            return outcomes + [(op.future, None, error) for op in frees]

    def _apply(self, conn: sqlite3.Connection, op: WriteOp, events: list[Event]) -> Any:
        old = schema.get(conn, op.key)
        if op.kind == "create":
            if old is not None:
                raise KeyExistsError(op.key)
        elif old is None:
            raise KeyNotFoundError(op.key)
        elif op.expected and old.mod_revision != op.expected:
            raise RevisionConflictError(op.key, op.expected, old.mod_revision)
        self.rev += 1
        if op.author is not None:
            conn.execute(
                "INSERT INTO history VALUES (?, ?, ?, ?)",
                (self.rev, op.author.user, op.author.verb, time.time()),
            )
        if op.kind == "delete":
            assert old is not None
            return self._delete(conn, old, events)
        create_rev = old.create_revision if old else self.rev
        kv = KeyValue(op.key, op.value, create_rev, self.rev)
        kind = schema.UPDATE if old else schema.CREATE
        self._log(conn, kv, kind, old.mod_revision if old else 0)
        conn.execute(
            "INSERT OR REPLACE INTO current VALUES (?, ?, ?, ?)",
            (kv.key, kv.mod_revision, kv.create_revision, kv.value),
        )
        events.append(Event("UPDATE" if old else "CREATE", kv, old))
        return kv

    def _delete(self, conn: sqlite3.Connection, old: KeyValue, events: list[Event]) -> KeyValue:
        kv = KeyValue(old.key, old.value, old.create_revision, self.rev)
        self._log(conn, kv, schema.DELETE, old.mod_revision)
        conn.execute("DELETE FROM current WHERE key = ?", (old.key,))
        events.append(Event("DELETE", kv, old))
        return kv

    def _log(self, conn: sqlite3.Connection, kv: KeyValue, kind: int, prev_rev: int) -> None:
        conn.execute(
            "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?)",
            (kv.mod_revision, kv.key, kind, kv.create_revision, prev_rev, kv.value),
        )


def _frees(op: WriteOp) -> bool:
    """Deletes make room (after the reserve lets them write); compaction too,
    but it never enters a batch's transaction."""
    return op.kind == "delete"


def resolve(outcomes: list[Outcome]) -> None:
    """Settle the callers' futures (on the loop); a caller that gave up is skipped."""
    for future, result, error in outcomes:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

"""The default store: one SQLite file in WAL mode.

How the pieces fit:

- ``sqlite_schema``: tables (an append-only revision log like kine's, plus a
  ``current`` table for fast reads) and the read queries.
- ``sqlite_writer``: the one writer thread; group commit, so concurrent
  writes share one transaction and one fsync.
- ``sqlite_watch``: fan-out of committed batches to watchers, in memory.
- ``lock``: an exclusive lock on ``<file>.lock`` from start to close, so a
  second process on the same file is refused instead of corrupting the log.

Reads run on a small thread pool, each thread with its own connection; WAL
lets them proceed while the writer commits. Nothing here blocks the event
loop. The store belongs to the event loop that started it.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog
from shoal.store import sqlite_schema as schema
from shoal.store.base import (
    Event,
    KeyValue,
    Revision,
    StoreError,
    check_key,
    check_revision,
    check_value,
    write_author,
)
from shoal.store.lock import StoreLock
from shoal.store.sqlite_compact import DEFAULT_BATCH, DEFAULT_BUDGET
from shoal.store.sqlite_readers import ReaderPool
from shoal.store.sqlite_watch import Watch, WatchHub
from shoal.store.sqlite_writer import Outcome, WriteOp, Writer, resolve

T = TypeVar("T")
# Spelled out here because SQLiteStore.list shadows the builtin in the class body.
Events = list[Event]
Outcomes = list[Outcome]
log = structlog.get_logger("shoal.store.sqlite")


class SQLiteStore:
    """See the module docstring and :class:`shoal.store.base.Store`.

    ``compact_interval`` seconds apart, history older than the newest
    ``compact_keep`` revisions is compacted (0 for either disables it).
    ``watch_queue_size`` bounds each watcher's backlog (see ``sqlite_watch``).
    ``reserve_bytes`` of disk are kept for deletes on a full disk (see
    ``sqlite_reserve``; the store plugin ``shoal server`` opens asks for
    ``DEFAULT_RESERVE_BYTES``; 0, the default here: none).
    Compaction runs in steps of at most ``compact_budget`` seconds of work
    and ``compact_batch`` revisions, each its own transaction, writes
    committed between them (see ``sqlite_compact``; a batch of 0: all in
    one transaction, which stalls writes for as long as it takes; a budget
    of 0: steps bounded by the revision count only).
    ``history_retention`` (key prefix -> seconds) keeps the compacted
    revisions of those keys that long (see ``sqlite_retention``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compact_interval: float = 300.0,
        compact_keep: int = 10000,
        readers: int = 4,
        watch_queue_size: int = 10000,
        max_batch: int = 1000,
        reserve_bytes: int = 0,
        compact_batch: int = DEFAULT_BATCH,
        compact_budget: float = DEFAULT_BUDGET,
        history_retention: Mapping[str, float] | None = None,
    ) -> None:
        self.path = path
        self._retention = dict(history_retention or {})
        self._compact_batch = compact_batch
        self._compact_budget = compact_budget
        self._reserve_bytes = reserve_bytes
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._reader_count = readers
        self._max_batch = max_batch
        self._hub = WatchHub(watch_queue_size)
        self._lock = StoreLock(path)
        self._writer: Writer | None = None
        self._readers: ReaderPool | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.replay_queries = 0  # log reads by watches; live fan-out makes none

    @property
    def commits(self) -> int:
        """Transactions committed so far; below the write count under group commit."""
        return self._writer.commits if self._writer else 0

    @property
    def writes(self) -> int:
        """Successful create/update/delete calls so far."""
        return self._writer.writes if self._writer else 0

    async def start(self) -> None:
        # First, so a second process is refused before it reads a revision.
        self._lock.acquire()
        self._loop = asyncio.get_running_loop()
        self._writer = Writer(
            self.path,
            self._loop,
            self._deliver,
            self._max_batch,
            self._reserve_bytes,
            self._compact_batch,
            self._compact_budget,
        )
        self._writer.compaction.retention = self._retention
        try:
            rev, compact_rev = await self._writer.start()
        except BaseException:
            self._lock.release()
            raise
        self._hub.publish([], rev, compact_rev)
        self._readers = ReaderPool(self.path, self._reader_count, self._loop)
        if self._compact_keep > 0 and self._compact_interval > 0:
            self._compactor = asyncio.create_task(self._compact_periodically())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True  # from here on new calls fail; queued writes still land
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        if self._writer is not None:
            await self._writer.stop()
        self._hub.close()
        if self._readers is not None:
            await asyncio.to_thread(self._readers.shutdown)
        self._lock.release()  # last: every write has landed

    async def current_revision(self) -> int:
        self._check_open()
        return self._hub.revision

    async def compact_revision(self) -> int:
        self._check_open()
        return self._hub.compact_revision

    async def get(self, key: str) -> KeyValue | None:
        return await self._read(schema.get, key)

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> tuple[list[KeyValue], int]:
        check_revision(revision)
        return await self._read(schema.list_keys, prefix, revision, limit, start_after)

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._write(
            WriteOp(
                "create",
                self._future(),
                check_key(key),
                check_value(value),
                author=write_author.get(),
            )
        )

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        check_revision(expected_revision)
        op = WriteOp(
            "update",
            self._future(),
            check_key(key),
            check_value(value),
            expected_revision,
            write_author.get(),
        )
        return await self._write(op)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        check_revision(expected_revision)
        return await self._write(
            WriteOp(
                "delete",
                self._future(),
                check_key(key),
                b"",
                expected_revision,
                write_author.get(),
            )
        )

    async def revisions(self, key: str, after: int = 0, limit: int = 0) -> builtins.list[Revision]:
        """See :class:`shoal.store.base.HistoryStore`."""
        check_revision(after)
        return await self._read(schema.revisions, check_key(key), after, limit)

    async def deleted(
        self, prefix: str, start_after: str = "", limit: int = 0
    ) -> builtins.list[Revision]:
        """See :class:`shoal.store.base.HistoryStore`."""
        return await self._read(schema.deleted, prefix, start_after, limit)

    async def compact(self, revision: int) -> None:
        check_revision(revision)
        await self._write(WriteOp("compact", self._future(), expected=revision))

    def watch(self, prefix: str, revision: int) -> Watch:
        self._check_open()
        check_revision(revision)
        return self._hub.watch(prefix, revision, self._replay)

    # -- internals -------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if self._loop is None:
            raise StoreError("the store is not started")

    def _future(self) -> asyncio.Future[Any]:
        self._check_open()
        assert self._loop is not None
        return self._loop.create_future()

    async def _write(self, op: WriteOp) -> Any:
        self._check_open()
        assert self._writer is not None
        self._writer.submit(op)
        return await op.future

    def _deliver(self, outcomes: Outcomes, events: Events, revision: int, compact: int) -> None:
        # Watchers first, so a caller that resumes after its write can count
        # on the watch having the event queued.
        self._hub.publish(events, revision, compact)
        resolve(outcomes)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        self._check_open()
        assert self._readers is not None
        return await self._readers.read(fn, *args)

    async def _replay(
        self, prefix: str, after: int, upto: int | None, limit: int
    ) -> tuple[Events, int]:
        self.replay_queries += 1
        return await self._read(schema.history, prefix, after, upto, limit)

    async def _compact_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._compact_interval)
            target = self._hub.revision - self._compact_keep
            if target <= self._hub.compact_revision:
                continue
            try:
                await self.compact(target)
                log.debug("compacted", component="store", revision=target)
            except StoreError as exc:
                log.warning("compaction failed", component="store", error=str(exc))

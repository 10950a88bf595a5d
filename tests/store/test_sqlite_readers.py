"""The SQLite store's reader threads: answers and errors come back to the
caller, reads run off the loop and in parallel, a caller that stops waiting
leaves nothing behind, and shutdown lets queued reads finish and stops every
thread."""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import threading

import pytest
from shoal.store import sqlite_schema as schema
from shoal.store.sqlite_readers import ReaderPool

TIMEOUT = 10.0


def _database(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "store.db"
    schema.connect(path, writer=True).close()
    return path


async def test_a_read_answers_from_a_reader_thread(tmp_path: pathlib.Path) -> None:
    pool = ReaderPool(_database(tmp_path), 2, asyncio.get_running_loop())
    try:

        def where(conn: sqlite3.Connection, x: int) -> tuple[str, int, int]:
            (one,) = conn.execute("SELECT 1").fetchone()
            return threading.current_thread().name, one, x

        name, one, x = await asyncio.wait_for(pool.read(where, 7), TIMEOUT)
        assert (one, x) == (1, 7)
        assert name.startswith("shoal-store-read") and name != threading.current_thread().name
    finally:
        await asyncio.to_thread(pool.shutdown)


async def test_an_error_reaches_the_caller_and_the_thread_goes_on(tmp_path: pathlib.Path) -> None:
    pool = ReaderPool(_database(tmp_path), 1, asyncio.get_running_loop())
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await asyncio.wait_for(pool.read(lambda c: c.execute("SELECT * FROM nope")), TIMEOUT)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # query_only
            await asyncio.wait_for(pool.read(lambda c: c.execute("DELETE FROM meta")), TIMEOUT)
        assert await asyncio.wait_for(pool.read(lambda c: 5), TIMEOUT) == 5
    finally:
        await asyncio.to_thread(pool.shutdown)


async def test_reads_run_in_parallel_and_a_caller_may_give_up(tmp_path: pathlib.Path) -> None:
    pool = ReaderPool(_database(tmp_path), 2, asyncio.get_running_loop())
    gate, inside = threading.Event(), threading.Semaphore(0)

    def held(conn: sqlite3.Connection) -> str:
        inside.release()
        assert gate.wait(TIMEOUT)
        return "done"

    try:
        first, second = pool.read(held), pool.read(held)
        for _ in range(2):  # both threads are inside at once
            assert await asyncio.to_thread(inside.acquire, True, TIMEOUT)
        first.cancel()  # the caller stops waiting; its answer is dropped
        gate.set()
        assert await asyncio.wait_for(second, TIMEOUT) == "done"
        assert await asyncio.wait_for(pool.read(lambda c: "next"), TIMEOUT) == "next"
        assert first.cancelled()
    finally:
        gate.set()
        await asyncio.to_thread(pool.shutdown)


async def test_shutdown_lets_queued_reads_finish(tmp_path: pathlib.Path) -> None:
    pool = ReaderPool(_database(tmp_path), 2, asyncio.get_running_loop())
    reads = [pool.read(lambda c, i=i: i) for i in range(50)]
    await asyncio.to_thread(pool.shutdown)
    assert await asyncio.wait_for(asyncio.gather(*reads), TIMEOUT) == list(range(50))
    assert not [t for t in pool._threads if t.is_alive()]

"""The store's reader threads: each with its own read-only connection (a
WAL reader never waits for the writer), taking reads from one queue and
handing each answer back to the event loop.

A read costs the loop a future and one wake-up, no more: the executor it
replaces (``loop.run_in_executor``) added a ``concurrent.futures.Future``
with its condition and lock, and a second future chained to it, to every
read — 8% of the loop in the scheduler's benchmark, which reads a pod for
each Binding. The read itself still never runs on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from shoal.store import sqlite_schema as schema

T = TypeVar("T")
_Job = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]


class ReaderPool:
    """``count`` threads reading ``path``; ``read(fn, *args)`` runs
    ``fn(conn, *args)`` on one of them."""

    def __init__(
        self, path: str | os.PathLike[str], count: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._path, self._loop = path, loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"shoal-store-read-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def read(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        """Let the queued reads finish, then stop every thread (blocking:
        call it off the loop)."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while (job := self._jobs.get()) is not None:
                future, fn, args = job
                try:
                    if conn is None:
                        conn = schema.connect(self._path, writer=False)
                    result, error = fn(conn, *args), None
                except BaseException as exc:  # handed to the caller, whatever it is
                    result, error = None, exc
                self._answer(future, result, error)
                del job, future, result, error  # hold nothing while waiting
        finally:
            if conn is not None:
                conn.close()

    def _answer(
        self,
        future: asyncio.Future[Any],
        result: Any,
        error: BaseException | None,
    ) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self._loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the caller gave up waiting
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

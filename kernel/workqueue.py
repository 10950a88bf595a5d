"""A work queue of keys for controllers, like client-go's rate-limited
workqueue.

The queue holds *keys* (``namespace/name``), not objects: a controller reads
the current state when it works on a key, so ten changes to one object while
it waits cost one reconcile. The rules:

* a key added while it waits is queued once (deduplication);
* a key added while a worker processes it is queued again after ``done``, so
  two workers never hold the same key and no change is lost;
* ``add_rate_limited`` delays a key exponentially per failure (5 ms doubling
  up to 60 s, as client-go's default); ``forget`` resets that after success.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Hashable

from shoal import metrics


class QueueShutDown(Exception):
    """``get`` on a queue that was shut down and has nothing left."""


class WorkQueue:
    def __init__(self, name: str = "", *, base_delay: float = 0.005, max_delay: float = 60.0):
        self.name = name
        self.base_delay, self.max_delay = base_delay, max_delay
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()  # waiting to be processed
        self._processing: set[Hashable] = set()
        self._failures: dict[Hashable, int] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        # workqueue_* metrics, as client-go's, for named queues only
        self._metrics = _QueueMetrics(name) if name else None
        if name:
            metrics.track_workqueue(self)  # workqueue_depth, read at scrape time

    def __len__(self) -> int:
        return len(self._queue)

    def len(self) -> int:
        """How many keys wait (not counting those being processed)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: Hashable) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if self._metrics is not None:
            self._metrics.added(key)
        if key in self._processing:
            return  # done() queues it again
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: Hashable, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed (at once if <= 0)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def when(self, key: Hashable) -> float:
        """The delay the next ``add_rate_limited(key)`` would use."""
        exponent = self._failures.get(key, 0)
        return min(self.base_delay * (2**exponent), self.max_delay)

    def add_rate_limited(self, key: Hashable) -> None:
        delay = self.when(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._metrics is not None:
            self._metrics.retries.inc()
        self.add_after(key, delay)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        """Stop tracking ``key``'s failures (call after it succeeds)."""
        self._failures.pop(key, None)

    async def get(self) -> Hashable:
        """The next key; the caller must call ``done(key)`` when finished.
        Raises :class:`QueueShutDown` once shut down and drained."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(self.name)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and self._queue:
                    self._wake_one()  # pass on a wake-up this getter cannot use
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        if self._metrics is not None:
            self._metrics.got(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if self._metrics is not None:
            self._metrics.finished(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def shut_down(self) -> None:
        """Refuse new keys, drop pending timers and wake every waiting ``get``."""
        self._shutting_down = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _QueueMetrics:
    """client-go's workqueue metrics of one named queue: label children
    resolved once, and the times a key was added and taken."""

    def __init__(self, name: str) -> None:
        self.adds = metrics.workqueue_adds_total.labels(name)
        self.retries = metrics.workqueue_retries_total.labels(name)
        self.queue_duration = metrics.workqueue_queue_duration_seconds.labels(name)
        self.work_duration = metrics.workqueue_work_duration_seconds.labels(name)
        self._added: dict[Hashable, float] = {}
        self._started: dict[Hashable, float] = {}

    def added(self, key: Hashable) -> None:
        self.adds.inc()
        self._added.setdefault(key, time.perf_counter())

    def got(self, key: Hashable) -> None:
        now = time.perf_counter()
        since = self._added.pop(key, None)
        if since is not None:
            self.queue_duration.observe(now - since)
        self._started[key] = now

    def finished(self, key: Hashable) -> None:
        since = self._started.pop(key, None)
        if since is not None:
            self.work_duration.observe(time.perf_counter() - since)

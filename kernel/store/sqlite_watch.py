"""Watch fan-out for the SQLite store.

The writer publishes every committed batch here, on the event loop, once; the
hub filters it by prefix (once per distinct prefix, not per watcher) and
appends it to each watcher's bounded queue. No database read happens per
write, so a thousand watchers cost a thousand list appends, not a thousand
queries.

A watcher that falls more than ``queue_size`` events behind is dropped —
it must not hold up the writer or the other watchers — and its iterator raises
:class:`WatchOverflowError` after yielding what it had queued; the client
watches again from the last revision it saw (and relists if that was
compacted), as a Kubernetes client does when its watch closes.

A watch that starts in the past registers for live events *first*, then
replays the log up to a snapshot revision, then drains its live queue
skipping anything the replay already yielded: no gap, no repeat.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from shoal.store.base import CompactedError, Event, StoreError, WatchOverflowError

# (prefix, after, upto or None, limit) -> (events after < rev <= upto, upto used)
Replay = Callable[[str, int, "int | None", int], Awaitable[tuple[list[Event], int]]]

REPLAY_PAGE = 500


class Subscription:
    """One watcher's live queue."""

    __slots__ = ("__weakref__", "_waiter", "closed", "events", "limit", "overflowed", "prefix")

    def __init__(self, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.events: deque[Event] = deque()
        self.closed = False
        self.overflowed = False
        self._waiter: asyncio.Future[None] | None = None

    def push(self, events: list[Event]) -> bool:
        """Queue ``events``; False if that would overflow (the watcher is then over)."""
        if len(self.events) + len(events) > self.limit:
            self.overflowed = True
            self.end()
            return False
        self.events.extend(events)
        self._wake()
        return True

    def end(self) -> None:
        self.closed = True
        self._wake()

    async def get(self) -> Event | None:
        """The next queued event; None once the queue is empty and ended."""
        while not self.events:
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.events.popleft()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class WatchHub:
    """Every live subscription, grouped by prefix. Lives on the event loop."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.revision = 0  # newest revision published
        self.compact_revision = 0
        self.closed = False
        # Weak: a watch dropped without aclose() disappears with its iterator.
        self._subs: dict[str, weakref.WeakSet[Subscription]] = {}

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix, self.queue_size)
        self._subs.setdefault(prefix, weakref.WeakSet()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.prefix)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.prefix]

    def publish(self, events: list[Event], revision: int, compact_revision: int) -> None:
        self.revision = revision
        self.compact_revision = compact_revision
        if not events:
            return
        for prefix, subs in list(self._subs.items()):
            matching = [e for e in events if e.kv.key.startswith(prefix)] if prefix else events
            if not matching:
                continue
            for sub in list(subs):
                if not sub.push(matching):
                    self.unsubscribe(sub)

    def close(self) -> None:
        self.closed = True
        for subs in self._subs.values():
            for sub in list(subs):
                sub.end()
        self._subs.clear()

    def watch(self, prefix: str, revision: int, replay: Replay) -> Watch:
        return Watch(self, prefix, revision, replay)


class Watch(AsyncIterator[Event]):
    """The iterator ``Store.watch`` returns; see the module docstring."""

    def __init__(self, hub: WatchHub, prefix: str, revision: int, replay: Replay) -> None:
        self._hub = hub
        self._prefix = prefix
        self._replay = replay
        self._sub = hub.subscribe(prefix)  # before any replay: nothing slips between
        self._start = revision
        self._last = revision if revision > 0 else hub.revision
        # Everything after the published revision will still be published to
        # the subscription, so only an older start needs the log.
        self._replaying = 0 < revision < hub.revision
        self._upto: int | None = None
        self._pending: deque[Event] = deque()
        self._first = True
        self._done = False

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        if self._done:
            raise StopAsyncIteration
        try:
            return await self._next()
        except (StopAsyncIteration, Exception):
            await self.aclose()
            raise

    async def aclose(self) -> None:
        self._done = True
        self._hub.unsubscribe(self._sub)

    async def _next(self) -> Event:
        if self._first:
            self._first = False
            if 0 < self._start < self._hub.compact_revision:
                raise CompactedError(self._start, self._hub.compact_revision)
        while True:
            if self._hub.closed:
                raise StopAsyncIteration
            if self._pending:
                return self._take(self._pending.popleft())
            if self._replaying:
                try:
                    page, self._upto = await self._replay(
                        self._prefix, self._last, self._upto, REPLAY_PAGE
                    )
                except StoreError:
                    if self._hub.closed:  # the store closed under us: just end
                        raise StopAsyncIteration from None
                    raise
                self._replaying = len(page) == REPLAY_PAGE
                self._pending.extend(page)
                continue
            event = await self._sub.get()
            if event is None:
                if self._sub.overflowed:
                    raise WatchOverflowError(self._last)
                raise StopAsyncIteration
            if event.revision > self._last:  # else the replay yielded it already
                return self._take(event)

    def _take(self, event: Event) -> Event:
        self._last = event.revision
        return event

"""Watches for the etcd store: every watcher of one store shares ONE gRPC
watch stream to etcd, each under its own watch id (chosen here, so responses
route without waiting for etcd to hand ids out).

When the stream breaks — the member it was on died, the network blinked — it
is opened again (gRPC picks a member that answers) and every watcher is
created again from the revision after the last event it received, as etcd's
own Go client does: no event is lost or repeated. A watcher whose revision was
compacted in between ends with CompactedError, and its user relists.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable

import grpc
import structlog
from aetcd import rpc
from shoal.store.base import CompactedError, Event, KeyValue, StoreError, WatchOverflowError

log = structlog.get_logger("shoal.store.etcd")

# (etcd key) -> store key, or None for keys outside the store's prefix
KeyMapper = Callable[[bytes], str]


class EtcdWatch(AsyncIterator[Event]):
    """The iterator ``EtcdStore.watch`` returns."""

    def __init__(
        self, stream: WatchStream, key: bytes, end: bytes, revision: int, compacted: int
    ) -> None:
        self._stream = stream
        self.key, self.end = key, end
        self.start = revision
        self.last = revision  # the newest revision delivered (or the start)
        self.compacted_at_start = compacted
        self.events: deque[Event] = deque()
        self.error: BaseException | None = None
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._first = True
        self.watch_id = stream.add(self)

    def __aiter__(self) -> EtcdWatch:
        return self

    async def __anext__(self) -> Event:
        if self._first:
            self._first = False
            if 0 < self.start < self.compacted_at_start:
                await self.aclose()
                raise CompactedError(self.start, self.compacted_at_start)
        while not self.events:
            if self.error is not None:
                error, self.error = self.error, None
                self.closed = True
                raise error
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.events.popleft()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._stream.remove(self)
        self._wake()

    def push(self, events: list[Event], limit: int) -> None:
        if len(self.events) + len(events) > limit:
            self.fail(WatchOverflowError(self.last))
            return
        self.events.extend(events)
        self.last = events[-1].revision
        self._wake()

    def fail(self, error: BaseException | None) -> None:
        """End the watch; ``error`` (if any) is raised after the queued events."""
        if self.closed:
            return
        self.error = error
        self.closed = error is None
        self._stream.remove(self)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class WatchStream:
    """The one watch stream of a store; see the module docstring."""

    def __init__(
        self,
        stub: rpc.WatchStub,
        to_key: KeyMapper,
        on_revision: Callable[[int], None],
        on_compacted: Callable[[int], None],
        queue_size: int = 10000,
    ) -> None:
        self._stub = stub
        self._to_key = to_key
        self._on_revision = on_revision
        self._on_compacted = on_compacted
        self.queue_size = queue_size
        self._ids = itertools.count(1)
        self._watches: dict[int, EtcdWatch] = {}
        self._requests: asyncio.Queue[rpc.WatchRequest] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        self.reconnects = 0

    def add(self, watch: EtcdWatch) -> int:
        if self.closed:
            raise StoreError("the store is closed")
        watch_id = next(self._ids)
        self._watches[watch_id] = watch
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        else:
            self._requests.put_nowait(self._create(watch_id, watch))
        return watch_id

    def remove(self, watch: EtcdWatch) -> None:
        if self._watches.pop(watch.watch_id, None) is not None and not self.closed:
            cancel = rpc.WatchCancelRequest(watch_id=watch.watch_id)
            self._requests.put_nowait(rpc.WatchRequest(cancel_request=cancel))

    async def close(self) -> None:
        self.closed = True
        for watch in list(self._watches.values()):
            watch.fail(None)
        self._watches.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @staticmethod
    def _create(watch_id: int, watch: EtcdWatch) -> rpc.WatchRequest:
        create = rpc.WatchCreateRequest(
            key=watch.key,
            range_end=watch.end,
            start_revision=watch.last + 1,
            prev_kv=True,
            watch_id=watch_id,
        )
        return rpc.WatchRequest(create_request=create)

    async def _run(self) -> None:
        backoff = 0.05
        while not self.closed:
            try:
                await self._serve()
                backoff = 0.05
            except grpc.aio.AioRpcError as err:
                if self.closed:
                    return
                log.info("etcd watch stream broke; reopening", error=err.details(), store="etcd")
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _serve(self) -> None:
        # Every (re)connect starts from a fresh queue holding one create per watcher.
        self._requests = asyncio.Queue()
        for watch_id, watch in self._watches.items():
            self._requests.put_nowait(self._create(watch_id, watch))
        call = self._stub.Watch(self._outgoing())
        async for response in call:
            self._dispatch(response)

    async def _outgoing(self) -> AsyncIterator[rpc.WatchRequest]:
        requests = self._requests
        while True:
            yield await requests.get()

    def _dispatch(self, response: rpc.WatchResponse) -> None:
        self._on_revision(response.header.revision)
        watch = self._watches.get(response.watch_id)
        if watch is None:
            return  # cancelled on our side; etcd had events in flight
        if response.compact_revision:
            self._on_compacted(response.compact_revision)
            watch.fail(CompactedError(watch.last, response.compact_revision))
        elif response.canceled:
            watch.fail(StoreError(f"etcd cancelled the watch: {response.cancel_reason}"))
        elif response.events:
            events = [self._event(e) for e in response.events]
            watch.push(events, self.queue_size)

    def _event(self, e: rpc.Event) -> Event:
        key = self._to_key(e.kv.key)
        prev = _kv(key, e.prev_kv) if e.HasField("prev_kv") else None
        if e.type == rpc.Event.DELETE:
            last = prev or KeyValue(key, b"", 0, 0)
            kv = KeyValue(key, last.value, last.create_revision, e.kv.mod_revision)
            return Event("DELETE", kv, prev)
        if e.kv.create_revision == e.kv.mod_revision:
            return Event("CREATE", _kv(key, e.kv), prev)
        return Event("UPDATE", _kv(key, e.kv), prev)


def _kv(key: str, kv: rpc.KeyValue) -> KeyValue:
    return KeyValue(key, kv.value, kv.create_revision, kv.mod_revision)

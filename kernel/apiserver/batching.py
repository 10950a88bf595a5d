"""Grouping a watch's events into responses: what queued up while the stream
was busy sending travels in one message, as etcd's watch responses do. A
stream that keeps up sends one event per message; one that falls behind
catches up in a few large ones instead of thousands of small ones."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")

MAX_BATCH = 1000  # events per response
MAX_QUEUED = 20000  # past this the pump waits, and the store's own bound applies


async def batched(source: AsyncIterator[T]) -> AsyncIterator[list[T]]:
    queue: deque[T] = deque()
    ready, room = asyncio.Event(), asyncio.Event()
    ended: list[BaseException | None] = []

    async def pump() -> None:
        try:
            async for item in source:
                queue.append(item)
                ready.set()
                while len(queue) >= MAX_QUEUED:
                    room.clear()
                    await room.wait()
            ended.append(None)
        except Exception as err:  # handed to the consumer, in order, after the queue
            ended.append(err)
        finally:
            ready.set()

    task = asyncio.create_task(pump())
    try:
        while True:
            await ready.wait()
            ready.clear()
            while queue:
                yield [queue.popleft() for _ in range(min(len(queue), MAX_BATCH))]
                room.set()
            if ended:
                if ended[0] is not None:
                    raise ended[0]
                return
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def watch_response(frames: list[bytes]) -> bytes:
    """A serialized WatchResponse from serialized WatchEvents, by concatenation:
    each is field 1 (length-delimited) of the response."""
    return b"".join(b"\x0a" + _varint(len(frame)) + frame for frame in frames)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)

"""The watch stream's closing, without a browser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from shoal.plugins.dashboard.live import _close


async def test_closing_a_watch_with_a_read_in_flight_closes_it() -> None:
    """A browser that goes away leaves a read pending in the watch: closing
    must wait for that read to end before closing the generator (closing it
    at once raised "aclose(): asynchronous generator is already running")."""
    closed = []

    async def watch() -> AsyncIterator[int]:
        try:
            await asyncio.Event().wait()
            yield 1
        finally:
            closed.append(True)

    stream = watch()
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the read is inside the generator now
    await _close(pending, stream)
    assert closed == [True] and pending.cancelled()

"""An asyncio event loop on a virtual clock that jumps ahead when idle.

``loop.time()`` is virtual: ``asyncio.sleep``, ``wait_for`` and every timer
follow it. When nothing is ready to run, no thread work the loop handed out
(``run_in_executor``) is pending, and no I/O arrives for ``idle`` seconds of
real time (loopback gRPC between the parts of the control plane in this
process), the clock jumps to the next timer, as trio's ``MockClock`` with
``autojump_threshold`` does. The short real wait is what keeps a jump from
overtaking a request still on the wire: a reply that takes longer than
``idle`` only arrives later in virtual time, never out of order. A jump
goes ``resolution`` (100 ms) past the next timer, so timers that close
together fire in one step: the simulation's clock has that granularity.
A positive delay is at least ``MIN_DELAY``: a float cannot hold 260.3 +
1e-14, so a shorter sleep would come due at once without the clock moving,
and a loop sleeping until a deadline just ahead would spin forever where
real time would have moved on.

:func:`virtual_clocks` gives the wall and monotonic clocks for
:func:`shoal.clock.install` that follow the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
from collections.abc import Callable
from typing import Any

IDLE = 0.0005  # real seconds without I/O before the clock may jump
NO_TIMERS_WAIT = 0.05  # real seconds to wait when no timer is scheduled
RESOLUTION = 0.1  # virtual seconds: timers this close to the next one fire with it
MIN_DELAY = 1e-6  # virtual seconds: the shortest positive delay (above a float's precision)


class _AutojumpSelector(selectors.BaseSelector):
    """Wraps a real selector; a wait for a timer becomes a jump of the clock."""

    def __init__(self, inner: selectors.BaseSelector, idle: float) -> None:
        self.inner, self.idle = inner, idle
        self.loop: VirtualClockLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self.inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.inner.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self.inner.get_map()

    def close(self) -> None:
        self.inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return self.inner.select(0)
        wait = self.idle if timeout is None else min(timeout, self.idle)
        events = self.inner.select(wait)
        if events:
            return events
        loop = self.loop
        if timeout is None or loop is None:
            return self.inner.select(NO_TIMERS_WAIT)
        if loop.busy():
            return self.inner.select(self.idle)
        loop.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` starts at 0 and jumps ahead."""

    def __init__(self, idle: float = IDLE, resolution: float = RESOLUTION) -> None:
        selector = _AutojumpSelector(selectors.DefaultSelector(), idle)
        super().__init__(selector)
        selector.loop = self
        self._virtual = 0.0
        self.resolution = resolution
        self._pending: set[concurrent.futures.Future[Any] | asyncio.Future[Any]] = set()
        self.jumps = 0

    def time(self) -> float:
        return self._virtual

    def advance(self, seconds: float) -> None:
        self._virtual += seconds + self.resolution
        self.jumps += 1

    def busy(self) -> bool:
        self._pending = {f for f in self._pending if not f.done()}
        return bool(self._pending)

    def call_later(self, delay: float, callback: Any, *args: Any, context: Any = None) -> Any:  # type: ignore[override]
        if 0 < delay < MIN_DELAY:
            delay = MIN_DELAY
        return super().call_later(delay, callback, *args, context=context)

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:  # type: ignore[override]
        future = super().run_in_executor(executor, func, *args)
        self._pending.add(future)
        return future


def virtual_clocks(
    loop: VirtualClockLoop, epoch: float
) -> tuple[Callable[[], float], Callable[[], float]]:
    """(wall, monotonic) for :func:`shoal.clock.install`: wall time starts at
    ``epoch`` (seconds since the epoch) and both move with the loop."""
    return (lambda: epoch + loop.time()), loop.time

"""One handler of an informer, fed through its own buffer.

client-go's ``processorListener``: the informer only appends to each
handler's queue, and a task per handler drains it, so a slow handler never
stalls the watch or the other handlers. The queue is unbounded, as
client-go's ring buffer grows: level state is never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import structlog

log = structlog.get_logger("informer")

Handler = Callable[..., Any]

ADD, UPDATE, DELETE = 0, 1, 2
# Queued after the objects of the first list (or, for a handler added late,
# after the replay of the cache): everything before it is the initial state.
_SYNCED = object()


_collecting: contextvars.ContextVar[list[HandlerRegistration] | None] = contextvars.ContextVar(
    "shoal_informer_registrations", default=None
)


@contextlib.contextmanager
def collect_registrations() -> Iterator[list[HandlerRegistration]]:
    """Gather every handler added inside the block, so whoever builds a
    consumer (the control plane, building a controller) can remove its
    handlers from the shared informers when the consumer ends."""
    collected: list[HandlerRegistration] = []
    token = _collecting.set(collected)
    try:
        yield collected
    finally:
        _collecting.reset(token)


def collected(registration: HandlerRegistration) -> None:
    gathered = _collecting.get()
    if gathered is not None:
        gathered.append(registration)


class HandlerRegistration:
    """What ``Informer.add_handler`` returns: its sync state, and ``remove()``."""

    def __init__(
        self,
        kind: str,
        handlers: tuple[Handler | None, Handler | None, Handler | None],
        on_remove: Callable[[HandlerRegistration], None],
    ) -> None:
        self.kind = kind
        self.handlers = handlers
        self._on_remove = on_remove
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()

    # -- the informer's side ---------------------------------------------------

    def enqueue(self, which: int, *args: Any) -> None:
        if self.handlers[which] is not None:
            self._queue.put_nowait((which, args))
            self._ensure_task()

    def mark_synced(self) -> None:
        """Everything queued so far is the initial state."""
        if not self._synced.is_set():
            self._queue.put_nowait(_SYNCED)
            self._ensure_task()

    def _ensure_task(self) -> None:
        if self._task is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet: the first event from the informer starts it
            self._task = asyncio.create_task(self._drain(), name=f"informer-{self.kind}-handler")

    async def stop(self) -> None:
        """Stop delivering (pending events are dropped)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the consumer's side -----------------------------------------------------

    def has_synced(self) -> bool:
        """True once this handler has been given every object of the initial list."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    def remove(self) -> None:
        """Unregister: no more events reach this handler."""
        self._on_remove(self)
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- delivering ----------------------------------------------------------------

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            if item is _SYNCED:
                self._synced.set()
                continue
            which, args = item
            await self._call(self.handlers[which], args)

    async def _call(self, handler: Handler | None, args: tuple[Any, ...]) -> None:
        if handler is None:
            return
        try:
            result = handler(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            # One handler's bug must not cost the others (or itself) later events.
            log.exception("informer handler failed", kind=self.kind)

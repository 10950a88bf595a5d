"""An informer inside the API server: list one kind from the store, then
follow its watch, calling ``on_change(key, obj | None)`` for every object
(None when deleted). Authorizers use it to keep their indexes without an
RPC; compaction or a dropped watch relists, as the client Informer does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from shoal.apiserver import codec
from shoal.kinds import Kind
from shoal.store import CompactedError, Store, WatchOverflowError

log = structlog.get_logger("apiserver")

OnChange = Callable[[str, Any | None], None]


class StoreCache:
    def __init__(self, store: Store, kind: Kind, on_change: OnChange) -> None:
        self.store = store
        self.kind = kind
        self.on_change = on_change
        self.revision = 0
        self._keys: set[str] = set()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load everything, then keep following in the background."""
        await self._relist()
        self._task = asyncio.create_task(self._follow(), name=f"cache-{self.kind.plural}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _relist(self) -> None:
        kvs, self.revision = await self.store.list(codec.kind_prefix(self.kind))
        seen = {kv.key for kv in kvs}
        for key in self._keys - seen:
            self.on_change(key, None)
        for kv in kvs:
            self.on_change(kv.key, codec.decode(self.kind, kv))
        self._keys = seen
        self._synced.set()

    async def _follow(self) -> None:
        while True:
            try:
                async for event in self.store.watch(codec.kind_prefix(self.kind), self.revision):
                    self._apply(event)
            except (CompactedError, WatchOverflowError):
                await self._relist()
            except Exception:  # a store hiccup must not stop authorization for good
                log.exception("policy cache watch failed; relisting", kind=self.kind.kind)
                await asyncio.sleep(0.5)
                await self._relist()

    def _apply(self, event: Any) -> None:
        self.revision = event.revision
        key = event.kv.key
        if event.type == "DELETE":
            self._keys.discard(key)
            self.on_change(key, None)
        else:
            self._keys.add(key)
            self.on_change(key, codec.decode(self.kind, event.kv))

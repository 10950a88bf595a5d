"""Informers: list, then watch, into a local cache with indexes, like
client-go's SharedIndexInformer.

The cache is level state: handlers learn of adds, updates and deletes, and a
compacted watch (GoneError) or a broken stream is mended by a relist whose
differences reach the handlers as ordinary events, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import random
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from shoal import errors
from shoal.client.client import Client

log = structlog.get_logger("informer")

Handler = Callable[..., Any]
IndexFunc = Callable[[Any], Iterable[str]]


def object_key(obj: Any) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    m = obj.metadata
    return f"{m.namespace}/{m.name}" if m.namespace else m.name


def namespace_index(obj: Any) -> list[str]:
    return [obj.metadata.namespace]


class Informer:
    def __init__(
        self,
        client: Client,
        kind: str,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
        backoff: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resource_version = ""
        self._backoff, self._max_backoff = backoff, max_backoff
        self._cache: dict[str, Any] = {}
        self._indexers: dict[str, IndexFunc] = {"namespace": namespace_index}
        self._indexes: dict[str, dict[str, set[str]]] = {"namespace": {}}
        self._handlers: list[tuple[Handler | None, Handler | None, Handler | None]] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.relists = 0

    # -- configuration -------------------------------------------------------

    def add_index(self, name: str, func: IndexFunc) -> None:
        self._indexers[name] = func
        self._indexes[name] = {}
        for key, obj in self._cache.items():
            self._index(name, key, obj)

    def add_handler(
        self,
        on_add: Handler | None = None,
        on_update: Handler | None = None,
        on_delete: Handler | None = None,
    ) -> None:
        """``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``; plain
        functions or coroutine functions."""
        self._handlers.append((on_add, on_update, on_delete))

    # -- reading the cache ---------------------------------------------------

    def get(self, name: str, namespace: str = "") -> Any | None:
        return self._cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Any]:
        return list(self._cache.values())

    def by_index(self, index: str, value: str) -> builtins.list[Any]:
        keys = self._indexes[index].get(value, ())
        return [self._cache[k] for k in keys]

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- running -------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer-{self.kind}")

    async def wait_synced(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._backoff
        while True:
            try:
                if not self.resource_version:
                    await self._relist()
                await self._watch()
                delay = self._backoff
            except errors.GoneError:
                log.info("watch expired; relisting", kind=self.kind)
                self.resource_version = ""
            except (errors.APIError, OSError) as err:
                log.warning(
                    "watch failed; retrying",
                    kind=self.kind,
                    error=str(err),
                    retry_in=round(delay, 2),
                )
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self._max_backoff)

    async def _relist(self) -> None:
        listed = await self.client.list(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        self.relists += 1
        fresh = {object_key(obj): obj for obj in listed.items}
        for key in [k for k in self._cache if k not in fresh]:
            await self._apply("DELETED", self._cache[key])
        for obj in fresh.values():
            await self._apply("ADDED", obj)
        self.resource_version = listed.resource_version
        self._synced.set()

    async def _watch(self) -> None:
        async for event in self.client.watch(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=self.resource_version,
            allow_bookmarks=True,
        ):
            if event.type != "BOOKMARK":
                await self._apply(event.type, event.object)
            self.resource_version = event.resource_version

    async def _apply(self, event_type: str, obj: Any) -> None:
        key = object_key(obj)
        old = self._cache.get(key)
        if event_type == "DELETED":
            if old is None:
                return
            self._unindex(key, old)
            del self._cache[key]
            await self._notify(2, obj)
            return
        if old is not None:
            if old.metadata.resource_version == obj.metadata.resource_version:
                return  # a relist repeating what we hold
            self._unindex(key, old)
        self._cache[key] = obj
        for name in self._indexers:
            self._index(name, key, obj)
        if old is None:
            await self._notify(0, obj)
        else:
            await self._notify(1, old, obj)

    async def _notify(self, which: int, *args: Any) -> None:
        for handlers in self._handlers:
            handler = handlers[which]
            if handler is None:
                continue
            try:
                result = handler(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("informer handler failed", kind=self.kind)

    def _index(self, name: str, key: str, obj: Any) -> None:
        for value in self._indexers[name](obj):
            self._indexes[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Any) -> None:
        for name, func in self._indexers.items():
            for value in func(obj):
                keys = self._indexes[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indexes[name][value]

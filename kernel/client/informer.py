"""Informers: list, then watch, into a local cache with indexes, like
client-go's SharedIndexInformer.

The cache is level state: handlers learn of adds, updates and deletes, and a
compacted watch (GoneError) or a broken stream is mended by a relist whose
differences reach the handlers as ordinary events, so nothing is missed.

One informer serves many consumers (see :mod:`shoal.client.factory`): each
``add_handler`` gets its own buffer (:mod:`shoal.client.listener`), a handler
added late first receives every cached object as an add, and ``start`` /
``stop`` count their callers so the watch runs while anyone uses it. The
reflector (the list-and-watch loop) retries *every* failure with jittered,
capped exponential back-off: it never dies while someone waits on it.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import random
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from shoal import errors
from shoal.client.client import Client
from shoal.client.listener import ADD, DELETE, UPDATE, Handler, HandlerRegistration, collected

log = structlog.get_logger("informer")

IndexFunc = Callable[[Any], Iterable[str]]

__all__ = ["Handler", "HandlerRegistration", "IndexFunc", "Informer", "object_key"]


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
        self._handlers: list[HandlerRegistration] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._users = 0
        self.relists = 0
        self.failures = 0  # reflector errors retried (not counting compaction)

    # -- configuration -------------------------------------------------------

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Index the cache by ``func(obj)``. Consumers sharing an informer may
        each ask for the same index name: the first one's function is kept."""
        if name in self._indexers:
            return
        self._indexers[name] = func
        self._indexes[name] = {}
        for key, obj in self._cache.items():
            self._index(name, key, obj)

    def add_handler(
        self,
        on_add: Handler | None = None,
        on_update: Handler | None = None,
        on_delete: Handler | None = None,
    ) -> HandlerRegistration:
        """``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``; plain
        functions or coroutine functions, called from the handler's own task.

        A handler added after the informer has objects first receives each
        of them as an add, as client-go does. Handlers must not change the
        objects they receive: every consumer shares them.
        """
        registration = HandlerRegistration(
            self.kind, (on_add, on_update, on_delete), self._remove_handler
        )
        self._handlers.append(registration)
        collected(registration)
        for obj in self._cache.values():
            registration.enqueue(ADD, obj)
        if self._synced.is_set():
            registration.mark_synced()
        return registration

    def _remove_handler(self, registration: HandlerRegistration) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(registration)

    @property
    def handler_count(self) -> int:
        return len(self._handlers)

    # -- reading the cache ---------------------------------------------------

    def get(self, name: str, namespace: str = "") -> Any | None:
        return self._cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Any]:
        return list(self._cache.values())

    def by_index(self, index: str, value: str) -> builtins.list[Any]:
        keys = self._indexes[index].get(value, ())
        return [self._cache[k] for k in keys]

    def has_synced(self) -> bool:
        """True once the cache holds a full list (client-go's HasSynced)."""
        return self._synced.is_set()

    @property
    def synced(self) -> bool:
        return self.has_synced()

    async def wait_for_sync(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    wait_synced = wait_for_sync

    # -- running -------------------------------------------------------------

    def start(self) -> None:
        """Start (or keep running) the list-and-watch; each ``start`` is
        matched by one ``stop``, and the last ``stop`` ends the watch."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer-{self.kind}")

    @property
    def running(self) -> bool:
        return self._task is not None

    async def stop(self) -> None:
        if self._users > 0:
            self._users -= 1
        if self._users > 0 or self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # A later start relists, and only then are handlers synced again.
        self._synced.clear()
        self.resource_version = ""
        for registration in list(self._handlers):
            await registration.stop()

    async def _run(self) -> None:
        delay = self._backoff
        while True:
            try:
                if not self.resource_version:
                    self._relist(await self._list())
                await self._watch()
                delay = self._backoff
            except asyncio.CancelledError:
                raise
            except errors.GoneError:
                log.info("watch expired; relisting", kind=self.kind)
                self.resource_version = ""
            except Exception as err:  # every failure: a reflector must not die
                self.failures += 1
                level = log.warning if isinstance(err, errors.APIError | OSError) else log.error
                level(
                    "list/watch failed; retrying",
                    kind=self.kind,
                    error=f"{type(err).__name__}: {err}",
                    retry_in=round(delay, 2),
                )
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self._max_backoff)

    async def _list(self) -> Any:
        return await self.client.list(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )

    def _relist(self, listed: Any) -> None:
        self.relists += 1
        fresh = {object_key(obj): obj for obj in listed.items}
        for key in [k for k in self._cache if k not in fresh]:
            self._apply("DELETED", self._cache[key])
        for obj in fresh.values():
            self._apply("ADDED", obj)
        self.resource_version = listed.resource_version
        if not self._synced.is_set():
            self._synced.set()
            for registration in self._handlers:
                registration.mark_synced()

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
                self._apply(event.type, event.object)
            self.resource_version = event.resource_version

    def _apply(self, event_type: str, obj: Any) -> None:
        key = object_key(obj)
        old = self._cache.get(key)
        if event_type == "DELETED":
            if old is None:
                return
            self._unindex(key, old)
            del self._cache[key]
            self._notify(DELETE, obj)
            return
        if old is not None:
            if old.metadata.resource_version == obj.metadata.resource_version:
                return  # a relist repeating what we hold
            self._unindex(key, old)
        self._cache[key] = obj
        for name in self._indexers:
            self._index(name, key, obj)
        if old is None:
            self._notify(ADD, obj)
        else:
            self._notify(UPDATE, old, obj)

    def _notify(self, which: int, *args: Any) -> None:
        for registration in self._handlers:
            registration.enqueue(which, *args)

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

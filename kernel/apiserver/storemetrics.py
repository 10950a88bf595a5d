"""Store metrics, with kube-apiserver's names whatever the backend (k3s
over kine reports them for SQLite too):

* ``etcd_request_duration_seconds{operation,type}``: every get, list,
  create, update and delete, by the resource its key is under;
* ``apiserver_storage_objects{resource}``: objects stored per resource,
  counted from the store once a minute (as kube-apiserver counts etcd's)
  and kept current between counts by this server's own creates and deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from shoal import metrics
from shoal.apiserver.codec import ROOT
from shoal.store import KeyValue, Store, StoreError

log = structlog.get_logger("apiserver")
COUNT_INTERVAL = 60.0
_ROOT_LENGTH = len(ROOT)


def resource_of(key: str) -> str:
    """``/registry/configmaps/default/x`` -> ``configmaps``."""
    if not key.startswith(ROOT):
        return ""
    end = key.find("/", _ROOT_LENGTH)
    return key[_ROOT_LENGTH:end] if end >= 0 else key[_ROOT_LENGTH:]


class _Objects(Collector):
    """apiserver_storage_objects of the live instrumented stores."""

    def __init__(self) -> None:
        self.stores: weakref.WeakSet[InstrumentedStore] = weakref.WeakSet()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind.",
            labels=["resource"],
        )
        totals: dict[str, int] = {}
        for store in list(self.stores):
            for resource, count in list(store.objects.items()):
                totals[resource] = totals.get(resource, 0) + count
        for resource, count in sorted(totals.items()):
            family.add_metric([resource], count)
        yield family


OBJECTS = _Objects()
metrics.REGISTRY.register(OBJECTS)


class InstrumentedStore:
    """A :class:`~shoal.store.Store` whose calls are timed and whose objects
    are counted; everything else is the inner store's."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.objects: dict[str, int] = {}
        self._timers: dict[tuple[str, str], Any] = {}
        self._counting: asyncio.Task[None] | None = None
        OBJECTS.stores.add(self)

    def __getattr__(self, name: str) -> Any:  # backend extras (paths, clients)
        return getattr(self.inner, name)

    def _timer(self, operation: str, resource: str) -> Any:
        found = self._timers.get((operation, resource))
        if found is None:
            found = metrics.etcd_request_duration_seconds.labels(operation, resource)
            if len(self._timers) < 1024:  # resources are few; keys are checked already
                self._timers[(operation, resource)] = found
        return found

    async def start(self) -> None:
        await self.inner.start()
        self._counting = asyncio.create_task(self._count_periodically(), name="storage-objects")

    async def close(self) -> None:
        if self._counting is not None:
            self._counting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counting
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compact_revision(self) -> int:
        return await self.inner.compact_revision()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def get(self, key: str) -> KeyValue | None:
        started = time.perf_counter()
        try:
            return await self.inner.get(key)
        finally:
            self._timer("get", resource_of(key)).observe(time.perf_counter() - started)

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> tuple[list[KeyValue], int]:
        started = time.perf_counter()
        try:
            return await self.inner.list(prefix, revision, limit, start_after)
        finally:
            self._timer("list", resource_of(prefix)).observe(time.perf_counter() - started)

    async def create(self, key: str, value: bytes) -> KeyValue:
        started, resource = time.perf_counter(), resource_of(key)
        try:
            kv = await self.inner.create(key, value)
        finally:
            self._timer("create", resource).observe(time.perf_counter() - started)
        self.objects[resource] = self.objects.get(resource, 0) + 1
        return kv

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        started = time.perf_counter()
        try:
            return await self.inner.update(key, value, expected_revision)
        finally:
            self._timer("update", resource_of(key)).observe(time.perf_counter() - started)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        started, resource = time.perf_counter(), resource_of(key)
        try:
            kv = await self.inner.delete(key, expected_revision)
        finally:
            self._timer("delete", resource).observe(time.perf_counter() - started)
        self.objects[resource] = max(self.objects.get(resource, 0) - 1, 0)
        return kv

    def watch(self, prefix: str, revision: int) -> AsyncIterator[Any]:
        return self.inner.watch(prefix, revision)

    async def count(self) -> None:
        """Count every stored object by resource (a page at a time)."""
        counts: dict[str, int] = {}
        after, revision = "", 0
        while True:
            kvs, revision = await self.inner.list(ROOT, revision, 500, after)
            for kv in kvs:
                resource = resource_of(kv.key)
                counts[resource] = counts.get(resource, 0) + 1
            if len(kvs) < 500:
                break
            after = kvs[-1].key
        self.objects = counts

    async def _count_periodically(self) -> None:
        while True:
            try:
                await self.count()
            except (StoreError, OSError) as err:
                log.warning("could not count stored objects", error=str(err))
            await asyncio.sleep(COUNT_INTERVAL)

"""Watch: store events turned into Kubernetes watch events.

A watch from resourceVersion R delivers every change after R exactly once and
in order. With selectors, an object that starts matching arrives as ADDED and
one that stops matching as DELETED, as Kubernetes does; to know what matched
before the first event, the watch lists the selection at R first.

Encoding is shared: one write watched by a thousand streams is decoded and
serialized once (``EventCache``), not a thousand times.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.any_pb2 import Any as AnyProto
from shoal import clock, errors
from shoal.api.v1 import api_pb2
from shoal.apiserver import codec
from shoal.apiserver.filters import ObjectFilter
from shoal.apiserver.lists import parse_resource_version, too_large
from shoal.kinds import Kind
from shoal.store import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyValue,
    Store,
    WatchOverflowError,
)

ADDED, MODIFIED, DELETED, BOOKMARK = "ADDED", "MODIFIED", "DELETED", "BOOKMARK"
_PLAIN = {"CREATE": ADDED, "UPDATE": MODIFIED, "DELETE": DELETED}


@dataclass
class WatchedEvent:
    type: str
    kind: Kind
    kv: KeyValue | None  # None for BOOKMARK
    revision: int
    cache: EventCache = field(repr=False)

    @property
    def object(self) -> Any:
        return None if self.kv is None else self.cache.decoded(self.kind, self.kv)

    def encoded(self) -> bytes:
        """The serialized api_pb2.WatchEvent, shared between watchers."""
        return self.cache.encoded(self.type, self.kind, self.kv, self.revision)


async def watch_objects(
    store: Store,
    kind: Kind,
    namespace: str = "",
    *,
    label_selector: str = "",
    field_selector: str = "",
    resource_version: str = "",
    bookmark_interval: float = 0.0,
    cache: EventCache | None = None,
) -> AsyncIterator[WatchedEvent]:
    """Watch events for one kind; BOOKMARKs every ``bookmark_interval`` s (0: none).
    Watches of one store share one ``cache``."""
    cache = cache or EventCache()
    selector = ObjectFilter(kind, label_selector, field_selector)
    prefix = codec.kind_prefix(kind, namespace)
    revision = parse_resource_version(resource_version)
    matched: set[str] | None = None
    try:
        if revision == 0:  # no version: the current state first, as ADDED events
            kvs, revision = await store.list(prefix)
            matched = set()
            for kv in kvs:
                if selector.matches(cache.decoded(kind, kv)):
                    matched.add(kv.key)
                    yield WatchedEvent(ADDED, kind, kv, kv.mod_revision, cache)
        elif not selector.empty:
            kvs, _ = await store.list(prefix, revision)
            matched = {kv.key for kv in kvs if selector.matches(cache.decoded(kind, kv))}
        source = store.watch(prefix, revision)
        async for item in _with_bookmarks(source, bookmark_interval):
            if item is None:
                yield WatchedEvent(BOOKMARK, kind, None, revision, cache)
                continue
            revision = item.revision
            event_type = _classify(item, kind, selector, matched, cache)
            if event_type is not None:
                yield WatchedEvent(event_type, kind, item.kv, revision, cache)
    except FutureRevisionError:
        raise too_large(revision) from None
    except WatchOverflowError as err:
        raise errors.TooManyRequestsError(
            f"the watch fell too far behind and was closed; watch again from "
            f"resourceVersion {err.revision}"
        ) from None
    except CompactedError as err:
        raise errors.GoneError(
            f"too old resource version: {err.revision} ({err.compact_revision})"
        ) from None


def _classify(
    event: Event, kind: Kind, selector: ObjectFilter, matched: set[str] | None, cache: EventCache
) -> str | None:
    if selector.empty or matched is None:
        return _PLAIN[event.type]
    key = event.kv.key
    was = key in matched
    now = event.type != "DELETE" and selector.matches(cache.decoded(kind, event.kv))
    if now:
        matched.add(key)
    else:
        matched.discard(key)
    if was and now:
        return MODIFIED
    if now:
        return ADDED
    return DELETED if was else None


async def _with_bookmarks(
    source: AsyncIterator[Event], interval: float
) -> AsyncIterator[Event | None]:
    """The source's events, with None whenever ``interval`` s pass without one.
    The pending read is kept across ticks, never cancelled, so nothing is lost."""
    if interval <= 0:
        async for item in source:
            yield item
        return
    iterator = source.__aiter__()
    pending: asyncio.Future[Event] | None = None
    deadline = clock.monotonic() + interval
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=max(deadline - clock.monotonic(), 0))
            if not done:
                deadline = clock.monotonic() + interval
                yield None
                continue
            future, pending = pending, None
            try:
                item = future.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


class _LRU(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class EventCache:
    """Decoded objects and encoded watch frames of one store's recent writes,
    keyed by (key, revision): a write watched by many streams is decoded and
    serialized once. One per store: revisions of two stores are unrelated."""

    def __init__(self, objects: int = 4096, frames: int = 8192) -> None:
        self._objects = _LRU(objects)
        self._frames = _LRU(frames)

    def decoded(self, kind: Kind, kv: KeyValue) -> Any:
        """The object of a store value; callers must not change it."""
        key = (kind.api_version, kv.key, kv.mod_revision)  # versions of one resource differ
        obj = self._objects.get(key)
        if obj is None:
            obj = self._objects.put(key, codec.decode(kind, kv))
        return obj

    def encoded(self, event_type: str, kind: Kind, kv: KeyValue | None, revision: int) -> bytes:
        key = (event_type, kind.api_version, kv.key if kv else "", revision)
        frame = self._frames.get(key)
        if frame is None:
            message = api_pb2.WatchEvent(type=event_type, resource_version=str(revision))
            if kv is not None:
                message.object.CopyFrom(
                    AnyProto(type_url=type_url(kind), value=codec.stamped(kind, kv))
                )
            frame = self._frames.put(key, message.SerializeToString())
        return frame


def type_url(kind: Kind) -> str:
    return f"type.googleapis.com/{kind.full_name}"

"""Events: what controllers, the scheduler and agents tell people about
objects (``Scaled up replica set web-7d4b9 to 3``), shown by ``describe``.

Like client-go's recorder (``tools/record``'s EventCorrelator), repeats
aggregate: the same object, type, reason and message from the same component
bump ``count`` and ``lastTimestamp`` of the Event already written instead of
writing a new one. The bump is a patch from the count the recorder
remembers, never a read: a node may create and patch Events but not get them
(Kubernetes' ``system:node``). *Similar* events (the same but for the
message: ``Created pod: web-1``, ``Created pod: web-2``...) combine as
client-go's aggregator does: from the 10th distinct message within 10
minutes on, they count on one Event whose message is ``(combined from
similar events): `` and the newest message.

Repeats that arrive while the previous write of their Event is in flight
coalesce: the next write carries all of them (one patch adding their
count), so a burst of N repeats costs a couple of writes, not N, and the
count is still exact. Recording never raises into the caller: an Event is a
courtesy, and a controller must not fail its work because the Event could
not be written.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock, errors, kinds
from shoal.api.v1 import core_pb2, meta_pb2

log = structlog.get_logger("events")

NORMAL, WARNING = "Normal", "Warning"
# Cluster-scoped objects (nodes, namespaces) have their Events here.
CLUSTER_EVENT_NAMESPACE = "default"
_CACHE_SIZE = 4096
# client-go's defaultAggregateMaxEvents and defaultAggregateIntervalInSeconds.
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
COMBINED = "(combined from similar events): "

AggregateKey = tuple[str, ...]


def involved_object(obj: Any) -> meta_pb2.ObjectReference:
    """An ObjectReference to ``obj`` (its kind found from its message)."""
    kind = kinds.for_message(obj)
    m = obj.metadata
    return meta_pb2.ObjectReference(
        kind=kind.kind,
        api_version=kind.api_version,
        namespace=m.namespace,
        name=m.name,
        uid=m.uid,
        resource_version=m.resource_version,
    )


def _now() -> Timestamp:
    return Timestamp(seconds=int(clock.time()))


class EventRecorder:
    """``EventRecorder(client, "replicaset-controller")``; then
    ``await recorder.record(rs, "Normal", "SuccessfulCreate", "Created pod: web-x")``
    or, not to wait for the write, ``recorder.emit(...)``."""

    def __init__(self, client: Any, component: str, host: str = "") -> None:
        self.client = client
        self.source = core_pb2.EventSource(component=component, host=host)
        # aggregate key -> (namespace, event name, count) of the Event we wrote
        self._written: OrderedDict[AggregateKey, tuple[str, str, int]] = OrderedDict()
        # one lock per aggregate key, so a repeat never races its own first write
        self._locks: dict[AggregateKey, tuple[asyncio.Lock, int]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        # similar key -> (distinct messages seen, when the last was seen)
        self._similar: OrderedDict[AggregateKey, tuple[set[str], float]] = OrderedDict()
        # aggregate key -> (occurrences not written yet, the newest message)
        self._unwritten: dict[AggregateKey, tuple[int, str]] = {}

    async def record(self, obj: Any, type: str, reason: str, message: str) -> None:
        if type not in (NORMAL, WARNING):
            log.warning("event type must be Normal or Warning", type=type, reason=reason)
            return
        try:
            ref = involved_object(obj)
            await self._record(ref, type, reason, message)
        except Exception as err:
            log.warning(
                "could not write event", reason=reason, object=obj.metadata.name, error=str(err)
            )

    def emit(self, obj: Any, type: str, reason: str, message: str) -> None:
        """``record`` in the background; ``await flush()`` waits for it."""
        task = asyncio.get_running_loop().create_task(self.record(obj, type, reason, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _aggregate(
        self, ref: meta_pb2.ObjectReference, type: str, reason: str, message: str
    ) -> tuple[AggregateKey, str]:
        """The key the occurrence counts under, and the message to show: its
        own, or the combined one once similar events are many (client-go's
        EventAggregator)."""
        similar = (ref.kind, ref.namespace, ref.name, ref.uid, type, reason)
        now = clock.monotonic()
        messages, last = self._similar.pop(similar, (set(), now))
        if now - last > AGGREGATE_INTERVAL:
            messages = set()
        messages.add(message)
        self._similar[similar] = (messages, now)
        if len(self._similar) > _CACHE_SIZE:
            self._similar.popitem(last=False)
        if len(messages) < AGGREGATE_MAX_EVENTS:
            return (*similar, message), message
        messages.discard(message)  # the set stays at its bound, as client-go's
        return (*similar, COMBINED), COMBINED + message

    async def _record(
        self, ref: meta_pb2.ObjectReference, type: str, reason: str, message: str
    ) -> None:
        key, message = self._aggregate(ref, type, reason, message)
        count, _ = self._unwritten.get(key, (0, ""))
        self._unwritten[key] = (count + 1, message)
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                # Taken by a write that started after this occurrence was
                # counted (and has finished): nothing left to write.
                count, message = self._unwritten.pop(key, (0, ""))
                if count and not await self._bump(key, count, message):
                    await self._create(key, ref, type, reason, message, count)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def _bump(self, key: AggregateKey, more: int, message: str) -> bool:
        """Count ``more`` repeats on the Event we wrote before; False if there is none."""
        written = self._written.get(key)
        if written is None:
            return False
        namespace, name, count = written
        patch: dict[str, Any] = {"count": count + more, "lastTimestamp": _now().ToJsonString()}
        if key[-1] == COMBINED:
            patch["message"] = message  # client-go's patch carries the newest message
        try:
            await self.client.patch("Event", name, patch, namespace)
        except errors.NotFoundError:  # deleted (or expired) meanwhile: write a new one
            self._written.pop(key, None)
            return False
        self._written[key] = (namespace, name, count + more)
        self._written.move_to_end(key)
        return True

    async def _create(
        self,
        key: AggregateKey,
        ref: meta_pb2.ObjectReference,
        type: str,
        reason: str,
        message: str,
        count: int = 1,
    ) -> None:
        now = _now()
        namespace = ref.namespace or CLUSTER_EVENT_NAMESPACE
        event = core_pb2.Event(
            involved_object=ref,
            reason=reason,
            message=message,
            source=self.source,
            first_timestamp=now,
            last_timestamp=now,
            count=count,
            type=type,
            reporting_component=self.source.component,
            reporting_instance=self.source.host,
        )
        event.metadata.namespace = namespace
        # Kubernetes names Events "<object>.<unix nanoseconds in hex>".
        event.metadata.name = f"{ref.name}.{time.time_ns():x}"  # unique, not a time
        created = await self.client.create(event)
        self._written[key] = (namespace, created.metadata.name, count)
        if len(self._written) > _CACHE_SIZE:
            self._written.popitem(last=False)

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

A recorder writes its Events one at a time, in order, as client-go's
broadcaster hands them to its sink: a component never has more than one
Event write in flight, so a burst (an agent starting a hundred pods, a
controller creating a thousand) queues here instead of flooding the API
server, where Events would crowd out the writes they report on. Repeats
that arrive while their Event waits or is being written coalesce: the next
write carries all of them (one patch adding their count), so a burst of N
repeats costs a couple of writes, not N, and the count is still exact. At
most ``MAX_QUEUED_EVENTS`` distinct Events wait; past that new ones are
dropped, counted and logged once a minute, as client-go drops them past
its ``maxQueuedEvents`` (1,000: a loaded shoal server answers slower than
Kubernetes', and the scheduler binding 3,000 pods in a burst queued more
than 1,000 ``Scheduled`` Events, so more wait here). Recording never
raises into the caller: an Event is a courtesy, and a controller must not
fail its work because the Event could not be written.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock, errors, kinds
from shoal.api.v1 import core_pb2, meta_pb2
from shoal.apiserver.connlimits import OnceIn

log = structlog.get_logger("events")

NORMAL, WARNING = "Normal", "Warning"
# Cluster-scoped objects (nodes, namespaces) have their Events here.
CLUSTER_EVENT_NAMESPACE = "default"
_CACHE_SIZE = 4096
# client-go's defaultAggregateMaxEvents and defaultAggregateIntervalInSeconds.
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
COMBINED = "(combined from similar events): "
# Distinct Events one recorder keeps waiting (client-go's maxQueuedEvents is 1,000).
MAX_QUEUED_EVENTS = 10_000

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


@dataclass
class _Pending:
    """An Event waiting for the writer: its occurrences not written yet."""

    ref: meta_pb2.ObjectReference
    type: str
    reason: str
    message: str
    count: int = 0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def release(self) -> None:
        """Wake whoever ``record``-ed it: written, failed or given up."""
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)


class EventRecorder:
    """``EventRecorder(client, "replicaset-controller")``; then
    ``await recorder.record(rs, "Normal", "SuccessfulCreate", "Created pod: web-x")``
    or, not to wait for the write, ``recorder.emit(...)``."""

    def __init__(
        self,
        client: Any,
        component: str,
        host: str = "",
        max_queued: int = MAX_QUEUED_EVENTS,
    ) -> None:
        self.client = client
        self.source = core_pb2.EventSource(component=component, host=host)
        self.max_queued = max_queued
        self.dropped = 0  # Events not written because the queue was full
        self._drop_logged = OnceIn(60.0)  # a full queue is logged once a minute
        # aggregate key -> (namespace, event name, count) of the Event we wrote
        self._written: OrderedDict[AggregateKey, tuple[str, str, int]] = OrderedDict()
        # similar key -> (distinct messages seen, when the last was seen)
        self._similar: OrderedDict[AggregateKey, tuple[set[str], float]] = OrderedDict()
        # aggregate key -> what waits to be written, oldest first
        self._queue: OrderedDict[AggregateKey, _Pending] = OrderedDict()
        self._writer: asyncio.Task[None] | None = None

    async def record(self, obj: Any, type: str, reason: str, message: str) -> None:
        """Queue the Event and wait until it is written (or given up)."""
        waiter = self._enqueue(obj, type, reason, message, wait=True)
        if waiter is not None:
            await asyncio.shield(waiter)

    def emit(self, obj: Any, type: str, reason: str, message: str) -> None:
        """Queue the Event, not waiting for its write; ``await flush()`` does."""
        self._enqueue(obj, type, reason, message, wait=False)

    async def flush(self) -> None:
        """Wait until every Event queued so far is written."""
        loop = asyncio.get_running_loop()
        while (writer := self._writer) is not None and writer.get_loop() is loop:
            await asyncio.shield(writer)

    def _enqueue(
        self, obj: Any, type: str, reason: str, message: str, *, wait: bool
    ) -> asyncio.Future[None] | None:
        if type not in (NORMAL, WARNING):
            log.warning("event type must be Normal or Warning", type=type, reason=reason)
            return None
        try:
            ref = involved_object(obj)
        except Exception as err:
            log.warning("could not write event", reason=reason, object=obj.metadata.name,
                        error=str(err))  # fmt: skip
            return None
        key, message = self._aggregate(ref, type, reason, message)
        pending = self._queue.get(key)
        if pending is None:
            if len(self._queue) >= self.max_queued:
                self._drop(ref, reason)
                return None
            pending = self._queue[key] = _Pending(ref, type, reason, message)
        pending.count += 1
        pending.message = message  # a combined Event shows the newest
        loop = asyncio.get_running_loop()
        waiter = loop.create_future() if wait else None
        if waiter is not None:
            pending.waiters.append(waiter)
        # (a writer of another, closed loop — a recorder kept across runs — never resumes)
        if self._writer is None or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_queued())
        return waiter

    def _drop(self, ref: meta_pb2.ObjectReference, reason: str) -> None:
        self.dropped += 1
        if self._drop_logged():
            log.warning("event queue full; events dropped", component=self.source.component,
                        queued=len(self._queue), dropped=self.dropped, reason=reason,
                        object=ref.name)  # fmt: skip

    async def _write_queued(self) -> None:
        """The writer: one Event at a time, until the queue is empty."""
        try:
            while self._queue:
                key, pending = self._queue.popitem(last=False)
                try:
                    if not await self._bump(key, pending.count, pending.message):
                        await self._create(key, pending)
                except Exception as err:
                    log.warning("could not write event", reason=pending.reason,
                                object=pending.ref.name, error=str(err))  # fmt: skip
                finally:
                    pending.release()
        finally:
            self._writer = None
            for pending in self._queue.values():  # cancelled: nobody writes these now
                pending.release()
            self._queue.clear()

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

    async def _create(self, key: AggregateKey, pending: _Pending) -> None:
        now = _now()
        ref = pending.ref
        namespace = ref.namespace or CLUSTER_EVENT_NAMESPACE
        event = core_pb2.Event(
            involved_object=ref,
            reason=pending.reason,
            message=pending.message,
            source=self.source,
            first_timestamp=now,
            last_timestamp=now,
            count=pending.count,
            type=pending.type,
            reporting_component=self.source.component,
            reporting_instance=self.source.host,
        )
        event.metadata.namespace = namespace
        # Kubernetes names Events "<object>.<unix nanoseconds in hex>".
        event.metadata.name = f"{ref.name}.{time.time_ns():x}"  # unique, not a time
        created = await self.client.create(event)
        self._written[key] = (namespace, created.metadata.name, pending.count)
        if len(self._written) > _CACHE_SIZE:
            self._written.popitem(last=False)

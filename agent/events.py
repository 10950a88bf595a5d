"""Events the agent writes about pods (Pulling, Started, BackOff...).

Uses ``shoal.events.EventRecorder`` (aggregating repeats) when the kernel
has it; otherwise writes plain Event objects. Either way recording runs in
the background and never fails the sync that asked for it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import structlog
from shoal import errors
from shoal.api.v1 import core_pb2

log = structlog.get_logger("agent.events")
NORMAL, WARNING = "Normal", "Warning"


class Recorder(Protocol):
    def emit(self, obj: Any, type: str, reason: str, message: str) -> None: ...


class PlainRecorder:
    """One Event object per call, written in the background."""

    def __init__(self, client: Any, component: str, host: str) -> None:
        self.client = client
        self.source = core_pb2.EventSource(component=component, host=host)
        self._pending: set[asyncio.Task[None]] = set()

    def emit(self, obj: Any, type: str, reason: str, message: str) -> None:
        task = asyncio.get_running_loop().create_task(self._write(obj, type, reason, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, obj: Any, type: str, reason: str, message: str) -> None:
        m = obj.metadata
        event = core_pb2.Event(
            involved_object=core_pb2.ObjectReference(
                kind="Pod", api_version="v1", namespace=m.namespace, name=m.name, uid=m.uid
            ),
            reason=reason,
            message=message,
            source=self.source,
            count=1,
            type=type,
            reporting_component=self.source.component,
            reporting_instance=self.source.host,
        )
        event.metadata.name = f"{m.name}.{time.time_ns():x}"
        event.metadata.namespace = m.namespace
        event.first_timestamp.GetCurrentTime()
        event.last_timestamp.CopyFrom(event.first_timestamp)
        try:
            await self.client.create(event)
        except (errors.APIError, OSError) as err:
            log.debug("could not write event", reason=reason, pod=m.name, error=str(err))


def recorder(client: Any, node: str) -> Recorder:
    """The kernel's aggregating recorder if it has landed, else PlainRecorder."""
    try:
        from shoal.events import EventRecorder
    except ImportError:
        return PlainRecorder(client, "kubelet", node)
    return EventRecorder(client, "kubelet", node)  # type: ignore[no-any-return]
